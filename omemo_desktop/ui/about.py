"""Help → About: the version (for bug reports, with one click to copy), what the app speaks,
the licence."""

from __future__ import annotations

import platform

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from . import icons


def app_version() -> str:
    """From the installed distribution's metadata (bundled builds ship it)."""
    # importlib.metadata costs ~25 ms to import: not before the window's first paint.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("omemo-desktop")
    except PackageNotFoundError:
        return "unknown"


def details() -> str:
    """One line for bug reports."""
    return (
        f"omemo-desktop {app_version()} (Qt {qVersion()}, PySide6 {pyside_version}, "
        f"Python {platform.python_version()}, {platform.system()} {platform.machine()})"
    )


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About omemo-desktop")
        self.setAccessibleName("About omemo-desktop")
        layout = QVBoxLayout(self)
        logo = QLabel()
        logo.setPixmap(icons.app_pixmap(96))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        logo.setAccessibleName("omemo-desktop logo")
        layout.addWidget(logo)
        self.title = QLabel(f"<h2>omemo-desktop {app_version()}</h2>")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setAccessibleName(f"omemo-desktop version {app_version()}")
        layout.addWidget(self.title)
        text = QLabel(
            "A desktop XMPP messenger with OMEMO end-to-end encryption.<br>"
            "It speaks OMEMO 2 (urn:xmpp:omemo:2) and the legacy OMEMO most clients use "
            "(eu.siacs.conversations.axolotl), with one identity key.<br><br>"
            "Free software under the GNU General Public License, version 3 or later."
        )
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(text)
        self.details = QLabel(details())
        self.details.setWordWrap(True)
        self.details.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setAccessibleName("Version details")
        layout.addWidget(self.details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = buttons.addButton(
            "&Copy version details", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.copy_button.setAccessibleName("Copy version details")
        self.copy_button.clicked.connect(self._on_copy_clicked)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setMinimumWidth(420)

    def _on_copy_clicked(self) -> None:
        QGuiApplication.clipboard().setText(details())
        self.copy_button.setText("Copied")


def open_about(parent: QWidget) -> AboutDialog:
    dialog = AboutDialog(parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog


__all__ = ["AboutDialog", "app_version", "details", "open_about"]
