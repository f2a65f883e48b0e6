"""PyInstaller hook for webrtcvad: the contrib hook copies metadata of the 'webrtcvad' distribution, which
fails when the module comes from 'webrtcvad-wheels' (the wheel we install). Copy whichever is present."""

from PyInstaller.utils.hooks import copy_metadata

datas = []
for dist in ("webrtcvad-wheels", "webrtcvad"):
    try:
        datas = copy_metadata(dist)
        break
    except Exception:
        continue
