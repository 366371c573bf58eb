"""Small shared widgets: a message banner (info / warning / danger) and a busy indicator."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QWidget

from . import icons
from .chat_view import blend

KIND_COLORS = {"info": icons.GREEN, "warning": icons.AMBER, "danger": icons.RED}


class Banner(QFrame):
    """A tinted box with a sentence in it; 'danger' is loud (bold, red border)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.kind = ""
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1)
        self.hide()

    def show_text(self, kind: str, text: str) -> None:
        self.kind = kind
        color = KIND_COLORS.get(kind, icons.GREY)
        base = self.palette().color(QPalette.ColorRole.Window)
        width = 2 if kind == "danger" else 1
        self.setStyleSheet(
            f"QFrame#banner {{ background: {blend(base, color, 0.18).name()};"
            f" border: {width}px solid {color.name()}; border-radius: 6px; }}"
        )
        font = self.label.font()
        font.setBold(kind == "danger")
        self.label.setFont(font)
        self.label.setText(text)
        self.setAccessibleName(text)
        self.label.setAccessibleName(text)
        self.show()

    def clear(self) -> None:
        self.kind = ""
        self.label.clear()
        self.hide()


class Busy(QWidget):
    """An indeterminate progress bar with a sentence saying what is happening."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 0)
        self.bar.setMaximumWidth(120)
        self.bar.setTextVisible(False)
        self.bar.setAccessibleName("Working")
        self.label = QLabel(self)
        layout.addWidget(self.bar)
        layout.addWidget(self.label, 1)
        self.hide()

    def start(self, text: str) -> None:
        self.label.setText(text)
        self.bar.setAccessibleName(text)
        self.show()

    def stop(self) -> None:
        self.hide()
