"""Managing rooms against the real Prosody: leaving for good (bookmark autojoin off),
declining an invitation (the inviter hears of it), renaming a room (owners only)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from omemo_desktop.service.api import (
    RoomInvitationDeclined,
    RoomInvitationReceived,
    RoomRenamed,
    ServiceError,
)
from omemo_desktop.xmpp import muc
from tests.helpers.inproc import Client, Clients
from tests.helpers.prosody import ProsodyServer

ROOM = "managed@conference.localhost"
Make = Callable[..., Awaitable["Client"]]


async def bookmarks(client: Client) -> dict[str, muc.Bookmark]:
    return {b.room: b for b in await muc.bookmarks(client.acc.client)}


@pytest.fixture
async def clients(prosody: ProsodyServer, tmp_path: Path) -> AsyncIterator[Make]:
    made = Clients(prosody, tmp_path)

    async def make(name: str, device: str = "") -> Client:
        return await made.make(name, name + device)

    yield make
    await made.close_all()


async def test_a_room_left_is_not_rejoined_at_the_next_start(clients: Make) -> None:
    alice = await clients("alice")
    await alice.m.join_room(alice.jid, ROOM)
    assert (await bookmarks(alice))[ROOM].autojoin

    await alice.m.leave_room(alice.jid, ROOM)
    assert alice.m.rooms(alice.jid) == []
    mark = (await bookmarks(alice))[ROOM]
    assert not mark.autojoin, "the bookmark stays (name, nick) but no longer joins"
    assert mark.nick == "alice"
    await alice.m.close()

    again = await clients("alice")  # the same account and data folder, a new Messenger
    laptop = await clients("alice", "-laptop")  # and a device that never saw the room
    assert again.m.rooms(again.jid) == []
    assert laptop.m.rooms(laptop.jid) == []

    # Joining again by hand turns autojoin back on.
    await again.m.join_room(again.jid, ROOM)
    assert (await bookmarks(again))[ROOM].autojoin


async def test_leaving_while_offline_says_so_and_keeps_the_room(clients: Make) -> None:
    alice = await clients("alice")
    await alice.m.join_room(alice.jid, ROOM)
    acc = alice.m._omemo(alice.jid)
    await acc.client.disconnect()
    with pytest.raises(ServiceError, match="offline"):
        await alice.m.leave_room(alice.jid, ROOM)
    assert [r.jid for r in alice.m.rooms(alice.jid)] == [ROOM]


async def test_a_declined_invitation_reaches_the_inviter(clients: Make) -> None:
    alice = await clients("alice")
    bob = await clients("bob")
    await alice.m.join_room(alice.jid, ROOM)
    await alice.m.invite_to_room(alice.jid, ROOM, bob.jid)
    invitation = await bob.wait_event(RoomInvitationReceived)
    assert isinstance(invitation, RoomInvitationReceived)
    # The mediated invitation comes from the room: the inviter is read from <invite from/>.
    assert (invitation.room, invitation.inviter) == (ROOM, alice.jid)

    await bob.m.decline_invitation(bob.jid, ROOM, invitation.inviter, "not now, thanks")
    declined = await alice.wait_event(RoomInvitationDeclined)
    assert declined == RoomInvitationDeclined(alice.jid, ROOM, bob.jid, "not now, thanks")
    assert bob.m.rooms(bob.jid) == []
    # The room's plain-text copy of the decline is not stored as a chat message.
    assert await alice.m.history(alice.jid, ROOM) == []


async def test_owner_renames_the_room_for_everyone_and_members_may_not(clients: Make) -> None:
    alice = await clients("alice")
    bob = await clients("bob")
    await alice.m.join_room(alice.jid, ROOM)
    await alice.m.invite_to_room(alice.jid, ROOM, bob.jid)
    await bob.m.join_room(bob.jid, ROOM)

    view = await alice.m.rename_room(alice.jid, ROOM, "  Release crew ")
    assert view.name == "Release crew"
    # Members in the room hear of it (status 104) and read the new name.
    assert await bob.wait_event(RoomRenamed) == RoomRenamed(bob.jid, ROOM, "Release crew")
    assert [r.name for r in bob.m.rooms(bob.jid)] == ["Release crew"]
    info = await muc.room_info(bob.m._omemo(bob.jid).client, ROOM)
    assert info.name == "Release crew", "the name is the room's, seen by every member"
    assert (await bookmarks(alice))[ROOM].name == "Release crew"
    laptop = await clients("alice", "-laptop")  # the synced bookmark brings the name along
    assert [r.name for r in laptop.m.rooms(laptop.jid)] == ["Release crew"]

    with pytest.raises(ServiceError, match="Only an owner"):
        await bob.m.rename_room(bob.jid, ROOM, "Bob's room")
    info = await muc.room_info(alice.m._omemo(alice.jid).client, ROOM)
    assert info.name == "Release crew"
