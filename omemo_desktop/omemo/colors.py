"""XEP-0392 consistent colour generation (1.0.1) with a pure HSLuv -> sRGB conversion.

Used for the 8 groups of a fingerprint and for nick colours. Only stdlib maths.
"""

from __future__ import annotations

import hashlib
import math
from typing import Final

_M: Final = (
    (3.240969941904521, -1.537383177570093, -0.498610760293),
    (-0.96924363628087, 1.87596750150772, 0.041555057407175),
    (0.055630079696993, -0.20397695888897, 1.056971514242878),
)
_REF_U: Final = 0.19783000664283
_REF_V: Final = 0.46831999493879
_KAPPA: Final = 903.2962962
_EPSILON: Final = 0.0088564516


def hue_angle(text: str) -> float:
    digest = hashlib.sha1(text.encode("utf-8")).digest()
    return (digest[0] | (digest[1] << 8)) / 65536.0 * 360.0


def _max_chroma(lightness: float, hue: float) -> float:
    theta = math.radians(hue)
    sub1 = (lightness + 16) ** 3 / 1560896
    sub2 = sub1 if sub1 > _EPSILON else lightness / _KAPPA
    best = math.inf
    for m1, m2, m3 in _M:
        for t in (0, 1):
            top1 = (284517 * m1 - 94839 * m3) * sub2
            top2 = (
                838422 * m3 + 769860 * m2 + 731718 * m1
            ) * lightness * sub2 - 769860 * t * lightness
            bottom = (632260 * m3 - 126452 * m2) * sub2 + 126452 * t
            slope, intercept = top1 / bottom, top2 / bottom
            length = intercept / (math.sin(theta) - slope * math.cos(theta))
            if length >= 0:
                best = min(best, length)
    return best


def _compand(c: float) -> float:
    return 12.92 * c if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055


def hsluv_to_rgb(hue: float, saturation: float, lightness: float) -> tuple[float, float, float]:
    """HSLuv (H degrees, S and L 0..100) to sRGB components clamped to 0..1."""
    if lightness > 99.9999999:
        return (1.0, 1.0, 1.0)
    if lightness < 1e-8:
        return (0.0, 0.0, 0.0)
    chroma = _max_chroma(lightness, hue) / 100 * saturation
    theta = math.radians(hue)
    u, v = math.cos(theta) * chroma, math.sin(theta) * chroma
    var_u = u / (13 * lightness) + _REF_U
    var_v = v / (13 * lightness) + _REF_V
    y = lightness / _KAPPA if lightness <= 8 else ((lightness + 16) / 116) ** 3
    x = y * 9 * var_u / (4 * var_v)
    z = y * (12 - 3 * var_u - 20 * var_v) / (4 * var_v)
    r, g, b = (_compand(m[0] * x + m[1] * y + m[2] * z) for m in _M)
    return (min(1.0, max(0.0, r)), min(1.0, max(0.0, g)), min(1.0, max(0.0, b)))


def rgb_for(
    text: str, saturation: float = 100.0, lightness: float = 50.0
) -> tuple[float, float, float]:
    return hsluv_to_rgb(hue_angle(text), saturation, lightness)


def hex_color(text: str, saturation: float = 100.0, lightness: float = 50.0) -> str:
    return "#" + "".join(f"{round(c * 255):02x}" for c in rgb_for(text, saturation, lightness))


def fingerprint_group_colors(fp: str, lightness: float = 50.0) -> list[str]:
    """A colour (``#rrggbb``) per 8-character group of a fingerprint."""
    return [hex_color(fp[i : i + 8], lightness=lightness) for i in range(0, len(fp), 8)]


def _linearize(c: float) -> float:
    return ((c + 0.055) / 1.055) ** 2.4 if c > 0.04045 else c / 12.92


_M_INV: Final = (
    (0.41239079926595, 0.35758433938387, 0.18048078840183),
    (0.21263900587151, 0.71516867876775, 0.072192315360733),
    (0.019330818715591, 0.11919477979462, 0.95053215224966),
)


def rgb_to_hsluv(r: float, g: float, b: float) -> tuple[float, float, float]:
    lin = (_linearize(r), _linearize(g), _linearize(b))
    x, y, z = (m[0] * lin[0] + m[1] * lin[1] + m[2] * lin[2] for m in _M_INV)
    lightness = y * _KAPPA if y <= _EPSILON else 116 * y ** (1 / 3) - 16
    if lightness < 1e-8:
        return (0.0, 0.0, 0.0)
    denominator = x + 15 * y + 3 * z
    u = 13 * lightness * (4 * x / denominator - _REF_U)
    v = 13 * lightness * (9 * y / denominator - _REF_V)
    chroma = math.hypot(u, v)
    hue = 0.0 if chroma < 1e-8 else math.degrees(math.atan2(v, u)) % 360
    if lightness > 99.9999999:
        return (hue, 0.0, 100.0)
    return (hue, chroma / _max_chroma(lightness, hue) * 100, lightness)


RGB = tuple[float, float, float]


def build_palette(colors: list[RGB]) -> dict[int, RGB]:
    """XEP-0392 §5.4: hue (nearest integer) -> the colour whose lightness is closest to 73.2."""
    best: dict[int, tuple[float, RGB]] = {}
    for rgb in colors:
        if rgb[0] == rgb[1] == rgb[2]:
            continue
        hue, _s, lightness = rgb_to_hsluv(*rgb)
        key = round(hue)
        distance = abs(lightness - 73.2)
        if key not in best or distance < best[key][0]:
            best[key] = (distance, rgb)
    return {key: value[1] for key, value in best.items()}


def palette_color(text: str, palette: dict[int, RGB]) -> tuple[int, RGB]:
    """The palette hue and colour closest to the text's hue angle."""
    angle = hue_angle(text)
    if round(angle) in palette:
        return round(angle), palette[round(angle)]
    key = min(palette, key=lambda b: min((angle - b) % 360, (b - angle) % 360))
    return key, palette[key]
