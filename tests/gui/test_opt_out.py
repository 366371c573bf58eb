"""A contact's OMEMO opt-out (XEP-0384 §10): the notice in the chat, the question on the
open chat, confirming sends plain (confirm_plaintext), declining leaves the message waiting."""

from __future__ import annotations

import time

from omemo_desktop.service.api import MessageReceived, MessageView, OptOutReceived
from omemo_desktop.ui.dialogs import OptOutDialog
from omemo_desktop.ui.main_window import MainWindow
from tests.gui.conftest import ALICE, BOB
from tests.gui.test_chat import open_bob
from tests.helpers.fake_messenger import FakeMessenger

REASON = "my client cannot decrypt on this phone"


def opt_out(fake: FakeMessenger) -> None:
    """What the service publishes: the event, then the stored notice as a message."""
    fake.emit(OptOutReceived(ALICE, BOB, REASON))
    notice = MessageView(
        "n-opt",
        ALICE,
        BOB,
        "in",
        f"{BOB} asked to continue without encryption: {REASON}. Your messages to them wait "
        "until you confirm sending unencrypted.",
        time.time(),
        "none",
        error="opt-out",
        notice=True,
    )
    fake.add_message(notice)
    fake.emit(MessageReceived(ALICE, notice))


def asked(window: MainWindow) -> OptOutDialog:
    dialog = window.opt_out_dialog
    assert dialog is not None and dialog.isVisible()
    text = dialog.banner.label.text()
    assert "Bob asks to continue without end-to-end encryption" in text and REASON in text
    assert "Nothing is sent to them until you answer" in text
    return dialog


def test_opt_out_on_the_open_chat_asks_and_confirming_sends_plain(
    window: MainWindow, drive, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    open_bob(window, drive)
    opt_out(fake)
    notices = window.chat.notices
    assert len(notices) == 1, "their request shows in the chat"
    text = notices[0].text.text()
    assert f"{BOB} asked to continue without encryption: {REASON}" in text
    assert "could not be decrypted" not in text
    assert not notices[0].repair.isVisibleTo(notices[0]), "nothing to repair"
    dialog = asked(window)
    dialog.stop.click()
    drive.until(lambda: fake.called("confirm_plaintext"))
    assert fake.called("confirm_plaintext")[0].args == (ALICE, BOB)
    assert window.encryption_button.text() == "Not encrypted"
    assert window.opt_out_dialog is None
    assert not window.chat_banner.isVisible()


def test_declining_leaves_the_message_waiting_and_says_so(
    window: MainWindow, drive, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    open_bob(window, drive)
    opt_out(fake)
    asked(window).keep.click()
    drive.settle(0.05)
    assert not fake.called("confirm_plaintext")
    assert window.encryption_button.isChecked(), "still encrypted"
    assert window.chat_banner.kind == "warning"
    assert "wait unsent" in window.chat_banner.label.text()

    # Changing one's mind later: the lock button asks the same question again.
    window.encryption_button.click()
    asked(window).stop.click()
    drive.until(lambda: fake.called("confirm_plaintext"))
    assert window.encryption_button.text() == "Not encrypted"


def test_an_opt_out_in_a_closed_chat_is_asked_when_it_is_opened(
    window: MainWindow, drive, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    opt_out(fake)
    assert window.opt_out_dialog is None, "no dialog for a chat that is not open"
    assert window.unread.get((ALICE, BOB)) == 1
    open_bob(window, drive)
    drive.until(lambda: window.opt_out_dialog is not None)
    asked(window)
    assert ["asked to continue" in n.text.text() for n in window.chat.notices] == [True]


def test_their_next_encrypted_message_lifts_the_request(
    window: MainWindow, drive, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    opt_out(fake)
    back = MessageView("m-back", ALICE, BOB, "in", "encrypted again", time.time(), "omemo2")
    fake.add_message(back)
    fake.emit(MessageReceived(ALICE, back))
    open_bob(window, drive)
    drive.until(lambda: "m-back" in window.chat.bubbles)
    assert window.opt_out_dialog is None


def test_an_opt_out_while_turning_encryption_off_by_hand_is_confirmed_too(
    window: MainWindow, drive, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    open_bob(window, drive)
    window.encryption_button.click()  # the ordinary question, not yet their request
    assert window.opt_out_dialog is not None
    opt_out(fake)
    asked(window).stop.click()
    drive.until(lambda: fake.called("confirm_plaintext"))
