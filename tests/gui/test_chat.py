"""Open a chat, send with Enter, ticks from events, Up edits, typing, failures, Repair."""

from __future__ import annotations

from PySide6.QtCore import Qt

from omemo_desktop.service.api import (
    ChatStateChanged,
    DecryptionFailed,
    MessageReceived,
    MessageStateChanged,
    MessageView,
)
from omemo_desktop.ui.main_window import MainWindow
from omemo_desktop.ui.qt_compat import emit
from tests.gui.conftest import ALICE, BOB, CAROL
from tests.helpers.fake_messenger import FakeMessenger


def open_bob(window: MainWindow, drive) -> None:  # type: ignore[no-untyped-def]
    window.tabs.setCurrentWidget(window.contact_list)
    item = window.contact_list.item(0)
    emit(window.contact_list.itemActivated, item)
    drive.until(lambda: "m-old" in window.chat.bubbles)


def test_open_chat_shows_history_with_day_separator_and_lock(
    window: MainWindow, drive, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    open_bob(window, drive)
    assert window.peer == BOB
    assert window.peer_name.text() == "Bob"
    bubble = window.chat.bubbles["m-old"]
    assert bubble.body.text() == "Hi Alice!"
    assert bubble.lock.property("trust") == "verified"
    assert "verified" in bubble.lock.accessibleName()
    days = window.chat.findChildren(type(window.peer_name), "daySeparator")
    assert [d.text() for d in days] == ["Yesterday"]
    assert fake.called("mark_displayed")[-1].args == (ALICE, BOB, "m-old")
    assert "OMEMO 2" in window.encryption_button.text()


def test_enter_sends_and_ticks_follow_events(
    window: MainWindow, drive, qtbot, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    open_bob(window, drive)
    qtbot.keyClicks(window.composer, "Hello")
    qtbot.keyClick(window.composer, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(window.composer, "Bob")
    assert window.composer.toPlainText() == "Hello\nBob"
    qtbot.keyClick(window.composer, Qt.Key.Key_Return)
    drive.until(lambda: fake.called("send_message"))
    call = fake.called("send_message")[0]
    assert call.args == (ALICE, BOB, "Hello\nBob") and call.kwargs == {"encrypt": True}
    assert window.composer.toPlainText() == ""
    drive.until(lambda: len(window.chat.bubbles) == 2)
    sent = window.chat.last_outgoing()
    assert sent is not None and sent.body == "Hello\nBob"
    bubble = window.chat.bubbles[sent.id]
    assert bubble.ticks.property("state") == "pending"
    for state, tick in (("acked", "✓"), ("delivered", "✓✓"), ("read", "✓✓")):
        fake.emit(MessageStateChanged(ALICE, BOB, sent.id, state))
        assert bubble.ticks.property("state") == state
        assert bubble.ticks.text() == tick
    assert bubble.ticks.accessibleName() == "Read"
    states = [c.args[2] for c in fake.called("send_chat_state")]
    assert states[0] == "composing"


def test_send_button_and_plain_mode(window: MainWindow, drive, qtbot, fake: FakeMessenger) -> None:  # type: ignore[no-untyped-def]
    open_bob(window, drive)
    window.encryption_button.click()
    assert window.opt_out_dialog is not None  # turning OMEMO off asks first
    window.opt_out_dialog.stop.click()
    assert window.encryption_button.text() == "Not encrypted"
    window.composer.setPlainText("in clear")
    window.send_button.click()
    drive.until(lambda: fake.called("send_message"))
    assert fake.called("send_message")[0].kwargs == {"encrypt": False}
    drive.until(lambda: len(window.chat.bubbles) == 2)
    assert window.chat.bubbles[window.chat.last_outgoing().id].lock.property("trust") == "none"  # type: ignore[union-attr]


def test_up_edits_the_last_message(window: MainWindow, drive, qtbot, fake: FakeMessenger) -> None:  # type: ignore[no-untyped-def]
    open_bob(window, drive)
    qtbot.keyClicks(window.composer, "Helo")
    qtbot.keyClick(window.composer, Qt.Key.Key_Return)
    drive.until(lambda: window.chat.last_outgoing() is not None)
    qtbot.keyClick(window.composer, Qt.Key.Key_Up)
    assert window.composer.toPlainText() == "Helo"
    assert window.composer.editing is not None
    assert window.edit_banner.isVisibleTo(window)
    window.composer.setPlainText("Hello")
    qtbot.keyClick(window.composer, Qt.Key.Key_Return)
    drive.until(lambda: fake.called("correct_last_message"))
    assert fake.called("correct_last_message")[0].args == (ALICE, BOB, "Hello")
    bubble = window.chat.bubbles[window.chat.last_outgoing().id]  # type: ignore[union-attr]
    drive.until(lambda: bubble.edited.isVisibleTo(bubble))
    assert bubble.body.text() == "Hello"
    assert len(fake.called("send_message")) == 1


def test_escape_cancels_an_edit(window: MainWindow, drive, qtbot) -> None:  # type: ignore[no-untyped-def]
    open_bob(window, drive)
    qtbot.keyClicks(window.composer, "x")
    qtbot.keyClick(window.composer, Qt.Key.Key_Return)
    drive.until(lambda: window.chat.last_outgoing() is not None)
    qtbot.keyClick(window.composer, Qt.Key.Key_Up)
    qtbot.keyClick(window.composer, Qt.Key.Key_Escape)
    assert window.composer.editing is None and window.composer.toPlainText() == ""


def test_typing_indicator_and_incoming_message(
    window: MainWindow, drive, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    open_bob(window, drive)
    fake.emit(ChatStateChanged(ALICE, BOB, "composing"))
    assert window.peer_status.text() == "typing…"
    incoming = MessageView(
        "m-new",
        ALICE,
        BOB,
        "in",
        "Are you there?",
        1e9 + 5,
        "legacy",
        sender_device=777,
        trust="untrusted",
    )
    incoming = MessageView(**{**incoming.__dict__, "timestamp": __import__("time").time()})
    fake.emit(MessageReceived(ALICE, incoming))
    assert window.peer_status.text() == "Online"
    bubble = window.chat.bubbles["m-new"]
    assert bubble.lock.property("trust") == "untrusted"
    drive.until(lambda: fake.called("mark_displayed")[-1].args[2] == "m-new")


def test_unread_count_for_other_conversations(
    window: MainWindow, drive, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    open_bob(window, drive)
    msg = MessageView("c1", ALICE, CAROL, "in", "ping", 2e9, "omemo2", trust="trusted")
    fake.emit(MessageReceived(ALICE, msg))
    fake.emit(MessageReceived(ALICE, MessageView(**{**msg.__dict__, "id": "c2"})))
    assert window.unread[(ALICE, CAROL)] == 2
    assert window.windowTitle().startswith("(2)")
    carol = [window.chat_list.item(i) for i in range(window.chat_list.count())]
    assert any(
        "Carol" in i.text() and "2 unread" in str(i.data(Qt.ItemDataRole.AccessibleTextRole))
        for i in carol
    )
    window.open_chat(CAROL)
    assert (ALICE, CAROL) not in window.unread


def test_failed_send_shows_reason_and_retry(
    window: MainWindow, drive, qtbot, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    open_bob(window, drive)
    qtbot.keyClicks(window.composer, "important")
    qtbot.keyClick(window.composer, Qt.Key.Key_Return)
    drive.until(lambda: window.chat.last_outgoing() is not None)
    sent = window.chat.last_outgoing()
    assert sent is not None
    fake.emit(
        MessageStateChanged(
            ALICE, BOB, sent.id, "failed", "The server did not answer within 30 seconds."
        )
    )
    bubble = window.chat.bubbles[sent.id]
    assert bubble.error_row.isVisibleTo(bubble)
    assert "did not answer" in bubble.error.text()
    assert window.chat_banner.kind == "danger"
    bubble.retry.click()
    drive.until(lambda: fake.called("retry_message"))
    assert fake.called("retry_message")[0].args == (ALICE, sent.id)
    drive.until(lambda: bubble.message.state == "sent")
    assert not bubble.error_row.isVisibleTo(bubble)


def test_decryption_failure_notice_with_repair(
    window: MainWindow, drive, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    open_bob(window, drive)
    fake.emit(
        DecryptionFailed(ALICE, BOB, 777, "The secure session with this device is out of step")
    )
    assert len(window.chat.notices) == 1
    notice = window.chat.notices[0]
    assert "could not be decrypted" in notice.text.text()
    assert "Repair" in notice.text.text()
    notice.repair.click()
    drive.until(lambda: fake.called("reset_session"))
    assert fake.called("reset_session")[0].args == (ALICE, BOB, 777)
    drive.until(lambda: notice.repair.text() == "Repaired")


def test_decryption_failure_in_a_closed_chat_waits_for_it(
    window: MainWindow, drive, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    fake.emit(DecryptionFailed(ALICE, BOB, 777, "No session"))
    assert window.unread[(ALICE, BOB)] == 1
    open_bob(window, drive)
    assert len(window.chat.notices) == 1


def test_service_error_on_send_is_shown(
    window: MainWindow, drive, qtbot, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    from omemo_desktop.service.api import ConnectionFailed

    fake.fail["send_message"] = ConnectionFailed(
        "You are offline. Check your network; the app reconnects by itself."
    )
    open_bob(window, drive)
    qtbot.keyClicks(window.composer, "hi")
    qtbot.keyClick(window.composer, Qt.Key.Key_Return)
    drive.until(lambda: window.chat_banner.kind == "danger")
    assert "You are offline" in window.chat_banner.label.text()
