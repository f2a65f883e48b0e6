"""Tray icons drawn with Pillow, one look per state, so the icon alone tells what the companion is doing.

Pure drawing: never touches a display, so it is safe to import and test anywhere.
"""

from __future__ import annotations

from functools import lru_cache

from PIL import Image, ImageDraw

# Fill colours are distinct and saturated so a screenshot of the tray strip can tell the states apart.
STATE_COLOURS: dict[str, tuple[int, int, int]] = {
    "idle": (40, 170, 160),        # teal
    "listening": (230, 60, 60),    # red: the microphone is open
    "speaking": (60, 120, 240),    # blue
    "session": (150, 90, 220),     # violet: a breathing or grounding session runs
    "paused": (240, 170, 30),      # amber
    "checkins_off": (130, 130, 130),  # grey: scheduled check-ins are snoozed or off
}
RING = (255, 255, 255)


def icon_state(state: str, *, checkins_off: bool) -> str:
    """The look to show: the app state, except a quiet idle companion shows that check-ins are off."""
    if state == "idle" and checkins_off:
        return "checkins_off"
    return state if state in STATE_COLOURS else "idle"


@lru_cache(maxsize=16)
def draw_icon(look: str, size: int = 64) -> Image.Image:
    """A filled circle in the state's colour inside a white ring; paused adds two bars, listening a dot."""
    colour = STATE_COLOURS.get(look, STATE_COLOURS["idle"])
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    pad = max(1, size // 16)
    d.ellipse((pad, pad, size - pad - 1, size - pad - 1), fill=colour, outline=RING, width=max(1, size // 16))
    u = size / 16
    if look == "paused":
        d.rectangle((5 * u, 4.5 * u, 7 * u, 11.5 * u), fill=RING)
        d.rectangle((9 * u, 4.5 * u, 11 * u, 11.5 * u), fill=RING)
    elif look == "listening":
        d.ellipse((6 * u, 6 * u, 10 * u, 10 * u), fill=RING)
    elif look == "checkins_off":
        d.line((4 * u, 12 * u, 12 * u, 4 * u), fill=RING, width=max(1, int(1.5 * u)))
    return img
