"""OMEMO in a members-only, non-anonymous room with three of our clients (in-process)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from omemo_desktop.service.api import MessageStateChanged, TrustDecisionNeeded
from tests.helpers.inproc import Client, Clients
from tests.helpers.omemo_bot import OmemoBot
from tests.helpers.prosody import ProsodyServer

ROOM = "omemo-room@conference.localhost"
Make = Callable[..., Awaitable[Client]]


@pytest.fixture
async def clients(prosody: ProsodyServer, tmp_path: Path) -> AsyncIterator[Make]:
    made = Clients(prosody, tmp_path)

    async def make(name: str, device: str = "") -> Client:
        """`device` names a further device (its own data folder) of the same account."""
        return await made.make(name, name + device)

    yield make
    await made.close_all()


async def test_room_messages_reach_every_member_and_removed_members_stop_getting_keys(
    clients: Make,
) -> None:
    alice: Client = await clients("alice")
    bob: Client = await clients("bob")
    carol: Client = await clients("carol")

    view = await alice.m.join_room(alice.jid, ROOM)
    assert view.omemo_capable, "a room we create is members-only and non-anonymous"
    for other in (bob, carol):
        await alice.m.invite_to_room(alice.jid, ROOM, other.jid)
        joined = await other.m.join_room(other.jid, ROOM)
        assert joined.omemo_capable

    await alice.m.send_message(alice.jid, ROOM, "hello room")
    assert await bob.next_body() == ("hello room", "omemo2")
    assert await carol.next_body() == ("hello room", "omemo2")

    await bob.m.send_message(bob.jid, ROOM, "hi from bob")
    assert await alice.next_body() == ("hi from bob", "omemo2")
    assert await carol.next_body() == ("hi from bob", "omemo2")

    # Carol is removed: from the next message on, nothing is encrypted for her.
    await alice.m.remove_from_room(alice.jid, ROOM, carol.jid)
    sent = await alice.m.send_message(alice.jid, ROOM, "carol is gone")
    assert await bob.next_body() == ("carol is gone", "omemo2")
    acc = alice.m._omemo(alice.jid)
    recipients = await acc.db.run(
        lambda c: c.execute(
            "SELECT DISTINCT jid FROM message_recipients WHERE message_id = ?", (int(sent.id),)
        ).fetchall()
    )
    assert {r[0] for r in recipients} == {bob.jid}


async def test_offline_member_reads_room_messages_after_coming_back(
    clients: Make,
) -> None:
    alice: Client = await clients("alice")
    bob: Client = await clients("bob")
    await alice.m.join_room(alice.jid, ROOM)
    await alice.m.invite_to_room(alice.jid, ROOM, bob.jid)
    await bob.m.join_room(bob.jid, ROOM)
    await alice.m.send_message(alice.jid, ROOM, "first")
    assert await bob.next_body() == ("first", "omemo2")

    await bob.m.close()  # bob goes offline; he is still a member
    await asyncio.sleep(0.5)
    for text in ("while you were away 1", "while you were away 2"):
        await alice.m.send_message(alice.jid, ROOM, text)
    await asyncio.sleep(1.0)

    bob = await clients("bob")  # back: rejoins from the bookmark
    got = [await bob.next_body(), await bob.next_body()]
    assert got == [("while you were away 1", "omemo2"), ("while you were away 2", "omemo2")]


async def test_room_with_a_reference_library_peer(clients: Make, prosody: ProsodyServer) -> None:
    """Alice and Bob (ours) and a slixmpp-omemo peer (legacy) in one room, messages every way."""
    alice: Client = await clients("alice")
    bob: Client = await clients("bob")
    prosody.register("ref", "pw")
    ref = OmemoBot("ref@localhost", "pw", str(prosody.ca_file))
    host, port = prosody.address.split(":")
    await ref.start((host, int(port)))
    try:
        await alice.m.join_room(alice.jid, ROOM)
        for jid in (bob.jid, "ref@localhost"):
            await alice.m.invite_to_room(alice.jid, ROOM, jid)
        await bob.m.join_room(bob.jid, ROOM)
        await ref.join_room(ROOM, "ref")

        # The reference peer speaks legacy only, so the room falls back to legacy for everyone.
        await alice.m.send_message(alice.jid, ROOM, "hello all three")
        assert await bob.next_body() == ("hello all three", "legacy")
        assert await asyncio.wait_for(ref.inbox.get(), 20) == (ROOM, "hello all three")

        await ref.send_encrypted(ROOM, "hi from the reference", {alice.jid, bob.jid})
        assert await alice.next_body() == ("hi from the reference", "legacy")
        assert await bob.next_body() == ("hi from the reference", "legacy")

        await bob.m.send_message(bob.jid, ROOM, "bob here")
        assert await alice.next_body() == ("bob here", "legacy")
        assert await asyncio.wait_for(ref.inbox.get(), 20) == (ROOM, "bob here")
    finally:
        await ref.stop()


async def test_open_room_explains_why_omemo_is_unavailable(
    clients: Make, prosody: ProsodyServer
) -> None:
    """A room created elsewhere with the server's defaults (open, semi-anonymous)."""
    prosody.register("ref", "pw")
    ref = OmemoBot("ref@localhost", "pw", str(prosody.ca_file))
    host, port = prosody.address.split(":")
    await ref.start((host, int(port)))
    try:
        await ref.join_room("open-room@conference.localhost", "ref", create=True)
        alice: Client = await clients("alice")
        failed: asyncio.Queue[MessageStateChanged] = asyncio.Queue()
        alice.m.events.subscribe(
            lambda e: (
                failed.put_nowait(e)
                if isinstance(e, MessageStateChanged) and e.state == "failed"
                else None
            )
        )
        view = await alice.m.join_room(alice.jid, "open-room@conference.localhost")
        assert not view.omemo_capable
        sent = await alice.m.send_message(alice.jid, view.jid, "secret?")
        event = await asyncio.wait_for(failed.get(), 15)
        assert event.message_id == sent.id
        assert event.error is not None and "members-only" in event.error
        assert ref.inbox.empty()  # nothing went out, not even in plaintext
    finally:
        await ref.stop()


