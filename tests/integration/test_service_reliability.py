"""Issue 6 against the real Prosody, with in-process clients: messages both ways, carbons,
MAM catch-up, stream-management resumption, a server restart, roster and subscription
events, receipts, displayed markers, corrections and chat states.

"Exactly once" is checked twice: on the events the user sees and on the stored history.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from omemo_desktop.service.api import (
    AccountError,
    AuthenticationError,
    ChatStateChanged,
    ConnectionFailed,
    ConnectionStateChanged,
    MessageCorrected,
    MessageStateChanged,
    PresenceChanged,
    RosterChanged,
    SubscriptionRequested,
)
from omemo_desktop.service.messenger import Messenger
from omemo_desktop.storage.secrets import SecretStore
from omemo_desktop.xmpp.client import XmppClient
from tests.helpers.inproc import PASSWORD, Client, Clients, eventually
from tests.helpers.prosody import ProsodyServer, free_port

ALICE, BOB = "alice@localhost", "bob@localhost"


@pytest.fixture
async def clients(prosody: ProsodyServer, tmp_path: Path) -> AsyncIterator[Clients]:
    made = Clients(prosody, tmp_path)
    yield made
    await made.close_all()


async def history(c: Client, peer: str) -> list[tuple[str, str]]:
    return [(v.direction, v.body) for v in await c.m.history(c.jid, peer, limit=500)]


async def test_two_accounts_exchange_messages_both_ways(clients: Clients) -> None:
    alice, bob = await clients.make("alice"), await clients.make("bob")
    for i in range(3):
        await alice.m.send_message(ALICE, BOB, f"a{i}", encrypt=False)
        await bob.m.send_message(BOB, ALICE, f"b{i}", encrypt=False)
    assert await bob.wait_bodies(ALICE, 3) == ["a0", "a1", "a2"]
    assert await alice.wait_bodies(BOB, 3) == ["b0", "b1", "b2"]
    got = bob.received(ALICE)[0].message
    assert got.encryption == "none" and got.direction == "in" and got.peer == ALICE
    await alice.until(lambda: len(_acked(alice)) == 3, what="three acks")
    mine = [b for d, b in await history(alice, BOB) if d == "out"]
    assert mine == ["a0", "a1", "a2"]
    assert [b for d, b in await history(bob, ALICE) if d == "in"] == ["a0", "a1", "a2"]


def _acked(c: Client) -> set[str]:
    """Outgoing messages the server took (a receipt may come before the server's ack)."""
    return {
        e.message_id for e in c.of(MessageStateChanged) if e.state in ("acked", "delivered", "read")
    }


async def test_carbons_reach_a_second_resource_of_the_same_account(clients: Clients) -> None:
    phone = await clients.make("alice", "alice-phone")
    laptop = await clients.make("alice", "alice-laptop")
    bob = await clients.make("bob")

    await bob.m.send_message(BOB, ALICE, "to all of alice", encrypt=False)
    assert await phone.wait_bodies(BOB, 1) == ["to all of alice"]
    assert await laptop.wait_bodies(BOB, 1) == ["to all of alice"]

    # Sent from the phone: the laptop gets a "sent" carbon and shows it as ours.
    await phone.m.send_message(ALICE, BOB, "from my phone", encrypt=False)
    assert await bob.wait_bodies(ALICE, 1) == ["from my phone"]
    await laptop.until(lambda: len(laptop.bodies(BOB)) == 2, what="the sent carbon")
    carbon = laptop.received(BOB)[1].message
    assert (carbon.body, carbon.direction, carbon.peer) == ("from my phone", "out", BOB)
    assert await history(laptop, BOB) == [("in", "to all of alice"), ("out", "from my phone")]
    assert await history(phone, BOB) == [("in", "to all of alice"), ("out", "from my phone")]


async def test_archive_catch_up_after_being_offline_is_paged_complete_and_ordered(
    clients: Clients, prosody: ProsodyServer
) -> None:
    alice, bob = await clients.make("alice"), await clients.make("bob")
    await alice.m.send_message(ALICE, BOB, "before", encrypt=False)
    await bob.wait_bodies(ALICE, 1)
    await clients.close(bob)

    texts = [f"offline {i:03}" for i in range(105)]  # more than one archive page (100)
    for text in texts:
        await alice.m.send_message(ALICE, BOB, text, encrypt=False)
    await alice.until(lambda: len(_acked(alice)) == 106, what="all acked")

    # Another resource of bob's takes everything from the offline store first, so the only
    # way back for the real client is the archive (XEP-0313).
    other = XmppClient(BOB, PASSWORD, server=prosody.address, ca_file=prosody.ca_file)
    await other.connect()
    taken = 0
    while taken < len(texts):
        item = await asyncio.wait_for(other.inbound.get(), 20)
        taken += getattr(item, "body", None) in texts
    await other.disconnect()

    # Catch-up interrupted after a few messages (the app is closed), then resumed.
    bob = await clients.make("bob")
    await bob.until(lambda: len(bob.bodies(ALICE)) >= 5, what="catch-up under way")
    await clients.close(bob)
    first = bob.bodies(ALICE)
    assert 5 <= len(first) < len(texts), "the catch-up was not interrupted"
    bob = await clients.make("bob")
    await bob.m.catch_up(BOB)

    async def complete() -> bool:
        return len(await history(bob, ALICE)) >= 1 + len(texts)

    await eventually(complete, what="the rest of the archive")
    assert [b for d, b in await history(bob, ALICE)] == ["before", *texts]  # once, in order
    # The events the user saw: in order, none twice (one may have been stored just as
    # the app closed, before its event went out; history shows it).
    seen = first + bob.bodies(ALICE)
    assert len(set(seen)) == len(seen) and seen == sorted(seen)

    # Reconnecting again fetches nothing twice (the cursor moved with every message).
    await clients.close(bob)
    bob = await clients.make("bob")
    await bob.m.catch_up(BOB)
    await alice.m.send_message(ALICE, BOB, "after", encrypt=False)
    assert await bob.wait_bodies(ALICE, 1) == ["after"]
    assert len(await history(bob, ALICE)) == 107


async def test_stream_resumes_after_a_socket_drop_and_nothing_is_lost_or_doubled(
    clients: Clients,
) -> None:
    alice, bob = await clients.make("alice"), await clients.make("bob")
    await alice.m.send_message(ALICE, BOB, "warm up", encrypt=False)
    await bob.wait_bodies(ALICE, 1)
    resumed = asyncio.Event()
    bob.acc.client._x.add_event_handler("session_resumed", lambda _: resumed.set())

    bob.acc.client.drop_socket()  # the TCP connection dies without a stream close
    await bob.wait_event(ConnectionStateChanged, lambda e: e.state == "disconnected")
    # Both sides keep writing while bob is away; bob's goes to his outbox.
    for i in range(3):
        await alice.m.send_message(ALICE, BOB, f"during {i}", encrypt=False)
        await bob.m.send_message(BOB, ALICE, f"from bob {i}", encrypt=False)
    await asyncio.wait_for(resumed.wait(), 30)
    for i in range(2):
        await alice.m.send_message(ALICE, BOB, f"after {i}", encrypt=False)

    expected = ["warm up", "during 0", "during 1", "during 2", "after 0", "after 1"]
    assert await bob.wait_bodies(ALICE, 6, timeout=30) == expected
    assert await alice.wait_bodies(BOB, 3, timeout=30) == ["from bob 0", "from bob 1", "from bob 2"]
    await bob.until(lambda: len(_acked(bob)) == 3, what="bob's outbox emptied")
    await alice.m.send_message(ALICE, BOB, "last", encrypt=False)
    await bob.wait_bodies(ALICE, 7)
    assert [b for d, b in await history(bob, ALICE) if d == "in"] == [*expected, "last"]
    assert [b for d, b in await history(alice, BOB) if d == "in"] == [
        "from bob 0",
        "from bob 1",
        "from bob 2",
    ]


async def test_server_restart_mid_conversation_loses_and_doubles_nothing(
    clients: Clients, prosody: ProsodyServer
) -> None:
    alice, bob = await clients.make("alice"), await clients.make("bob")
    for i in range(3):
        await alice.m.send_message(ALICE, BOB, f"a{i}", encrypt=False)
    # The server goes down while messages may still be in flight.
    await asyncio.to_thread(prosody.stop)
    await alice.wait_event(ConnectionStateChanged, lambda e: e.state == "disconnected")
    await bob.wait_event(ConnectionStateChanged, lambda e: e.state == "disconnected")
    # Written while the server is down: they wait in the outboxes.
    for i in range(3, 5):
        await alice.m.send_message(ALICE, BOB, f"a{i}", encrypt=False)
    await bob.m.send_message(BOB, ALICE, "b0", encrypt=False)
    states = {e.state for e in alice.of(MessageStateChanged)}
    assert "failed" not in states
    await asyncio.to_thread(prosody.start)

    await alice.m.send_message(ALICE, BOB, "a5", encrypt=False)
    expected = [f"a{i}" for i in range(6)]
    assert await bob.wait_bodies(ALICE, 6, timeout=45) == expected
    assert await alice.wait_bodies(BOB, 1, timeout=45) == ["b0"]
    await alice.until(lambda: len(_acked(alice)) == 6, timeout=30, what="alice's outbox emptied")
    await bob.until(lambda: len(_acked(bob)) == 1, timeout=30, what="bob's outbox emptied")
    await bob.m.catch_up(BOB)
    assert [b for d, b in await history(bob, ALICE) if d == "in"] == expected
    assert [b for d, b in await history(alice, BOB) if d == "out"] == expected
    assert [b for d, b in await history(alice, BOB) if d == "in"] == ["b0"]


async def test_roster_changes_and_subscription_answers_arrive_as_events(
    clients: Clients,
) -> None:
    alice, bob = await clients.make("alice"), await clients.make("bob")
    carol = await clients.make("carol")

    def contact(c: Client, jid: str) -> tuple[str, str] | None:
        for e in reversed(c.of(RosterChanged)):
            found = [(v.name, v.subscription) for v in e.contacts if v.jid == jid]
            return found[0] if found else None
        return None

    await alice.m.add_contact(ALICE, BOB, "Bobby")
    await alice.until(lambda: contact(alice, BOB) is not None, what="bob in the roster")
    assert contact(alice, BOB) == ("Bobby", "none")
    await bob.wait_event(SubscriptionRequested, lambda e: e.jid == ALICE)
    await bob.m.answer_subscription(BOB, ALICE, approve=True)
    await alice.until(lambda: contact(alice, BOB) == ("Bobby", "both"), what="mutual")
    assert {v.jid for v in alice.m.contacts(ALICE)} == {BOB}
    await alice.wait_event(PresenceChanged, lambda e: e.jid == BOB and e.available)
    await alice.until(lambda: alice.m.contacts(ALICE)[0].available, what="bob shown online")

    await alice.m.rename_contact(ALICE, BOB, "Robert")
    await alice.until(lambda: contact(alice, BOB) == ("Robert", "both"), what="renamed")

    await alice.m.remove_contact(ALICE, BOB)
    await alice.until(lambda: contact(alice, BOB) is None, what="removed")
    assert alice.m.contacts(ALICE) == []

    # Carol asks; alice says no: carol's contact stays without a subscription.
    await carol.m.add_contact("carol@localhost", ALICE)
    await alice.wait_event(SubscriptionRequested, lambda e: e.jid == "carol@localhost")
    await alice.m.answer_subscription(ALICE, "carol@localhost", approve=False)
    await carol.until(lambda: contact(carol, ALICE) is not None, what="alice in carol's roster")
    await asyncio.sleep(0.3)  # nothing to wait for: a refusal must not change carol's state
    await carol.m.send_message("carol@localhost", ALICE, "sync", encrypt=False)
    await alice.wait_bodies("carol@localhost", 1)
    assert [v.subscription for v in carol.m.contacts("carol@localhost")] == ["none"]


async def test_receipts_and_displayed_markers_move_the_delivery_state(clients: Clients) -> None:
    alice, bob = await clients.make("alice"), await clients.make("bob")
    sent = await alice.m.send_message(ALICE, BOB, "did you get this?", encrypt=False)

    def states() -> list[str]:
        return [e.state for e in alice.of(MessageStateChanged) if e.message_id == sent.id]

    await alice.until(lambda: "delivered" in states(), what="the receipt")
    (got,) = bob.received(ALICE)
    await bob.m.mark_displayed(BOB, ALICE, got.message.id)
    await alice.until(lambda: "read" in states(), what="the displayed marker")
    # A receipt may overtake the server's confirmation; the state never moves backwards.
    assert states()[-2:] == ["delivered", "read"]
    (view,) = await alice.m.history(ALICE, BOB)
    assert view.state == "read"


async def test_last_message_correction_replaces_the_text_everywhere(clients: Clients) -> None:
    alice, bob = await clients.make("alice"), await clients.make("bob")
    sent = await alice.m.send_message(ALICE, BOB, "helo")  # encrypted (omemo:2)
    await bob.wait_bodies(ALICE, 1)
    original_id = bob.received(ALICE)[0].message.id
    await alice.m.correct_last_message(ALICE, BOB, "hello")
    fixed = await bob.wait_event(MessageCorrected)
    assert (fixed.message_id, fixed.body, fixed.peer) == (original_id, "hello", ALICE)
    (view,) = await bob.m.history(BOB, ALICE)
    assert (view.body, view.edited, view.encryption) == ("hello", True, "omemo2")
    (mine,) = await alice.m.history(ALICE, BOB)
    assert (mine.id, mine.body, mine.edited) == (sent.id, "hello", True)


async def test_chat_states_are_shown_to_the_peer(clients: Clients) -> None:
    alice, bob = await clients.make("alice"), await clients.make("bob")
    for state in ("composing", "paused", "composing", "gone"):
        await alice.m.send_chat_state(ALICE, BOB, state)
    await bob.until(lambda: len(bob.of(ChatStateChanged)) >= 4, what="four chat states")
    assert [(e.peer, e.state) for e in bob.of(ChatStateChanged)] == [
        (ALICE, "composing"),
        (ALICE, "paused"),
        (ALICE, "composing"),
        (ALICE, "gone"),
    ]


async def test_connection_outcomes_are_readable(
    clients: Clients, prosody: ProsodyServer, tmp_path: Path
) -> None:
    jid = clients.register("dora")
    m = Messenger(
        data_dir=tmp_path / "dora",
        ca_file=prosody.ca_file,
        secrets=SecretStore(clients.keyring),
    )
    try:
        with pytest.raises(AuthenticationError, match="rejected the password"):
            await m.add_account(jid, "wrong", server=prosody.address)
        with pytest.raises(ConnectionFailed, match=r"Could not connect to 127\.0\.0\.1"):
            await m.add_account(jid, PASSWORD, server=f"127.0.0.1:{free_port()}")  # refused
        # An unknown host (.invalid never resolves; the lookup fails fast, not via DNS timeouts).
        with pytest.raises(ConnectionFailed, match=r"Could not connect to no-such-host\.invalid"):
            await m.add_account(jid, PASSWORD, server="no-such-host.invalid:5222")
        with pytest.raises(AccountError, match="already taken"):
            await m.add_account(jid, PASSWORD, server=prosody.address, register=True)
        # Direct TLS (XEP-0368 style port) works as well as STARTTLS.
        await m.add_account(jid, PASSWORD, server=f"tls://127.0.0.1:{prosody.direct_tls_port}")
        assert m.connection_state(jid) == "connected"
    finally:
        await m.close()
