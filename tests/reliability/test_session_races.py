"""Two first messages crossing on the wire (both sides start a session at once).

Each side builds a session from the other's key exchange, so the two ends' current sessions
differ; this used to make every later message fail its MAC, both ways, until someone reset
the session by hand. Previous sessions are now archived per device (as libsignal does) and
tried for decryption, so both ends keep reading each other.
"""

from __future__ import annotations

import asyncio
from typing import Any

from omemo_desktop.storage import Namespace, SessionRepository
from omemo_desktop.xmpp.stanzas import InboundMessage
from tests.reliability.support import MakePeer, Peer, exactly_once, stored_bodies


async def _cross_first_messages(alice: Peer, bob: Peer) -> None:
    """alice's and bob's first messages cross: each starts a session before reading the other's."""
    gate = asyncio.Event()
    handle = bob.acc._handle

    async def gated(item: Any) -> None:
        if isinstance(item, InboundMessage):
            await gate.wait()  # bob has not read alice's first message yet...
        await handle(item)

    bob.acc._handle = gated  # type: ignore[method-assign]
    await alice.m.send_message(alice.jid, bob.jid, "a1")
    await bob.m.send_message(bob.jid, alice.jid, "b1")  # ...when he starts his own session
    await alice.wait_bodies(["b1"])
    gate.set()
    await bob.wait_bodies(["a1"])


async def test_first_messages_crossing_on_the_wire_keep_both_sessions_usable(
    peers: MakePeer,
) -> None:
    alice, bob = await peers("alice"), await peers("bob")
    await _cross_first_messages(alice, bob)

    await alice.m.send_message(alice.jid, bob.jid, "a2")
    await bob.m.send_message(bob.jid, alice.jid, "b2")
    await bob.wait_bodies(["a2"], timeout=4)
    await alice.wait_bodies(["b2"], timeout=4)
    exactly_once(await stored_bodies(bob.acc, alice.jid), ["a1", "a2"])
    assert not bob.notices() and not alice.notices(), [*bob.failures(), *alice.failures()]


async def test_a_reset_forgets_the_archived_sessions_too(peers: MakePeer) -> None:
    alice, bob = await peers("alice"), await peers("bob")
    await _cross_first_messages(alice, bob)
    ns = Namespace.OMEMO2

    def archived(peer: Peer, other: Peer) -> Any:
        device = other.acc.device_id
        return peer.acc.db.run(lambda c: SessionRepository().archive(c, ns, other.jid, device))

    # settle: bob's answer to alice's key exchange reaches her before b2 does
    await alice.m.send_message(alice.jid, bob.jid, "a2")
    await bob.m.send_message(bob.jid, alice.jid, "b2")
    await bob.wait_bodies(["a2"])
    await alice.wait_bodies(["b2"])
    # each side replaced its own first session with the one from the other's key exchange
    assert len(await archived(alice, bob)) == 1
    assert len(await archived(bob, alice)) == 1
    await alice.acc.reset_session(bob.jid, bob.acc.device_id)
    assert await archived(alice, bob) == ()
    await alice.m.send_message(alice.jid, bob.jid, "after reset")
    await bob.wait_bodies(["after reset"])
    assert not bob.notices() and not alice.notices(), [*bob.failures(), *alice.failures()]
