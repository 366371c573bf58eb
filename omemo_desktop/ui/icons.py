"""Icons painted in code (no image files to ship): locks, avatars, badges, the app icon."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QApplication

from . import colors

# Semantic colors, readable on light and dark backgrounds alike.
GREEN = QColor(46, 160, 67)
AMBER = QColor(214, 140, 20)
RED = QColor(207, 34, 46)
GREY = QColor(128, 128, 128)
ONLINE = QColor(46, 160, 67)
AWAY = QColor(214, 160, 20)
BUSY = QColor(207, 34, 46)

LOCK_TEXT = {
    "verified": "Encrypted, sender verified",
    "trusted": "Encrypted, from a trusted device",
    "untrusted": "Encrypted, but from a device you have not trusted",
    "none": "Not encrypted",
}


def _pixmap(size: int) -> QPixmap:
    ratio = QApplication.primaryScreen().devicePixelRatio() if QApplication.primaryScreen() else 1
    pm = QPixmap(int(size * ratio), int(size * ratio))
    pm.setDevicePixelRatio(ratio)
    pm.fill(Qt.GlobalColor.transparent)
    return pm


def lock_pixmap(trust: str, size: int = 14) -> QPixmap:
    """A padlock: green with a check (verified), plain (trusted), amber with ! (untrusted),
    open and grey (not encrypted)."""
    pm = _pixmap(size)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    text = QApplication.palette().color(QPalette.ColorRole.WindowText)
    color = {"verified": GREEN, "trusted": text, "untrusted": AMBER}.get(trust, GREY)
    s = float(size)
    body = QRectF(s * 0.14, s * 0.45, s * 0.72, s * 0.5)
    pen = QPen(color, max(1.2, s * 0.11))
    p.setPen(pen)
    p.setBrush(Qt.BrushStyle.NoBrush)
    shackle = QPainterPath()
    left, right, top = s * 0.3, s * 0.7, s * 0.08
    shackle.moveTo(left, body.top())
    shackle.lineTo(left, s * 0.3)
    shackle.arcTo(QRectF(left, top, right - left, (right - left)), 180, -180)
    if trust == "none":  # open: the right leg stops short
        shackle.lineTo(right, s * 0.26)
    else:
        shackle.lineTo(right, body.top())
    p.drawPath(shackle)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(color)
    p.drawRoundedRect(body, s * 0.1, s * 0.1)
    mark = QColor("white") if color.lightness() < 160 else QColor("black")
    p.setPen(QPen(mark, max(1.0, s * 0.09)))
    if trust == "verified":
        p.drawPolyline(
            [
                QPointF(s * 0.32, s * 0.7),
                QPointF(s * 0.46, s * 0.83),
                QPointF(s * 0.7, s * 0.56),
            ]
        )
    elif trust == "untrusted":
        p.drawLine(QPointF(s * 0.5, s * 0.54), QPointF(s * 0.5, s * 0.74))
        p.drawPoint(QPointF(s * 0.5, s * 0.85))
    p.end()
    return pm


def initials(name: str) -> str:
    words = [w for w in name.replace("@", " ").replace(".", " ").split() if w]
    if not words:
        return "?"
    if len(words) == 1 or "@" in name:
        return words[0][0].upper()
    return (words[0][0] + words[1][0]).upper()


def presence_color(available: bool, show: str) -> QColor | None:
    if not available:
        return None
    return {"away": AWAY, "xa": AWAY, "dnd": BUSY}.get(show, ONLINE)


def avatar_pixmap(
    jid: str,
    name: str,
    size: int = 36,
    *,
    presence: QColor | None = None,
    unread: int = 0,
) -> QPixmap:
    """A circle in the contact's XEP-0392 color with initials, a presence dot, an unread badge."""
    pm = _pixmap(size)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(colors.fill_color(jid))
    p.drawEllipse(QRectF(1, 1, size - 2, size - 2))
    font = QFont(QApplication.font())
    font.setPixelSize(int(size * 0.42))
    font.setBold(True)
    p.setFont(font)
    p.setPen(QColor("white"))
    p.drawText(QRectF(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, initials(name or jid))
    window = QApplication.palette().color(QPalette.ColorRole.Base)
    if presence is not None:
        d = size * 0.32
        p.setPen(QPen(window, max(1.5, size * 0.05)))
        p.setBrush(presence)
        p.drawEllipse(QRectF(size - d - 1, size - d - 1, d, d))
    if unread:
        text = str(unread) if unread < 100 else "99+"
        font.setPixelSize(int(size * 0.3))
        p.setFont(font)
        w = max(size * 0.42, p.fontMetrics().horizontalAdvance(text) + size * 0.16)
        h = size * 0.42
        rect = QRectF(size - w, 0, w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(RED)
        p.drawRoundedRect(rect, h / 2, h / 2)
        p.setPen(QColor("white"))
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    p.end()
    return pm


def app_pixmap(size: int = 64, unread: int = 0) -> QPixmap:
    """The app icon: a speech bubble with a padlock; optionally an unread badge (tray)."""
    pm = _pixmap(size)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = float(size)
    bubble = QPainterPath()
    bubble.addRoundedRect(QRectF(s * 0.06, s * 0.1, s * 0.88, s * 0.66), s * 0.18, s * 0.18)
    tail = QPainterPath()
    tail.moveTo(s * 0.24, s * 0.7)
    tail.lineTo(s * 0.18, s * 0.94)
    tail.lineTo(s * 0.46, s * 0.72)
    tail.closeSubpath()
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(38, 110, 200))
    p.drawPath(bubble.united(tail))
    lock = lock_pixmap_on(QColor("white"), size=int(s * 0.44))
    p.drawPixmap(QPointF(s * 0.28, s * 0.2), lock)
    if unread:
        text = str(unread) if unread < 100 else "99+"
        font = QFont(QApplication.font())
        font.setPixelSize(int(s * 0.34))
        font.setBold(True)
        p.setFont(font)
        w = max(s * 0.5, p.fontMetrics().horizontalAdvance(text) + s * 0.18)
        rect = QRectF(s - w, 0, w, s * 0.5)
        p.setBrush(RED)
        p.drawRoundedRect(rect, s * 0.25, s * 0.25)
        p.setPen(QColor("white"))
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    p.end()
    return pm


def lock_pixmap_on(color: QColor, size: int) -> QPixmap:
    pm = _pixmap(size)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = float(size)
    p.setPen(QPen(color, s * 0.12))
    path = QPainterPath()
    path.moveTo(s * 0.3, s * 0.48)
    path.lineTo(s * 0.3, s * 0.32)
    path.arcTo(QRectF(s * 0.3, s * 0.1, s * 0.4, s * 0.4), 180, -180)
    path.lineTo(s * 0.7, s * 0.48)
    p.drawPath(path)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(color)
    p.drawRoundedRect(QRectF(s * 0.16, s * 0.46, s * 0.68, s * 0.48), s * 0.08, s * 0.08)
    p.end()
    return pm


def app_icon(unread: int = 0) -> QIcon:
    icon = QIcon()
    for size in (16, 24, 32, 48, 64, 128):
        icon.addPixmap(app_pixmap(size, unread))
    return icon
