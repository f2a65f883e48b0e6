"""PyInstaller hook for pynput: the contributed hook imports pynput to list its backends,
which fails without a display (build servers). companion.spec lists them from the files instead."""

hiddenimports: list[str] = []
