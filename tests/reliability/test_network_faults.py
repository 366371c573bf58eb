"""The server SIGKILLed mid-burst, and the socket cut while the stream is being resumed:
every encrypted message arrives exactly once and both clients keep running."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from omemo_desktop.service.api import ConnectionStateChanged
from omemo_desktop.xmpp.errors import XmppTimeout
from tests.helpers.prosody import ProsodyServer
from tests.reliability.support import MakePeer, Peer, exactly_once, stored_bodies


async def _outbox_empty(peer: Peer, timeout: float = 60.0) -> None:
    async def loop() -> None:
        while await peer.acc.db.run(
            lambda c: c.execute("SELECT count(*) FROM outbox").fetchone()[0]
        ):
            await asyncio.sleep(0.1)

    try:
        await asyncio.wait_for(loop(), timeout)
    except TimeoutError:
        rows = await peer.acc.db.run(
            lambda c: c.execute(
                "SELECT message_id, state, attempts, last_error FROM outbox"
            ).fetchall()
        )
        raise AssertionError(f"{peer.jid}'s outbox is not empty: {rows}") from None


async def test_server_sigkilled_mid_burst_loses_and_doubles_no_encrypted_message(
    peers: MakePeer, prosody: ProsodyServer
) -> None:
    alice, bob = await peers("alice"), await peers("bob")
    await alice.m.send_message(alice.jid, bob.jid, "warm up")
    await bob.wait_bodies(["warm up"])

    to_bob = [f"a{i}" for i in range(30)]
    to_alice = [f"b{i}" for i in range(10)]
    # A burst in both directions; the server dies while it is on the wire.
    for i in range(20):
        await alice.m.send_message(alice.jid, bob.jid, to_bob[i])
        if i < 5:
            await bob.m.send_message(bob.jid, alice.jid, to_alice[i])
    await bob.wait_for(lambda: "a0" in bob.bodies())
    await asyncio.to_thread(prosody.kill)  # SIGKILL: no stream close, no flush
    for peer in (alice, bob):
        await peer.wait_for(
            lambda p=peer: any(
                isinstance(e, ConnectionStateChanged) and e.state == "disconnected"
                for e in p.events
            )
        )
    # Written while the server is dead: they wait in the outboxes.
    for i in range(20, 30):
        await alice.m.send_message(alice.jid, bob.jid, to_bob[i])
    for i in range(5, 10):
        await bob.m.send_message(bob.jid, alice.jid, to_alice[i])
    await asyncio.to_thread(prosody.start)

    await bob.wait_bodies(to_bob, timeout=60)
    await alice.wait_bodies(to_alice, timeout=60)
    await _outbox_empty(alice)
    await _outbox_empty(bob)
    # One more exchange proves the sessions survived whatever was resent.
    await alice.m.send_message(alice.jid, bob.jid, "after")
    await bob.wait_bodies(["after"])
    exactly_once(await stored_bodies(bob.acc, alice.jid), ["warm up", *to_bob, "after"])
    exactly_once(await stored_bodies(alice.acc, bob.jid), to_alice)
    assert sorted(bob.bodies()) == sorted(["warm up", *to_bob, "after"])  # events: once each
    assert not bob.notices() and not alice.notices()


async def test_socket_cut_during_stream_resumption(peers: MakePeer) -> None:
    alice, bob = await peers("alice"), await peers("bob")
    await alice.m.send_message(alice.jid, bob.jid, "warm up")
    await bob.wait_bodies(["warm up"])

    x = bob.acc.client._x
    cuts: list[str] = []
    resumed = asyncio.Event()
    x.add_event_handler("session_resumed", lambda _: resumed.set())

    def cut_on_resume(stanza: Any) -> Any:
        # The first <resume/> goes out, and the connection dies right behind it.
        if getattr(stanza, "name", "") == "resume" and not cuts:
            cuts.append("cut")
            asyncio.get_running_loop().call_later(0.05, bob.acc.client.drop_socket)
        return stanza

    x.add_filter("out", cut_on_resume)
    bob.acc.client.drop_socket()
    during = [f"during {i}" for i in range(5)]
    for text in during:
        await alice.m.send_message(alice.jid, bob.jid, text)
    await bob.m.send_message(bob.jid, alice.jid, "from bob while away")
    await bob.wait_for(lambda: bool(cuts), timeout=30)
    await bob.wait_bodies(during, timeout=60)
    after = [f"after {i}" for i in range(3)]
    for text in after:
        await alice.m.send_message(alice.jid, bob.jid, text)
    await bob.wait_bodies(after)
    await alice.wait_bodies(["from bob while away"])
    await _outbox_empty(bob)
    exactly_once(await stored_bodies(bob.acc, alice.jid), ["warm up", *during, *after])
    assert sorted(bob.bodies()) == sorted(["warm up", *during, *after])
    assert bob.m.connection_state(bob.jid) == "connected"
    print("resumed" if resumed.is_set() else "new session after the failed resumption")


async def test_message_lost_with_the_servers_memory_is_fetched_from_the_archive(
    peers: MakePeer, prosody: ProsodyServer
) -> None:
    """A message that only lived in the server's stream-management queue (alice's socket had
    died) is gone when the server is killed; the archive still has it. A newer message from
    offline storage arrives first when alice comes back and must not move her archive cursor
    past the lost one."""
    alice, bob = await peers("alice"), await peers("bob")
    await bob.m.send_message(bob.jid, alice.jid, "first")
    await alice.wait_bodies(["first"])

    alice.acc.client.drop_socket()
    await alice.m.close()  # the app is gone too; the server keeps the session hibernating
    await bob.m.send_message(bob.jid, alice.jid, "in the hibernated session")
    await _outbox_empty(bob)
    await asyncio.to_thread(prosody.kill)
    await asyncio.to_thread(prosody.start)
    await bob.m.send_message(bob.jid, alice.jid, "from offline storage")
    await _outbox_empty(bob)

    alice = await peers("alice")
    wanted = ["first", "in the hibernated session", "from offline storage"]
    await alice.wait_bodies(wanted[1:])
    exactly_once(await stored_bodies(alice.acc, bob.jid), wanted)


async def test_a_send_postponed_by_a_failed_key_lookup_is_retried_on_its_own(
    peers: MakePeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server does not answer the first device-list lookup in time: the message waits in
    the outbox (queued, retry in 10 s) and then goes out without any other event."""
    alice, bob = await peers("alice"), await peers("bob")
    acc = alice.acc
    real = acc.refresh_devices
    failures: list[str] = []

    async def slow_once(jid: str) -> None:
        if not failures:
            failures.append(jid)
            raise XmppTimeout("the server did not answer in time")
        await real(jid)

    monkeypatch.setattr(acc, "refresh_devices", slow_once)
    await alice.m.send_message(alice.jid, bob.jid, "eventually")
    await bob.wait_bodies(["eventually"], timeout=30)
    assert failures == [bob.jid]

    # The same, with the app restarted while the entry waits: the new instance wakes it up.
    failures.clear()
    acc._fetched.clear()
    await alice.m.send_message(alice.jid, bob.jid, "after a restart")

    def parked(conn: Any) -> bool:
        row = conn.execute("SELECT last_error FROM outbox").fetchone()
        return row is not None and row[0] is not None

    while not await acc.db.run(parked):
        await asyncio.sleep(0.05)
    await alice.m.close()
    alice = await peers("alice")
    await bob.wait_bodies(["after a restart"], timeout=30)
    exactly_once(await stored_bodies(bob.acc, alice.jid), ["eventually", "after a restart"])
