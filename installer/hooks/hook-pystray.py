"""PyInstaller hook for pystray: the contrib hook imports pystray to list its backends, which fails without a display
(build servers); companion.spec lists them from the files instead, so nothing is needed here."""

hiddenimports: list[str] = []
