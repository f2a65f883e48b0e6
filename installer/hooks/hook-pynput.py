"""PyInstaller hook for pynput: the contrib hook imports pynput to list its backends, which fails without a display
(build servers); companion.spec lists them from the files instead, so nothing is needed here."""

hiddenimports: list[str] = []
