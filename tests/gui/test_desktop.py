"""The rest of the desktop: per-contact encryption with its OMEMO version and the opt-out
dialog, removing dead own devices, several accounts side by side, the tray's unread count and
the system's light or dark palette."""

from __future__ import annotations

import time
from dataclasses import replace

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from omemo_desktop.service.api import (
    ConnectionStateChanged,
    DeviceView,
    MessageReceived,
    MessageView,
)
from omemo_desktop.ui import colors
from omemo_desktop.ui.chat_view import lock_trust
from omemo_desktop.ui.main_window import MainWindow
from omemo_desktop.ui.pages import is_dead
from omemo_desktop.ui.tasks import TaskRunner
from omemo_desktop.ui.theme import SystemTheme, dark_palette
from tests.gui.conftest import ALICE, BOB, CAROL
from tests.gui.test_accessibility import unnamed
from tests.helpers.fake_messenger import FakeMessenger

WORK = "alice@work.example.com"


def incoming(account: str, peer: str, mid: str, body: str) -> MessageView:
    return MessageView(mid, account, peer, "in", body, time.time(), "omemo2", 1, "trusted")


def test_turning_encryption_off_asks_first_and_is_remembered(
    window: MainWindow, drive, qtbot, runner: TaskRunner, settings: QSettings, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    window.open_chat(BOB)
    drive.until(lambda: window.chat.bubbles)
    assert window.encryption_button.text() == "Encrypted · OMEMO 2"
    window.encryption_button.click()
    dialog = window.opt_out_dialog
    assert dialog is not None and dialog.isVisible()
    assert "can be read by your server" in dialog.banner.label.text()
    assert unnamed(dialog) == []
    dialog.keep.click()  # changed their mind: still encrypted, nothing stored
    assert window.encryption_button.isChecked()
    assert settings.value(f"encryption/{ALICE}/{BOB}") is None
    window.encryption_button.click()
    assert window.opt_out_dialog is not None
    window.opt_out_dialog.stop.click()
    assert window.encryption_button.text() == "Not encrypted"
    assert settings.value(f"encryption/{ALICE}/{BOB}") == "plain"
    # A restart keeps the choice.
    again = MainWindow(runner, settings)
    qtbot.addWidget(again)
    again.attach(fake)
    assert again.encrypt[(ALICE, BOB)] is False
    assert again.encrypt[(ALICE, CAROL)] is True
    # Turning it back on needs no confirmation.
    window.encryption_button.click()
    assert window.opt_out_dialog is None
    assert window.encryption_button.isChecked()
    assert settings.value(f"encryption/{ALICE}/{BOB}") == "omemo"


def test_default_encryption_setting_applies_to_contacts_without_a_choice(
    qtbot, runner: TaskRunner, settings: QSettings, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    settings.setValue("default_encryption", "plain")
    settings.setValue(f"encryption/{ALICE}/{BOB}", "omemo")
    win = MainWindow(runner, settings)
    qtbot.addWidget(win)
    win.attach(fake)
    assert win.encrypt[(ALICE, CAROL)] is False
    assert win.encrypt[(ALICE, BOB)] is True


def test_the_omemo_version_shows_before_any_message(
    window: MainWindow, drive, qtbot, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    fake.set_devices(ALICE, CAROL, [DeviceView(CAROL, 5, "ab" * 32, "legacy", "trusted")])
    window.open_chat(CAROL)
    drive.until(lambda: "legacy" in window.encryption_button.text())
    assert window.encryption_button.text() == "Encrypted · OMEMO (legacy)"
    page = window.open_contact_page()
    assert page is not None
    drive.until(lambda: "legacy" in page.version.text())
    assert page.version.text().startswith("In use: OMEMO (legacy)")
    # The page's switch goes through the same opt-out dialog; keeping encryption resets it.
    page.encrypt.setChecked(False)
    assert window.opt_out_dialog is not None
    window.opt_out_dialog.keep.click()
    assert page.encrypt.isChecked()
    page.close()


def test_dead_own_devices_are_pointed_out_and_removable(
    window: MainWindow, drive, qtbot, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    old_phone = DeviceView(
        ALICE, 2002, "cd" * 32, "omemo2", "trusted", "Old phone", True, now - 90 * 86_400, own=True
    )
    laptop = DeviceView(
        ALICE, 3003, "ef" * 32, "both", "trusted", "Laptop", True, now - 60, own=True
    )
    fake.set_devices(ALICE, ALICE, [old_phone, laptop])
    assert is_dead(old_phone, now) and not is_dead(laptop, now)
    page = window.open_own_devices()
    assert page is not None
    drive.until(lambda: len(page.cards) == 2)
    card = page.cards[2002]
    assert card.remove is not None and page.cards[3003].remove is not None
    assert any("not been heard from" in w.text() for w in card.findChildren(type(card.lock)))
    qtbot.mouseClick(card.remove, Qt.MouseButton.LeftButton)
    box = page.confirm
    assert box is not None and box.isVisible()
    assert unnamed(box) == []
    yes = next(b for b in box.buttons() if b.text() == "Remove")
    qtbot.mouseClick(yes, Qt.MouseButton.LeftButton)
    drive.until(lambda: 2002 not in page.cards)
    assert fake.removed_devices == [(ALICE, 2002)]
    assert "was removed" in page.banner.label.text()
    page.close()


def test_several_accounts_side_by_side(
    qtbot, runner: TaskRunner, settings: QSettings, fake: FakeMessenger, drive
) -> None:  # type: ignore[no-untyped-def]
    fake.add_account_now(WORK)
    win = MainWindow(runner, settings)
    qtbot.addWidget(win)
    win.attach(fake)
    win.show()
    assert win.account_box.count() == 2 and win.account == ALICE
    fake.emit(ConnectionStateChanged(WORK, "connected"))
    fake.emit(MessageReceived(WORK, incoming(WORK, "boss@work.example.com", "w1", "Meeting?")))
    assert win.account_box.itemText(1) == f"{WORK} (1)"
    assert win.account_box.itemData(1, Qt.ItemDataRole.AccessibleTextRole) == (
        f"{WORK}, Online, 1 unread"
    )
    assert win.windowTitle() == "(1) omemo-desktop"
    # Ctrl+2 switches to the second account; its conversation is there with the unread mark.
    switch = next(a for a in win.actions() if a.shortcut().toString() == "Ctrl+2")
    switch.trigger()
    assert win.account == WORK
    assert win.chat_list.count() == 1
    assert "1 unread" in win.chat_list.item(0).data(Qt.ItemDataRole.AccessibleTextRole)
    win.open_chat("boss@work.example.com")
    drive.settle(0.05)
    assert win.account_box.itemText(1) == WORK
    assert win.windowTitle() == "omemo-desktop"


def test_tray_icon_shows_the_unread_count(window: MainWindow, fake: FakeMessenger) -> None:
    if window.tray is None:  # no tray on the offscreen platform: use one anyway
        window.tray = QSystemTrayIcon(window)
    fake.emit(MessageReceived(ALICE, incoming(ALICE, CAROL, "c1", "hi")))
    fake.emit(MessageReceived(ALICE, incoming(ALICE, CAROL, "c2", "there")))
    assert window.tray.toolTip() == "omemo-desktop — 2 unread messages"
    assert not window.tray.icon().isNull()
    window.open_chat(CAROL)
    assert window.tray.toolTip() == "omemo-desktop"


def test_the_palette_follows_the_systems_dark_mode(window: MainWindow, drive) -> None:  # type: ignore[no-untyped-def]
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    original = QPalette(app.palette())
    window.open_chat(BOB)
    drive.until(lambda: window.chat.bubbles)
    light_sheet = window.chat.styleSheet()
    theme = SystemTheme(app)
    try:
        theme.apply(Qt.ColorScheme.Dark)
        assert colors.is_dark(app.palette()) and theme.ours
        drive.settle(0.02)
        assert window.chat.styleSheet() != light_sheet  # bubbles re-tinted for dark
        base = dark_palette().color(QPalette.ColorRole.Base).name()
        assert base in window.chat.styleSheet()
        theme.apply(Qt.ColorScheme.Light)
        assert not colors.is_dark(app.palette()) and not theme.ours
        drive.settle(0.02)
        assert window.chat.styleSheet() == light_sheet
    finally:
        app.setPalette(original)
        theme.deleteLater()


def test_own_encrypted_messages_never_show_an_untrusted_lock() -> None:
    # The real service stores no trust on outgoing messages (found running two windows).
    mine = MessageView("o1", ALICE, BOB, "out", "hi", time.time(), "omemo2", state="acked")
    assert mine.trust == "none"
    assert lock_trust(mine) == "trusted"
    assert lock_trust(replace(mine, encryption="none")) == "none"
    theirs = replace(mine, direction="in", trust="untrusted")
    assert lock_trust(theirs) == "untrusted"


def test_without_a_tray_new_messages_ask_for_attention(
    window: MainWindow, fake: FakeMessenger, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    alerts: list[object] = []
    monkeypatch.setattr(QApplication, "alert", lambda widget, ms=0: alerts.append(widget))
    window.tray = None
    fake.emit(MessageReceived(ALICE, incoming(ALICE, CAROL, "a1", "psst")))
    assert alerts == [window]
    window.settings.setValue("notifications", False)  # the setting turns it off
    fake.emit(MessageReceived(ALICE, incoming(ALICE, CAROL, "a2", "psst")))
    assert alerts == [window]
