"""PyInstaller hook for pystray: the contributed hook imports pystray to list its backends,
which fails without a display (build servers). companion.spec lists them from the files instead."""

hiddenimports: list[str] = []
