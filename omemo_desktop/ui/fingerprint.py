"""Fingerprints as people compare them: 8 groups of 8 hex digits, each XEP-0392 colored,
and verification URIs as QR codes."""

from __future__ import annotations

import io

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFontDatabase, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from . import colors


def groups(fingerprint: str) -> list[str]:
    """'6e3c…' → ['6e3c9a01', …]; spaces and colons are ignored; always lowercase."""
    clean = "".join(ch for ch in fingerprint.lower() if ch in "0123456789abcdef")
    return [clean[i : i + 8] for i in range(0, len(clean), 8)]


def spoken(fingerprint: str) -> str:
    return " ".join(groups(fingerprint))


class FingerprintView(QWidget):
    """Two rows of four colored groups in a fixed-width font."""

    def __init__(
        self, fingerprint: str, parent: QWidget | None = None, *, point_size: float = 0
    ) -> None:
        super().__init__(parent)
        self.fingerprint = fingerprint
        self.setAccessibleName("Fingerprint")
        self.setAccessibleDescription(spoken(fingerprint))
        self.setToolTip(spoken(fingerprint))
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setHorizontalSpacing(10)
        layout.setVerticalSpacing(2)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        if point_size:
            font.setPointSizeF(point_size)
        self.group_labels: list[QLabel] = []
        for index, group in enumerate(groups(fingerprint)):
            label = QLabel(group, self)
            label.setObjectName("fingerprintGroup")
            label.setFont(font)
            color = colors.text_color(group, self.palette())
            label.setStyleSheet(f"color: {color.name()}; font-weight: 600;")
            label.setProperty("groupColor", color.name())
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setAccessibleName(f"Group {index + 1}: {group}")
            layout.addWidget(label, index // 4, index % 4)
            self.group_labels.append(label)
        layout.setColumnStretch(4, 1)  # keep the groups together, left-aligned

    def group_colors(self) -> list[QColor]:
        return [QColor(str(label.property("groupColor"))) for label in self.group_labels]


def qr_png(data: str, scale: int = 6) -> bytes:
    import segno  # ~25 ms (it pulls urllib and xml): only when a QR code is shown

    buffer = io.BytesIO()
    segno.make(data, error="m").save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def qr_pixmap(data: str, scale: int = 6) -> QPixmap:
    pixmap = QPixmap()
    pixmap.loadFromData(qr_png(data, scale), "PNG")
    return pixmap
