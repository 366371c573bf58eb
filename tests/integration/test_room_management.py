"""Managing rooms against the real Prosody: leaving for good (bookmark autojoin off),
declining an invitation (the inviter hears of it), renaming a room (owners only)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from omemo_desktop.service.api import (
    Event,
    RoomInvitationDeclined,
    RoomInvitationReceived,
    RoomRenamed,
    ServiceError,
)
from omemo_desktop.service.messenger import Messenger
from omemo_desktop.storage.secrets import SecretStore
from omemo_desktop.xmpp import muc
from tests.helpers.memory_keyring import MemoryKeyring
from tests.helpers.prosody import ProsodyServer

ROOM = "managed@conference.localhost"
Make = Callable[..., Awaitable["Client"]]


class Client:
    def __init__(self, messenger: Messenger, jid: str) -> None:
        self.m, self.jid = messenger, jid
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        messenger.events.subscribe(self.events.put_nowait)

    async def next(self, kind: type, timeout: float = 20) -> Event:
        async def wait() -> Event:
            while True:
                event = await self.events.get()
                if isinstance(event, kind):
                    return event

        return await asyncio.wait_for(wait(), timeout)

    async def bookmarks(self) -> dict[str, muc.Bookmark]:
        client = self.m._omemo(self.jid).client
        return {b.room: b for b in await muc.bookmarks(client)}


@pytest.fixture
async def clients(prosody: ProsodyServer, tmp_path: Path) -> AsyncIterator[Make]:
    made: list[Messenger] = []
    keyring = MemoryKeyring()
    registered: set[str] = set()

    async def make(name: str, device: str = "") -> Client:
        if name not in registered:
            prosody.register(name, "pw")
            registered.add(name)
        m = Messenger(
            data_dir=tmp_path / (name + device),
            ca_file=prosody.ca_file,
            secrets=SecretStore(keyring),
        )
        made.append(m)
        jid = f"{name}@localhost"
        client = Client(m, jid)
        if jid in m.accounts():
            await m.connect(jid)
        else:
            await m.add_account(jid, "pw", server=prosody.address)
        await m.set_trust_policy(jid, "blind")
        return client

    yield make
    for m in made:
        await m.close()


async def test_a_room_left_is_not_rejoined_at_the_next_start(clients: Make) -> None:
    alice = await clients("alice")
    await alice.m.join_room(alice.jid, ROOM)
    assert (await alice.bookmarks())[ROOM].autojoin

    await alice.m.leave_room(alice.jid, ROOM)
    assert alice.m.rooms(alice.jid) == []
    mark = (await alice.bookmarks())[ROOM]
    assert not mark.autojoin, "the bookmark stays (name, nick) but no longer joins"
    assert mark.nick == "alice"
    await alice.m.close()

    again = await clients("alice")  # the same account and data folder, a new Messenger
    laptop = await clients("alice", "-laptop")  # and a device that never saw the room
    assert again.m.rooms(again.jid) == []
    assert laptop.m.rooms(laptop.jid) == []

    # Joining again by hand turns autojoin back on.
    await again.m.join_room(again.jid, ROOM)
    assert (await again.bookmarks())[ROOM].autojoin


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
    invitation = await bob.next(RoomInvitationReceived)
    assert isinstance(invitation, RoomInvitationReceived)
    # The mediated invitation comes from the room: the inviter is read from <invite from/>.
    assert (invitation.room, invitation.inviter) == (ROOM, alice.jid)

    await bob.m.decline_invitation(bob.jid, ROOM, invitation.inviter, "not now, thanks")
    declined = await alice.next(RoomInvitationDeclined)
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
    assert await bob.next(RoomRenamed) == RoomRenamed(bob.jid, ROOM, "Release crew")
    assert [r.name for r in bob.m.rooms(bob.jid)] == ["Release crew"]
    info = await muc.room_info(bob.m._omemo(bob.jid).client, ROOM)
    assert info.name == "Release crew", "the name is the room's, seen by every member"
    assert (await alice.bookmarks())[ROOM].name == "Release crew"
    laptop = await clients("alice", "-laptop")  # the synced bookmark brings the name along
    assert [r.name for r in laptop.m.rooms(laptop.jid)] == ["Release crew"]

    with pytest.raises(ServiceError, match="Only an owner"):
        await bob.m.rename_room(bob.jid, ROOM, "Bob's room")
    info = await muc.room_info(alice.m._omemo(alice.jid).client, ROOM)
    assert info.name == "Release crew"
