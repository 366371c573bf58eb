"""xmpp: links in the window (ui/links.py): each opens what it names and sends nothing."""

from __future__ import annotations

from omemo_desktop.ui.dialogs import AddContactDialog, VerificationUriDialog
from omemo_desktop.ui.main_window import MainWindow
from omemo_desktop.ui.rooms import JoinRoomDialog
from tests.gui.conftest import ALICE, BOB, CAROL, find_top
from tests.helpers.fake_messenger import FakeMessenger

FP = "ab" * 32


def test_a_message_link_opens_the_chat_with_a_draft_and_sends_nothing(
    window: MainWindow, fake: FakeMessenger, drive
) -> None:  # type: ignore[no-untyped-def]
    window.open_uri(f"xmpp:{CAROL}?message;body=See%20you%20at%208%3B%20ok%3F")
    drive.until(lambda: window.peer == CAROL)
    assert window.composer.toPlainText() == "See you at 8; ok?"
    drive.settle(0.05)
    assert not fake.called("send_message")


def test_a_message_link_keeps_a_draft_the_user_wrote(window: MainWindow, drive) -> None:  # type: ignore[no-untyped-def]
    window.open_chat(BOB)
    window.composer.setPlainText("my own words")
    window.open_uri(f"xmpp:{BOB}?message;body=spam")
    assert window.composer.toPlainText() == "my own words"


def test_a_roster_link_opens_add_contact_filled_in(window: MainWindow, fake: FakeMessenger) -> None:
    window.open_uri("xmpp:dave@example.org?roster;name=Dave%20D.;group=Work")
    dialogs = find_top(AddContactDialog)
    assert len(dialogs) == 1
    dialog = dialogs[0]
    assert isinstance(dialog, AddContactDialog)
    assert (dialog.jid.text(), dialog.name.text()) == ("dave@example.org", "Dave D.")
    assert not fake.called("add_contact")  # the user confirms
    dialog.reject()


def test_a_verification_link_opens_the_verification_dialog(
    window: MainWindow, fake: FakeMessenger
) -> None:
    link = f"xmpp:{BOB}?omemo-sid-4242={FP}"
    window.open_uri(link)
    dialogs = find_top(VerificationUriDialog)
    assert len(dialogs) == 1
    dialog = dialogs[0]
    assert isinstance(dialog, VerificationUriDialog)
    assert dialog.uri.text() == link
    assert not fake.called("apply_verification_uri")  # the user presses Verify
    dialog.reject()


def test_a_join_link_opens_the_join_dialog_filled_in(
    window: MainWindow, fake: FakeMessenger
) -> None:
    window.open_uri("xmpp:Team@muc.example.org?join")
    dialogs = find_top(JoinRoomDialog)
    assert len(dialogs) == 1
    dialog = dialogs[0]
    assert isinstance(dialog, JoinRoomDialog)
    assert dialog.room.text() == "team@muc.example.org"
    assert not fake.called("join_room")  # the user confirms
    dialog.reject()


def test_a_bad_link_is_explained_in_the_window(window: MainWindow, drive) -> None:  # type: ignore[no-untyped-def]
    window.open_uri("xmpp:not an address")
    assert "cannot be opened" in window.statusBar().currentMessage()
    window.open_uri("xmpp:example.org")
    assert "is a server" in window.statusBar().currentMessage()
    assert window.peer is None


def test_a_link_for_another_of_our_accounts_switches_to_it(
    window: MainWindow, fake: FakeMessenger, drive
) -> None:  # type: ignore[no-untyped-def]
    other = "alice@work.example"
    fake.add_account_now(other)
    window.reload_accounts()
    assert window.account == ALICE
    window.open_uri(f"xmpp://{other}/{BOB}")
    drive.until(lambda: window.peer == BOB)
    assert window.account == other
