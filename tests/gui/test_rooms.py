"""Group chats in the GUI: join or create a room, invitations, the participants panel with
trust per member, group messages with colored nicks, invite, remove, settings and leave."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from omemo_desktop.service.api import (
    DecryptionFailed,
    DeviceView,
    MessageReceived,
    MessageView,
    RoomInvitationDeclined,
    RoomInvitationReceived,
    RoomMembersChanged,
    RoomRenamed,
    RoomView,
    ServiceError,
    TrustDecisionNeeded,
)
from omemo_desktop.ui import colors
from omemo_desktop.ui.main_window import MainWindow
from omemo_desktop.ui.pages import ContactPage
from omemo_desktop.ui.rooms import InvitationDialog, InviteDialog, trust_summary
from tests.gui.conftest import ALICE, BOB, BOB_LAPTOP, BOB_PHONE, CAROL, YESTERDAY_NOON, find_top
from tests.gui.test_accessibility import unnamed
from tests.helpers.fake_messenger import FakeMessenger

ROOM = "team@conference.example.org"
PUBLIC = "lobby@conference.example.org"


def team(fake: FakeMessenger) -> RoomView:
    room = RoomView(ROOM, "Team", "alice", (ALICE, BOB, CAROL), True)
    fake.add_room(ALICE, room)
    return room


def group_message(mid: str, nick: str, body: str, at: float, direction: str = "in") -> MessageView:
    return MessageView(
        mid,
        ALICE,
        ROOM,
        direction,
        body,
        at,
        "omemo2",
        sender_device=4242,
        trust="trusted",
        sender=f"{ROOM}/{nick}" if direction == "in" else ALICE,
    )


def test_join_creates_a_room_and_opens_it(
    window: MainWindow, drive, qtbot, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    window.tabs.setCurrentWidget(window.room_list)
    assert window.groups_hint.isVisible()  # an empty list says how to fill it
    dialog = window.open_join_room()
    assert dialog is not None
    assert "members-only" in dialog.explain.text() and "non-anonymous" in dialog.explain.text()
    dialog.room.setText("Team@Conference.example.org")
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
    drive.until(lambda: not dialog.isVisible())
    assert fake.called("join_room")[0].args == (ALICE, ROOM, "alice")
    assert window.peer == ROOM
    assert window.tabs.currentWidget() is window.room_list
    assert window.room_list.count() == 1 and not window.groups_hint.isVisible()
    assert "1 member" in window.peer_status.text() and "encrypted" in window.peer_status.text()
    assert window.encryption_button.isEnabled() and window.encryption_button.isChecked()
    assert window.participants.isVisible()
    assert "(you)" in window.participants.member_text(ALICE)
    assert window.members_button.isVisible() and not window.details_button.isVisible()


def test_join_rejects_a_bad_address(window: MainWindow, qtbot, fake: FakeMessenger) -> None:  # type: ignore[no-untyped-def]
    dialog = window.open_join_room()
    assert dialog is not None
    dialog.room.setText("not a room")
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
    assert dialog.banner.isVisible() and "room@conference" in dialog.banner.label.text()
    assert not fake.called("join_room")


def test_a_room_without_omemo_is_explained_and_sends_plain(
    window: MainWindow, drive, qtbot, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    fake.existing_rooms[PUBLIC] = RoomView(PUBLIC, "Lobby", "", (BOB,), False)
    dialog = window.open_join_room(PUBLIC)
    assert dialog is not None
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
    drive.until(lambda: dialog.result_room is not None)
    # The dialog stays open and says why OMEMO cannot work in this room.
    assert dialog.isVisible()
    text = dialog.banner.label.text()
    assert "members-only" in text and "not end-to-end encrypted" in text
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
    drive.until(lambda: window.peer == PUBLIC)
    assert not window.encryption_button.isEnabled()
    assert window.encryption_button.text() == "Not encrypted"
    assert "members-only" in window.encryption_button.toolTip()
    assert window.chat_banner.kind == "warning"
    window.composer.setPlainText("hello lobby")
    qtbot.keyClick(window.composer, Qt.Key.Key_Return)
    drive.until(lambda: fake.called("send_message"))
    assert fake.called("send_message")[0].kwargs == {"encrypt": False}


def test_invitation_join_opens_the_room(
    window: MainWindow, drive, qtbot, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    fake.existing_rooms[ROOM] = RoomView(ROOM, "Team", "", (BOB, CAROL), True)
    fake.emit(RoomInvitationReceived(ALICE, ROOM, BOB))
    dialogs = find_top(InvitationDialog)
    assert len(dialogs) == 1
    invitation = dialogs[0]
    assert isinstance(invitation, InvitationDialog)
    assert unnamed(invitation) == []
    fake.emit(RoomInvitationReceived(ALICE, ROOM, BOB))  # a repeat does not stack dialogs
    assert len(find_top(InvitationDialog)) == 1
    qtbot.mouseClick(invitation.join, Qt.MouseButton.LeftButton)
    drive.until(lambda: window.peer == ROOM)
    assert fake.called("join_room")[0].args[:2] == (ALICE, ROOM)
    assert window.participants.isVisible()
    assert window.participants.list.count() == 3


def test_invitation_decline_joins_nothing(
    window: MainWindow, drive, qtbot, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    fake.emit(RoomInvitationReceived(ALICE, ROOM, BOB))
    invitation = find_top(InvitationDialog)[0]
    assert isinstance(invitation, InvitationDialog)
    invitation.reason.setText("not this week")
    qtbot.mouseClick(invitation.decline, Qt.MouseButton.LeftButton)
    drive.until(lambda: fake.called("decline_invitation"))
    assert fake.called("decline_invitation")[0].args == (ALICE, ROOM, BOB, "not this week")
    assert not invitation.isVisible()
    assert not fake.called("join_room")
    assert window.room_list.count() == 0


def test_the_inviter_learns_of_a_decline(window: MainWindow, fake: FakeMessenger) -> None:
    team(fake)
    window.reload_accounts()
    window.open_chat(ROOM)
    fake.emit(RoomInvitationDeclined(ALICE, ROOM, CAROL, "busy"))
    text = f"{CAROL} declined your invitation to {ROOM}: “busy”"
    assert window.statusBar().currentMessage() == text
    assert window.chat_banner.kind == "info" and window.chat_banner.label.text() == text


def test_a_rename_by_an_owner_elsewhere_shows_up(window: MainWindow, fake: FakeMessenger) -> None:
    team(fake)
    window.reload_accounts()
    window.open_chat(ROOM)
    fake.emit(RoomRenamed(ALICE, ROOM, "Launch crew"))
    assert window.peer_name.text() == "Launch crew"
    assert "Launch crew" in window.room_list.item(0).text()


def test_renaming_needs_an_owner_and_says_so(
    window: MainWindow, drive, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    team(fake)
    window.reload_accounts()
    window.open_chat(ROOM)
    fake.fail["rename_room"] = ServiceError(f"Only an owner of {ROOM} can rename it.")
    settings = window.open_room_settings()
    assert settings is not None
    settings.name.setText("Mine now")
    settings._on_save_clicked()
    drive.until(lambda: settings.banner.kind == "danger")
    assert "Only an owner" in settings.banner.label.text()
    assert settings.isVisible() and settings.save.isEnabled()
    assert window.peer_name.text() == "Team"


def test_participants_panel_shows_trust_per_member_and_opens_their_devices(
    window: MainWindow, drive, qtbot, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    team(fake)
    window.reload_accounts()
    window.open_chat(ROOM)
    panel = window.participants
    drive.until(lambda: "decide" in panel.member_text(BOB))
    assert "1 new device to decide about" in panel.member_text(BOB)  # the laptop
    drive.until(lambda: "No OMEMO devices" in panel.member_text(CAROL))
    assert panel.list.accessibleName()
    items = {
        panel.list.item(i).data(Qt.ItemDataRole.UserRole): panel.list.item(i) for i in range(3)
    }
    assert items[BOB].data(Qt.ItemDataRole.UserRole + 1) == "untrusted"
    # Double-click a member: the contact page with their devices and trust switches.
    panel.list.setCurrentItem(items[BOB])
    assert panel.remove.isEnabled() and panel.details.isEnabled()
    qtbot.mouseClick(panel.details, Qt.MouseButton.LeftButton)
    pages = find_top(ContactPage)
    assert len(pages) == 1
    page = pages[0]
    assert isinstance(page, ContactPage)
    drive.until(lambda: len(page.cards) == 2)
    switch = page.cards[BOB_LAPTOP.device_id].trust_switch
    assert switch is not None
    switch.setChecked(True)
    drive.until(lambda: fake.called("set_trust"))
    assert fake.called("set_trust")[0].args == (ALICE, BOB, 777, "trusted")
    page.close()
    drive.until(lambda: "2 trusted devices" in panel.member_text(BOB))
    # Our own row is not removable.
    panel.list.setCurrentRow(0)
    assert panel.selected() == ALICE and not panel.remove.isEnabled()


def test_trust_summary_sentences() -> None:
    assert trust_summary([])[0] == "none"
    assert trust_summary([BOB_PHONE]) == ("trusted", "1 trusted device")
    verified = DeviceView(BOB, 1, "00" * 32, "omemo2", "verified")
    distrusted = DeviceView(BOB, 2, "11" * 32, "omemo2", "distrusted")
    assert trust_summary([verified, distrusted]) == ("verified", "1 verified device, 1 not trusted")
    assert trust_summary([distrusted])[0] == "untrusted"


def test_group_messages_name_their_writer_in_xep0392_colors(
    window: MainWindow, drive, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    team(fake)
    window.reload_accounts()
    for m in (
        group_message("g1", "bob", "Morning all", YESTERDAY_NOON),
        group_message("g2", "bob", "Coffee?", YESTERDAY_NOON + 10),
        group_message("g3", "carol", "Yes please", YESTERDAY_NOON + 20),
        group_message("g4", "alice", "On my way", YESTERDAY_NOON + 30, "out"),
    ):
        fake.add_message(m)
    window.open_chat(ROOM)
    drive.until(lambda: len(window.chat.bubbles) == 4)
    bubbles = window.chat.bubbles
    first, second, third, mine = (bubbles[i] for i in ("g1", "g2", "g3", "g4"))
    assert first.sender_label is not None and first.sender_label.text() == "bob"
    assert second.sender_label is None  # a run by one member is named once
    assert third.sender_label is not None and third.sender_label.text() == "carol"
    assert mine.sender_label is None
    color = colors.text_color("bob").name()
    assert color in first.sender_label.styleSheet()
    assert colors.text_color("carol").name() != colors.text_color("bob").name()
    assert first.accessibleName().startswith("bob: Morning all")
    # A live message in the open room.
    live = group_message("g5", "dave", "Hi, I'm new", YESTERDAY_NOON + 40)
    fake.emit(MessageReceived(ALICE, live))
    drive.until(lambda: "g5" in window.chat.bubbles)
    label = window.chat.bubbles["g5"].sender_label
    assert isinstance(label, QLabel) and label.text() == "dave"


def test_invite_and_remove_members_from_the_room(
    window: MainWindow, drive, qtbot, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    fake.add_room(ALICE, RoomView(ROOM, "Team", "alice", (ALICE,), True))
    window.reload_accounts()
    window.open_chat(ROOM)
    qtbot.mouseClick(window.participants.invite, Qt.MouseButton.LeftButton)
    opened = find_top(InviteDialog)
    assert len(opened) == 1
    invite = opened[0]
    assert isinstance(invite, InviteDialog)
    assert [invite.who.itemData(i) for i in range(invite.who.count())] == [BOB, CAROL]
    invite.who.setCurrentIndex(0)
    qtbot.mouseClick(invite.ok, Qt.MouseButton.LeftButton)
    drive.until(lambda: not invite.isVisible())
    assert fake.called("invite_to_room")[0].args == (ALICE, ROOM, BOB)
    assert window.participants.list.count() == 2
    assert "2 members" in window.peer_status.text()
    # Typed addresses work too; a bad one is refused with a sentence.
    invite = window.open_invite()
    assert invite is not None
    invite.who.setEditText("nonsense")
    qtbot.mouseClick(invite.ok, Qt.MouseButton.LeftButton)
    assert "not an XMPP address" in invite.banner.label.text()
    invite.close()
    panel = window.participants
    panel.list.setCurrentRow(1)
    assert panel.selected() == BOB
    qtbot.mouseClick(panel.remove, Qt.MouseButton.LeftButton)
    drive.until(lambda: panel.list.count() == 1)
    assert fake.called("remove_from_room")[0].args == (ALICE, ROOM, BOB)


def test_room_settings_rename_and_leave(
    window: MainWindow, drive, qtbot, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    team(fake)
    window.reload_accounts()
    window.open_chat(ROOM)
    settings = window.open_room_settings()
    assert settings is not None
    assert unnamed(settings) == []
    settings.name.setText("Lunch crew")
    settings._on_save_clicked()
    drive.until(lambda: not settings.isVisible())
    assert fake.called("rename_room")[0].args == (ALICE, ROOM, "Lunch crew")
    assert window.peer_name.text() == "Lunch crew"
    assert "Lunch crew" in window.room_list.item(0).text()
    settings = window.open_room_settings()
    assert settings is not None and settings.name.text() == "Lunch crew"
    qtbot.mouseClick(settings.leave, Qt.MouseButton.LeftButton)
    box = settings.confirm
    assert box is not None and box.isVisible()
    assert "no longer join it when they start" in box.text()
    leave = next(b for b in box.buttons() if b.text() == "Leave")
    qtbot.mouseClick(leave, Qt.MouseButton.LeftButton)
    drive.until(lambda: fake.called("leave_room"))
    drive.until(lambda: window.room_list.count() == 0)
    assert window.peer is None and window.stack.currentWidget() is window.welcome


def test_trust_dialog_for_a_room_names_the_members(window: MainWindow, fake: FakeMessenger) -> None:
    team(fake)
    window.reload_accounts()
    carol_pc = DeviceView(CAROL, 99, "abcdef01" * 8, "omemo2", "undecided", label="Carol's PC")
    fake.emit(TrustDecisionNeeded(ALICE, ROOM, (BOB_LAPTOP, carol_pc)))
    dialog = window.trust_dialogs[(ALICE, ROOM)]
    assert "Team" in dialog.windowTitle()
    assert "Members of Team" in dialog.banner.label.text()
    titles = [row.findChildren(QLabel)[0].text() for row in dialog.rows.values()]
    assert any(BOB in t for t in titles) and any(CAROL in t for t in titles)
    dialog.close()


def test_room_views_have_accessible_names(
    window: MainWindow, drive, qtbot, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    team(fake)
    window.reload_accounts()
    window.open_chat(ROOM)
    drive.until(lambda: "decide" in window.participants.member_text(BOB))
    assert unnamed(window) == []
    for opener in (window.open_join_room, window.open_invite, window.open_room_settings):
        dialog = opener()
        assert dialog is not None
        qtbot.addWidget(dialog)
        drive.settle(0.02)
        assert unnamed(dialog) == [], type(dialog).__name__
        dialog.close()
    assert "Ctrl+J" in {a.shortcut().toString() for a in window.actions()}


def test_repair_in_a_room_finds_the_member_of_the_device(
    window: MainWindow, drive, qtbot, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    team(fake)
    window.reload_accounts()
    window.open_chat(ROOM)
    drive.until(lambda: fake.called("history"))
    drive.settle(0.05)  # the history is shown (it rebuilds the view)
    fake.emit(DecryptionFailed(ALICE, ROOM, BOB_LAPTOP.device_id, "the session is out of step"))
    notice = window.chat.notices[-1]
    assert "someone in this group chat" in notice.text.text()
    qtbot.mouseClick(notice.repair, Qt.MouseButton.LeftButton)
    drive.until(lambda: fake.called("reset_session"))
    assert fake.called("reset_session")[0].args == (ALICE, BOB, BOB_LAPTOP.device_id)
    drive.until(lambda: notice.repair.text() == "Repaired")
    # A device no member has: a sentence, not a crash.
    fake.emit(DecryptionFailed(ALICE, ROOM, 5555, "unknown device"))
    qtbot.mouseClick(window.chat.notices[-1].repair, Qt.MouseButton.LeftButton)
    drive.until(lambda: window.chat_banner.isVisible())
    assert "No member of Team uses device 5555" in window.chat_banner.label.text()


def test_a_room_joined_in_the_background_shows_up_with_its_final_features(
    window: MainWindow, drive, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    # Autojoin from bookmarks: the service knows the room before its features are read.
    fake.add_room(ALICE, RoomView(ROOM, "", "alice", (ALICE,), False))
    fake.emit(RoomMembersChanged(ALICE, ROOM, (ALICE,)))
    assert window.room_list.count() == 1
    window.open_chat(ROOM)
    assert not window.encryption_button.isEnabled()
    assert window.chat_banner.kind == "warning"
    fake.add_room(ALICE, RoomView(ROOM, "Team", "alice", (ALICE, BOB), True))
    fake.emit(RoomMembersChanged(ALICE, ROOM, (ALICE, BOB)))
    assert window.encryption_button.isEnabled() and window.encryption_button.isChecked()
    assert window.chat_banner.kind == ""
    assert window.peer_name.text() == "Team" and "2 members" in window.peer_status.text()
    # A message from a room the window has not seen yet brings it in too.
    other = "other@conference.example.org"
    fake.add_room(ALICE, RoomView(other, "Other", "alice", (ALICE, CAROL), True))
    message = replace(group_message("o1", "carol", "hi", YESTERDAY_NOON), peer=other)
    fake.emit(MessageReceived(ALICE, message))
    assert window._room(other) is not None
    assert any("Other" in window.chat_list.item(i).text() for i in range(window.chat_list.count()))
