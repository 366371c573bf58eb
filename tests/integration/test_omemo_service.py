"""More of issue 7 against the real Prosody, in-process: TOFU and a changed key, the
key-exchange header repeated until answered, encrypted catch-up through the archive with
duplicates ignored silently, and a PEP node whose options disagree being reconfigured."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from omemo_desktop import paths
from omemo_desktop.service.api import DecryptionFailed, MessageReceived, TrustDecisionNeeded
from omemo_desktop.service.omemo_account import DEVICES, SESSIONS
from omemo_desktop.storage.model import Namespace
from omemo_desktop.xmpp import omemo_xml as ox
from omemo_desktop.xmpp import pep
from omemo_desktop.xmpp.client import XmppClient
from omemo_desktop.xmpp.errors import XmppStanzaError
from tests.helpers.inproc import PASSWORD, Client, Clients, eventually
from tests.helpers.prosody import ProsodyServer

ALICE, BOB, CAROL = "alice@localhost", "bob@localhost", "carol@localhost"


@pytest.fixture
async def clients(prosody: ProsodyServer, tmp_path: Path) -> AsyncIterator[Clients]:
    made = Clients(prosody, tmp_path)
    yield made
    await made.close_all()


def kex_flags(c: Client, to: str) -> list[bool]:
    """Per encrypted message with a payload sent to `to`: did it carry a key exchange?"""
    out = []
    for stanza in c.wire:
        for enc in stanza:
            if stanza.get("to") == to and enc.tag == f"{{{ox.NS2}}}encrypted":
                keys = [k for k in enc.iter(f"{{{ox.NS2}}}key")]
                if enc.find(f"{{{ox.NS2}}}payload") is not None:
                    out.append(any(k.get("kex") == "true" for k in keys))
    return out


async def test_tofu_trusts_the_first_keys_and_stops_for_a_changed_one(clients: Clients) -> None:
    alice = await clients.make("alice", policy="tofu")
    phone = await clients.make("bob", "bob-phone")
    await alice.m.add_contact(ALICE, BOB)  # device-list pushes reach alice
    await phone.m.add_contact(BOB, ALICE)
    await alice.until(lambda: [c.subscription for c in alice.m.contacts(ALICE)] == ["both"])

    await alice.m.send_message(ALICE, BOB, "first contact")
    assert await phone.wait_bodies(ALICE, 1) == ["first contact"]
    assert not alice.of(TrustDecisionNeeded)
    (device,) = await alice.m.devices(ALICE, BOB)
    assert device.trust == "trusted"  # on first use

    laptop = await clients.make("bob", "bob-laptop")  # a new key for bob

    async def alice_knows_the_laptop() -> bool:
        rows = await alice.acc.db.run(lambda c: DEVICES.for_jid(c, BOB, Namespace.OMEMO2))
        return laptop.acc.device_id in {d.device_id for d in rows}

    await eventually(alice_knows_the_laptop, what="the pushed device list")
    await alice.m.send_message(ALICE, BOB, "after the new key")
    need = await alice.wait_event(TrustDecisionNeeded)
    assert need.key_changed and [d.device_id for d in need.devices] == [laptop.acc.device_id]
    assert phone.bodies(ALICE) == ["first contact"]  # the send stopped for a review

    await alice.m.set_trust(ALICE, BOB, laptop.acc.device_id, "trusted")
    assert (await phone.wait_bodies(ALICE, 2))[-1] == "after the new key"
    assert await laptop.wait_bodies(ALICE, 1) == ["after the new key"]


async def test_key_exchange_repeats_until_answered_and_is_answered_with_an_empty_message(
    clients: Clients,
) -> None:
    alice = await clients.make("alice")
    carol = await clients.make("carol")
    carol_dev = carol.acc.device_id
    await clients.close(carol)  # carol cannot answer for a while
    alice.capture_wire()
    for text in ("k1", "k2"):
        await alice.m.send_message(ALICE, CAROL, text)

    async def sent(n: int) -> bool:
        return len(kex_flags(alice, CAROL)) >= n

    await eventually(lambda: sent(2), what="two messages written")
    assert kex_flags(alice, CAROL) == [True, True]  # the header goes on until answered

    async def session() -> bytes | None:
        s = await alice.acc.db.run(lambda c: SESSIONS.get(c, Namespace.OMEMO2, CAROL, carol_dev))
        return None if s is None else s.state

    before = await session()
    carol = await clients.make("carol")  # offline delivery; carol answers with an empty message
    assert await carol.wait_bodies(ALICE, 2) == ["k1", "k2"]

    async def answered() -> bool:
        return await session() != before

    await eventually(answered, what="carol's empty message")
    await alice.m.send_message(ALICE, CAROL, "k3")
    await eventually(lambda: sent(3), what="the third message written")
    assert kex_flags(alice, CAROL) == [True, True, False]
    assert (await carol.wait_bodies(ALICE, 3))[-1] == "k3"
    assert not carol.of(DecryptionFailed)


async def test_encrypted_catch_up_through_the_archive_ignores_duplicates_silently(
    clients: Clients, prosody: ProsodyServer, tmp_path: Path
) -> None:
    alice, bob = await clients.make("alice"), await clients.make("bob")
    await clients.close(bob)
    texts = ["sealed 1", "sealed 2", "sealed 3"]
    for text in texts:
        await alice.m.send_message(ALICE, BOB, text)
    # Another resource takes them from the offline store: the archive is the only way back.
    other = XmppClient(BOB, PASSWORD, server=prosody.address, ca_file=prosody.ca_file)
    await other.connect()
    taken = 0
    while taken < len(texts):
        item = await asyncio.wait_for(other.inbound.get(), 40)
        taken += getattr(item, "encrypted", None) is not None
    await other.disconnect()

    bob = await clients.make("bob")
    await bob.m.catch_up(BOB)
    assert await bob.wait_bodies(ALICE, 3, timeout=40) == texts
    assert {e.message.encryption for e in bob.received(ALICE)} == {"omemo2"}
    await clients.close(bob)

    # Forget where the archive was read up to: the next catch-up sees everything again.
    db = paths.account_dir(tmp_path / "bob", BOB) / "messages.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM archive_cursors")
        conn.execute("UPDATE messages SET stanza_id = NULL")
    conn.close()
    bob = await clients.make("bob")
    await bob.m.catch_up(BOB)
    await alice.m.send_message(ALICE, BOB, "live")
    assert await bob.wait_bodies(ALICE, 1, timeout=40) == ["live"]  # seen again, shown once
    assert not bob.of(DecryptionFailed)
    assert not [e for e in bob.of(MessageReceived) if e.message.notice]
    assert [v.body for v in await bob.m.history(BOB, ALICE)] == [*texts, "live"]


async def test_a_node_with_other_options_is_reconfigured_and_published(
    clients: Clients, prosody: ProsodyServer
) -> None:
    # Eve's device list node already exists with whitelist access (another client made it).
    eve = clients.register("eve")
    raw = XmppClient(eve, PASSWORD, server=prosody.address, ca_file=prosody.ca_file)
    await raw.connect()
    old = ox.build_device_list(ox.NS2, [ox.DeviceEntry(4242)])
    await pep.publish(raw, ox.NODE2_DEVICES, "current", old, {"pubsub#access_model": "whitelist"})
    await raw.disconnect()

    alice = await clients.make("alice")
    with pytest.raises(XmppStanzaError) as refused:  # strangers may not read it yet
        await pep.fetch(alice.acc.client, eve, ox.NODE2_DEVICES)
    assert refused.value.condition in ("forbidden", "not-authorized")

    eve_client = await clients.make("eve")  # publishes with access_model=open
    items = await pep.fetch(alice.acc.client, eve, ox.NODE2_DEVICES)
    listed = {d.id for d in ox.parse_device_list(ox.NS2, items[-1])}
    assert listed == {4242, eve_client.acc.device_id}
    await alice.m.send_message(ALICE, eve, "can you read this?")
    assert await eve_client.wait_bodies(ALICE, 1) == ["can you read this?"]


def empties(c: Client, to: str) -> int:
    """Encrypted messages without a payload (session completion, heartbeat) sent to `to`."""
    return sum(
        1
        for stanza in c.wire
        for enc in stanza
        if stanza.get("to") == to
        and enc.tag == f"{{{ox.NS2}}}encrypted"
        and enc.find(f"{{{ox.NS2}}}payload") is None
    )


async def test_a_silent_receiver_answers_with_an_empty_heartbeat(clients: Clients) -> None:
    alice, bob = await clients.make("alice"), await clients.make("bob")
    alice.capture_wire()
    for i in range(10):
        await bob.m.send_message(BOB, ALICE, f"m{i}")
    await alice.wait_bodies(BOB, 10)
    assert empties(alice, BOB) == 1  # the session completion, nothing else yet
    # Bob's new chain starts within those ten; 53 messages on one chain without an answer
    # call for a heartbeat (XEP-0384), which keeps the ratchet moving.
    for i in range(10, 75):
        await bob.m.send_message(BOB, ALICE, f"m{i}")
    assert len(await alice.wait_bodies(BOB, 75)) == 75
    await alice.until(lambda: empties(alice, BOB) == 2, what="the heartbeat")
    await bob.m.send_message(BOB, ALICE, "after the heartbeat")
    await alice.wait_bodies(BOB, 76)
    assert empties(alice, BOB) == 2 and not bob.of(DecryptionFailed)


async def test_resetting_a_contact_repairs_the_sessions_with_all_their_devices(
    clients: Clients,
) -> None:
    alice = await clients.make("alice")
    phone = await clients.make("bob", "bob-phone")
    laptop = await clients.make("bob", "bob-laptop")
    await phone.m.send_message(BOB, ALICE, "from the phone")
    await laptop.m.send_message(BOB, ALICE, "from the laptop")
    await alice.wait_bodies(BOB, 2)

    # Alice loses every session with bob: both devices' next messages fail for her.
    await alice.acc.db.transaction(
        lambda c: c.execute("DELETE FROM sessions WHERE jid = ?", (BOB,))
    )
    await phone.m.send_message(BOB, ALICE, "lost 1")
    await laptop.m.send_message(BOB, ALICE, "lost 2")
    await alice.until(lambda: len(alice.of(DecryptionFailed)) == 2, what="two failures")

    async def bob_session(d: Client) -> bytes | None:
        got = await d.acc.db.run(
            lambda c: SESSIONS.get(c, Namespace.OMEMO2, ALICE, alice.acc.device_id)
        )
        return None if got is None else got.state

    before = {d.jid + str(d.acc.device_id): await bob_session(d) for d in (phone, laptop)}
    reset = await alice.m.reset_sessions(ALICE, BOB)
    assert sorted(reset) == sorted([phone.acc.device_id, laptop.acc.device_id])
    for d in (phone, laptop):  # each device took alice's new key exchange

        async def renewed(d: Client = d) -> bool:
            return await bob_session(d) != before[d.jid + str(d.acc.device_id)]

        await eventually(renewed, what="the new session")
    await phone.m.send_message(BOB, ALICE, "repaired phone")
    await laptop.m.send_message(BOB, ALICE, "repaired laptop")
    await alice.until(lambda: len(alice.bodies(BOB)) == 4, what="both repaired")
    assert sorted(alice.bodies(BOB)[2:]) == ["repaired laptop", "repaired phone"]
    assert len(alice.of(DecryptionFailed)) == 2