async def test_bookmarks_bring_a_second_device_into_the_room(
    clients: Make,
) -> None:
    alice: Client = await clients("alice")
    bob: Client = await clients("bob")
    await alice.m.join_room(alice.jid, ROOM)
    await alice.m.invite_to_room(alice.jid, ROOM, bob.jid)
    await bob.m.join_room(bob.jid, ROOM)

    # Alice's laptop has never joined: the XEP-0402 bookmark makes it join on connect.
    laptop: Client = await clients("alice", "-laptop")
    assert [r.jid for r in laptop.m.rooms(laptop.jid)] == [ROOM]
    await bob.m.send_message(bob.jid, ROOM, "both of alice's devices read this")
    assert await alice.next_body() == ("both of alice's devices read this", "omemo2")
    assert await laptop.next_body() == ("both of alice's devices read this", "omemo2")


async def test_room_send_waits_for_trust_in_every_members_devices(
    clients: Make,
) -> None:
    alice: Client = await clients("alice")
    bob: Client = await clients("bob")
    carol: Client = await clients("carol")
    await alice.m.set_trust_policy(alice.jid, "manual")
    asked: asyncio.Queue[TrustDecisionNeeded] = asyncio.Queue()
    alice.m.events.subscribe(
        lambda e: asked.put_nowait(e) if isinstance(e, TrustDecisionNeeded) else None
    )
    await alice.m.join_room(alice.jid, ROOM)
    for other in (bob, carol):
        await alice.m.invite_to_room(alice.jid, ROOM, other.jid)
        await other.m.join_room(other.jid, ROOM)

    await alice.m.send_message(alice.jid, ROOM, "only once you trust us")
    need = await asyncio.wait_for(asked.get(), 15)
    assert need.peer == ROOM
    assert {d.jid for d in need.devices} == {bob.jid, carol.jid}
    assert not bob.received() and not carol.received()  # nothing sent before the decision
    for d in need.devices:
        await alice.m.set_trust(alice.jid, d.jid, d.device_id, "trusted")
    assert await bob.next_body() == ("only once you trust us", "omemo2")
    assert await carol.next_body() == ("only once you trust us", "omemo2")
