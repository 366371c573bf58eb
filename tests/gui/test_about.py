"""Help → About shows the installed version and copies the details for bug reports."""

from __future__ import annotations

from importlib.metadata import version

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from omemo_desktop.ui.about import AboutDialog
from omemo_desktop.ui.main_window import MainWindow
from tests.gui.conftest import find_top


def test_about_is_in_the_help_menu_and_shows_the_version(window: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    menus = {a.text(): a.menu() for a in window.menuBar().actions()}
    assert window.about_action in menus["&Help"].actions()
    window.about_action.trigger()
    dialogs = find_top(AboutDialog)
    assert len(dialogs) == 1
    dialog = dialogs[0]
    assert isinstance(dialog, AboutDialog)
    qtbot.waitExposed(dialog)
    expected = version("omemo-desktop")
    assert f"omemo-desktop {expected}" in dialog.title.text()
    assert dialog.details.text().startswith(f"omemo-desktop {expected} (Qt ")
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == dialog.details.text()
    dialog.reject()
    qtbot.waitUntil(lambda: not find_top(AboutDialog))
