"""Tray icons drawn with Pillow, one look per state, told apart by shape as well as colour (16–64 px).

Pure drawing: never touches a display, so it is safe to import and test anywhere.

Shapes: idle a ring; listening a dot with sound arcs; speaking a speech bubble; session a filled breath circle
inside a thin ring; paused two bars; check-ins off a ring crossed by a slash. Every shape is filled with its
state's mid-tone colour over a dark outline, so it reads on light panels (the outline) and dark ones (the colour).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFilter

# Mid-tone, saturated fills: distinct from each other and visible against both white and near-black panels.
STATE_COLOURS: dict[str, tuple[int, int, int]] = {
    "idle": (40, 170, 160),        # teal
    "listening": (230, 60, 60),    # red: the microphone is open
    "speaking": (60, 120, 240),    # blue
    "session": (150, 90, 220),     # violet: a breathing or grounding session runs
    "paused": (240, 170, 30),      # amber
    "checkins_off": (130, 130, 130),  # grey: scheduled check-ins are snoozed or off
}
OUTLINE = (20, 20, 24)
SUPERSAMPLE = 4  # shapes are drawn this much larger, then scaled down smoothly

Painter = Callable[[ImageDraw.ImageDraw, float], None]


def icon_state(state: str, *, checkins_off: bool) -> str:
    """The look to show: the app state, except a quiet idle companion shows that check-ins are off."""
    if state == "idle" and checkins_off:
        return "checkins_off"
    return state if state in STATE_COLOURS else "idle"


# Each painter draws its shape in white (255) on a mask, in a 16-unit grid (u = one unit in pixels).
def _ring(d: ImageDraw.ImageDraw, u: float, width: float = 3.0) -> None:
    d.ellipse((1.5 * u, 1.5 * u, 14.5 * u, 14.5 * u), outline=255, width=round(width * u))


def _idle(d: ImageDraw.ImageDraw, u: float) -> None:
    _ring(d, u)


def _listening(d: ImageDraw.ImageDraw, u: float) -> None:
    d.ellipse((0.5 * u, 5 * u, 6.5 * u, 11 * u), fill=255)  # the source
    for r in (6.5, 11):  # two sound arcs opening to the right
        box = (3.5 - r) * u, (8 - r) * u, (3.5 + r) * u, (8 + r) * u
        d.arc(box, -48, 48, fill=255, width=round(2.5 * u))


def _speaking(d: ImageDraw.ImageDraw, u: float) -> None:
    d.rounded_rectangle((1 * u, 2 * u, 15 * u, 11.5 * u), radius=3 * u, fill=255)
    d.polygon(((4 * u, 10 * u), (9 * u, 10 * u), (4 * u, 15 * u)), fill=255)  # the bubble's tail


def _session(d: ImageDraw.ImageDraw, u: float) -> None:
    d.ellipse((0.75 * u, 0.75 * u, 15.25 * u, 15.25 * u), outline=255, width=round(1.5 * u))
    d.ellipse((4 * u, 4 * u, 12 * u, 12 * u), fill=255)  # the breath circle


def _paused(d: ImageDraw.ImageDraw, u: float) -> None:
    d.rounded_rectangle((3 * u, 2 * u, 7 * u, 14 * u), radius=u, fill=255)
    d.rounded_rectangle((9 * u, 2 * u, 13 * u, 14 * u), radius=u, fill=255)


def _checkins_off(d: ImageDraw.ImageDraw, u: float) -> None:
    _ring(d, u, width=2.5)
    d.line((1.5 * u, 14.5 * u, 14.5 * u, 1.5 * u), fill=255, width=round(3 * u))


SHAPES: dict[str, Painter] = {"idle": _idle, "listening": _listening, "speaking": _speaking,
                              "session": _session, "paused": _paused, "checkins_off": _checkins_off}


@lru_cache(maxsize=64)
def draw_icon(look: str, size: int = 64) -> Image.Image:
    """The RGBA icon for `look` at `size` pixels: the state's shape in its colour over a dark outline."""
    look = look if look in SHAPES else "idle"
    big = size * SUPERSAMPLE
    u = big / 16
    mask = Image.new("L", (big, big), 0)
    SHAPES[look](ImageDraw.Draw(mask), u)
    # outline: the shape grown by a fraction of a final pixel (odd filter sizes), drawn dark under the colour
    grow = 3 if size < 20 else (SUPERSAMPLE * max(1, size // 24)) | 1
    halo = mask.filter(ImageFilter.MaxFilter(grow))
    img = Image.new("RGBA", (big, big), (*OUTLINE, 0))
    img.putalpha(halo)
    fill = Image.new("RGBA", (big, big), (*STATE_COLOURS[look], 255))
    img.paste(fill, (0, 0), mask)
    return img.resize((size, size), Image.Resampling.LANCZOS)
