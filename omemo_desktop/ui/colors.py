"""XEP-0392 (Consistent Color Generation, 1.0) for names, avatars and fingerprint groups.

The hue is the first two bytes of SHA-1(text) read little-endian; the color is HSLuv with a
lightness picked against the current background so it stays readable in light and dark themes.
"""

from __future__ import annotations

import hashlib

import hsluv
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication


def hue(text: str) -> float:
    digest = hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).digest()
    return (digest[0] | (digest[1] << 8)) / 65536.0 * 360.0


def rgb(text: str, saturation: float = 100.0, lightness: float = 50.0) -> tuple[int, int, int]:
    r, g, b = hsluv.hsluv_to_rgb((hue(text), saturation, lightness))
    red, green, blue = (round(min(1.0, max(0.0, c)) * 255) for c in (r, g, b))
    return red, green, blue


def is_dark(palette: QPalette | None = None) -> bool:
    pal = palette if palette is not None else QApplication.palette()
    return pal.color(QPalette.ColorRole.Window).lightness() < 128


def text_color(text: str, palette: QPalette | None = None) -> QColor:
    """A color for text on the window background (fingerprint groups, nick names)."""
    return QColor(*rgb(text, 100.0, 72.0 if is_dark(palette) else 42.0))


def fill_color(text: str) -> QColor:
    """A background for an avatar with white initials on it."""
    return QColor(*rgb(text, 85.0, 45.0))
