"""Follow the system's light or dark color scheme.

Qt (6.5+) reports the scheme in QStyleHints.colorScheme. Platform themes that draw native
widgets (GNOME or KDE integration, Windows 11, macOS) switch the palette themselves; with
plain Fusion (a Linux desktop without a Qt platform theme) the palette stays light while the
desktop is dark, so this sets a dark palette then, and gives the original back on light.
Widgets that tint themselves from the palette (chat bubbles, nick colors) react to the
PaletteChange event Qt sends every widget.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from .colors import is_dark


def dark_palette() -> QPalette:
    pal = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    window, base, text = QColor(45, 45, 48), QColor(30, 30, 32), QColor(230, 230, 230)
    for r, c in (
        (role.Window, window),
        (role.WindowText, text),
        (role.Base, base),
        (role.AlternateBase, QColor(40, 40, 43)),
        (role.ToolTipBase, QColor(60, 60, 64)),
        (role.ToolTipText, text),
        (role.PlaceholderText, QColor(150, 150, 155)),
        (role.Text, text),
        (role.Button, QColor(55, 55, 59)),
        (role.ButtonText, text),
        (role.BrightText, QColor(255, 90, 90)),
        (role.Light, QColor(75, 75, 80)),
        (role.Midlight, QColor(62, 62, 66)),
        (role.Mid, QColor(40, 40, 43)),
        (role.Dark, QColor(20, 20, 22)),
        (role.Shadow, QColor(0, 0, 0)),
        (role.Highlight, QColor(53, 132, 228)),
        (role.HighlightedText, QColor(255, 255, 255)),
        (role.Link, QColor(110, 170, 255)),
        (role.LinkVisited, QColor(170, 140, 255)),
    ):
        pal.setColor(r, c)
    for r in (role.WindowText, role.Text, role.ButtonText):
        pal.setColor(group.Disabled, r, QColor(120, 120, 125))
    return pal


class SystemTheme(QObject):
    """Keeps the application's palette in step with the system's color scheme."""

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self.app = app
        self.ours = False  # True while our dark palette stands in for the platform's
        self._original = QPalette(app.palette())
        hints = app.styleHints()
        hints.colorSchemeChanged.connect(self.apply)
        self.apply(hints.colorScheme())

    def apply(self, scheme: Qt.ColorScheme) -> None:
        if scheme == Qt.ColorScheme.Dark:
            if not is_dark(self.app.palette()):
                self._original = QPalette(self.app.palette())
                self.app.setPalette(dark_palette())
                self.ours = True
        elif self.ours:  # back to light (or unknown): the platform's palette again
            self.app.setPalette(self._original)
            self.ours = False
