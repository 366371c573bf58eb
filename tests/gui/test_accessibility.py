"""Every control has an accessible name; the shortcuts exist; the binding work-around holds."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QWidget,
)

from omemo_desktop.ui.main_window import MainWindow
from omemo_desktop.ui.qt_compat import emit
from tests.gui.conftest import BOB

CONTROLS = (QAbstractButton, QComboBox, QLineEdit, QListWidget, QPlainTextEdit)


def unnamed(root: QWidget) -> list[str]:
    missing = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, CONTROLS) or widget.objectName().startswith("qt_"):
            continue
        if type(widget).__name__ in ("QTabBar", "QScrollBar") or widget.parent() is None:
            continue
        if isinstance(widget.parent(), (QComboBox, QLineEdit)):
            continue  # Qt's internal parts (the line edit's clear button...)
        if not widget.accessibleName():
            missing.append(f"{type(widget).__name__} {getattr(widget, 'text', lambda: '')()!r}")
    return missing


def test_every_control_has_an_accessible_name(window: MainWindow, drive, qtbot) -> None:  # type: ignore[no-untyped-def]
    window.open_chat(BOB)
    drive.until(lambda: window.chat.bubbles)
    assert unnamed(window) == []
    for opener in (
        window.open_add_account,
        window.open_add_contact,
        window.open_own_devices,
        window.open_contact_page,
        window.open_search,
        window.open_settings,
        lambda: window.open_verification_uri(""),
    ):
        dialog = opener()
        assert dialog is not None
        qtbot.addWidget(dialog)
        drive.settle(0.05)
        assert unnamed(dialog) == [], type(dialog).__name__
        dialog.close()


def test_keyboard_shortcuts(window: MainWindow) -> None:
    shortcuts = {a.shortcut().toString() for a in window.actions()}
    assert {"Ctrl+N", "Ctrl+F", "Ctrl+Q", "Ctrl+I", "Ctrl+Shift+V", "Ctrl+Shift+N"} <= shortcuts


def test_emit_keeps_the_reference_count_of_true() -> None:
    class Thing(QObject):
        happened = Signal(int)

    thing = Thing()
    before = sys.getrefcount(True)
    for _ in range(50):
        emit(thing.happened, 1)
    assert before <= sys.getrefcount(True) <= before + 2  # never fewer: no leak
