"""Issue 7 against the real Prosody: our client with our client in both namespaces, with a
slixmpp-omemo (oldmemo) bot and with a twomemo (omemo:2) peer, both directions; a removed
device stops getting keys; a broken session repaired by a reset; a received opt-out."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from omemo_desktop.service.account import Account
from omemo_desktop.service.accounts import AccountConfig
from omemo_desktop.service.api import (
    DecryptionFailed,
    MessageReceived,
    MessageStateChanged,
    OptOutReceived,
    TrustDecisionNeeded,
)
from omemo_desktop.service.messenger import Messenger
from omemo_desktop.service.omemo_account import DEVICES, SESSIONS, OmemoAccount
from omemo_desktop.service.omemo_backends import BACKENDS, Backend
from omemo_desktop.storage import Database
from omemo_desktop.storage.model import Namespace
from omemo_desktop.xmpp import omemo_xml as ox
from omemo_desktop.xmpp import pep
from omemo_desktop.xmpp.client import XmppClient
from omemo_desktop.xmpp.omemo_xml import NS2, NS_LEGACY
from tests.helpers.inproc import PASSWORD, Client, Clients, eventually
from tests.helpers.omemo_bot import OmemoBot
from tests.helpers.omemo_peer import NAMESPACES, ReferencePeer
from tests.helpers.prosody import ProsodyServer

ALICE, BOB, CAROL = "alice@localhost", "bob@localhost", "carol@localhost"


@pytest.fixture
async def clients(prosody: ProsodyServer, tmp_path: Path) -> AsyncIterator[Clients]:
    made = Clients(prosody, tmp_path)
    yield made
    await made.close_all()


@pytest.fixture
async def peers(clients: Clients) -> AsyncIterator[list[ReferencePeer]]:
    made: list[ReferencePeer] = []
    yield made
    for p in made:
        await p.close()


async def make_peer(
    clients: Clients, peers: list[ReferencePeer], user: str, version: str
) -> ReferencePeer:
    jid = clients.register(user)
    peer = ReferencePeer(jid, PASSWORD, clients.prosody.address, clients.prosody.ca_file, version)
    peers.append(peer)
    await peer.start()
    return peer


@pytest.mark.parametrize("version", ["legacy", "omemo2"])
async def test_reference_peer_both_directions(
    clients: Clients, peers: list[ReferencePeer], version: str
) -> None:
    alice = await clients.make("alice")
    peer = await make_peer(clients, peers, "bot", version)
    alice.capture_wire()
    await alice.m.send_message(ALICE, peer.jid, "hello reference")
    got = await peer.next()
    assert (got.sender, got.body, got.device) == (ALICE, "hello reference", alice.acc.device_id)
    await peer.send(ALICE, "hello ours")
    await alice.wait_bodies(peer.jid, 1)
    view = alice.received(peer.jid)[0].message
    assert (view.body, view.encryption, view.sender_device) == (
        "hello ours",
        version,
        await peer.device_id(),
    )
    for i in range(3):
        await alice.m.send_message(ALICE, peer.jid, f"ours {i}")
        assert (await peer.next()).body == f"ours {i}"
        await peer.send(ALICE, f"theirs {i}")
    assert await alice.wait_bodies(peer.jid, 4) == [
        "hello ours",
        "theirs 0",
        "theirs 1",
        "theirs 2",
    ]
    assert set(wire_namespaces(alice)) == {NAMESPACES[version]}  # what went on the wire
    first = next(st for st in alice.wire if st.get("to") == peer.jid)
    tags = {child.tag for child in first}
    assert "{urn:xmpp:eme:0}encryption" in tags and "{urn:xmpp:hints}store" in tags
    fallback = first.find("{jabber:client}body")
    assert fallback is not None and "encrypted" in (fallback.text or "")
    assert not peer.errors


@pytest.mark.parametrize("version", ["legacy", "omemo2"])
async def test_reference_peer_starting_the_session_uses_up_one_of_our_pre_keys(
    clients: Clients, peers: list[ReferencePeer], version: str
) -> None:
    alice = await clients.make("alice")
    peer = await make_peer(clients, peers, "bot", version)
    backend = next(b for b in BACKENDS.values() if str(b.namespace) == NAMESPACES[version])
    node, item = backend.bundle_node(alice.acc.device_id), backend.bundle_item(alice.acc.device_id)

    async def published_pre_keys() -> set[int]:
        (bundle,) = await pep.fetch(alice.acc.client, ALICE, node, item)
        return set(ox.parse_bundle(NAMESPACES[version], bundle).prekeys)

    before = await published_pre_keys()
    await peer.send(ALICE, "i start")  # a key exchange on one of alice's published pre-keys
    assert await alice.wait_bodies(peer.jid, 1) == ["i start"]

    async def republished() -> bool:
        return await published_pre_keys() != before

    await eventually(republished, what="the bundle republished")
    after = await published_pre_keys()
    assert len(before - after) == 1 and after <= before  # the used one is gone for good
    # Alice answers on the session the peer built; both keep going.
    await alice.m.send_message(ALICE, peer.jid, "answer")
    assert (await peer.next()).body == "answer"
    await peer.send(ALICE, "again")
    assert await alice.wait_bodies(peer.jid, 2) == ["i start", "again"]
    assert not peer.errors


def wire_namespaces(c: Client) -> list[str]:
    """The OMEMO namespace of every encrypted <message/> the client wrote."""
    out = []
    for stanza in c.wire:
        for child in stanza:
            if child.tag.endswith("}encrypted"):
                out.append(child.tag[1:].split("}")[0])
    return out


def wire_key_ids(c: Client) -> list[set[int]]:
    """Per encrypted message with a payload: the device ids that got key material."""
    out = []
    for stanza in c.wire:
        for enc in stanza:
            if enc.tag.endswith("}encrypted") and enc.find(f"{enc.tag[:-9]}payload") is not None:
                out.append({int(k.get("rid", "0")) for k in enc.iter() if k.tag.endswith("}key")})
    return out


class LegacyOnlyAccount(OmemoAccount):
    """Our client as a legacy-only peer would be: it announces and speaks legacy only."""

    async def _announce(self, ns: Namespace, listed: list[Any] | None = None) -> None:
        if ns == Namespace.LEGACY:
            await super()._announce(ns, listed)

    async def _publish_bundle(self, ns: Namespace) -> None:
        if ns == Namespace.LEGACY:
            await super()._publish_bundle(ns)

    async def _choose_backend_for(self, people: list[str]) -> Backend | None:
        return BACKENDS[Namespace.LEGACY]


class LegacyOnlyMessenger(Messenger):
    def make_account(self, config: AccountConfig, client: XmppClient, db: Database) -> Account:
        return LegacyOnlyAccount(config, client, db, self.events, clock=self._clock)


async def test_our_clients_talk_in_both_namespaces(clients: Clients) -> None:
    alice = await clients.make("alice")
    bob = await clients.make("bob", messenger=LegacyOnlyMessenger)
    carol = await clients.make("carol")
    alice.capture_wire()

    # With a peer that announces only the legacy namespace, legacy it is, both ways.
    await alice.m.send_message(ALICE, BOB, "legacy out")
    await bob.wait_bodies(ALICE, 1)
    await bob.m.send_message(BOB, ALICE, "legacy back")
    await alice.wait_bodies(BOB, 1)
    assert [(v.message.body, v.message.encryption) for v in bob.received(ALICE)] == [
        ("legacy out", "legacy")
    ]
    assert [(v.message.body, v.message.encryption) for v in alice.received(BOB)] == [
        ("legacy back", "legacy")
    ]
    # With a peer that announces both, omemo:2.
    await alice.m.send_message(ALICE, CAROL, "omemo2 out")
    await carol.wait_bodies(ALICE, 1)
    await carol.m.send_message(CAROL, ALICE, "omemo2 back")
    await alice.wait_bodies(CAROL, 1)
    assert carol.received(ALICE)[0].message.encryption == "omemo2"
    assert alice.received(CAROL)[0].message.encryption == "omemo2"
    assert wire_namespaces(alice) == [NS_LEGACY, NS2]
    # Sessions keep working in both after the first exchange.
    await alice.m.send_message(ALICE, BOB, "legacy again")
    await alice.m.send_message(ALICE, CAROL, "omemo2 again")
    assert (await bob.wait_bodies(ALICE, 2))[-1] == "legacy again"
    assert (await carol.wait_bodies(ALICE, 2))[-1] == "omemo2 again"


async def test_removed_device_stops_receiving_keys(clients: Clients) -> None:
    alice = await clients.make("alice")
    phone = await clients.make("bob", "bob-phone")
    laptop = await clients.make("bob", "bob-laptop")
    await alice.m.add_contact(ALICE, BOB)  # PEP pushes of bob's device list reach alice
    await phone.m.add_contact(BOB, ALICE)
    await alice.until(
        lambda: [c.subscription for c in alice.m.contacts(ALICE)] == ["both"], what="mutual"
    )
    alice.capture_wire()
    phone_id, laptop_id = phone.acc.device_id, laptop.acc.device_id

    await alice.m.send_message(ALICE, BOB, "to both devices")
    await phone.wait_bodies(ALICE, 1)
    await laptop.wait_bodies(ALICE, 1)
    assert wire_key_ids(alice) == [{phone_id, laptop_id}]

    await clients.close(laptop)  # the laptop is gone for good; the phone removes it
    await phone.m.remove_device(BOB, laptop_id)

    async def laptop_inactive() -> bool:
        rows = await alice.acc.db.run(
            lambda c: DEVICES.for_jid(c, BOB, Namespace.OMEMO2, active_only=True)
        )
        return {d.device_id for d in rows} == {phone_id}

    await eventually(laptop_inactive)  # the device-list push arrived
    await alice.m.send_message(ALICE, BOB, "only the phone")
    assert (await phone.wait_bodies(ALICE, 2))[-1] == "only the phone"
    assert wire_key_ids(alice)[-1] == {phone_id}
    views = {v.device_id: v for v in await alice.m.devices(ALICE, BOB)}
    assert views[phone_id].active and not views[laptop_id].active


async def test_broken_session_is_repaired_by_a_reset(clients: Clients) -> None:
    alice, bob = await clients.make("alice"), await clients.make("bob")
    await alice.m.send_message(ALICE, BOB, "one")
    await bob.wait_bodies(ALICE, 1)
    await bob.m.send_message(BOB, ALICE, "two")
    await alice.wait_bodies(BOB, 1)

    # Bob loses his session with alice's device (a restored backup, a bug, a wiped disk).
    alice_dev = alice.acc.device_id
    await bob.acc.db.transaction(lambda c: SESSIONS.delete(c, Namespace.OMEMO2, ALICE, alice_dev))
    await alice.m.send_message(ALICE, BOB, "three")
    failed = await bob.wait_event(DecryptionFailed)
    assert (failed.peer, failed.device_id) == (ALICE, alice_dev)
    await bob.until(lambda: any(e.message.notice for e in bob.of(MessageReceived)), what="notice")
    notice = next(e.message for e in bob.of(MessageReceived) if e.message.notice)
    assert "reset the session" in notice.body and notice.peer == ALICE

    bob_dev = bob.acc.device_id

    async def alice_session() -> bytes | None:
        got = await alice.acc.db.run(lambda c: SESSIONS.get(c, Namespace.OMEMO2, BOB, bob_dev))
        return None if got is None else got.state

    before = await alice_session()
    await bob.m.reset_session(BOB, ALICE, alice_dev)

    async def alice_took_the_new_session() -> bool:
        return await alice_session() != before

    await eventually(alice_took_the_new_session)  # bob's empty key exchange arrived
    await alice.m.send_message(ALICE, BOB, "four")
    assert await bob.wait_bodies(ALICE, 2) == ["one", "four"]
    await bob.m.send_message(BOB, ALICE, "five")
    assert await alice.wait_bodies(BOB, 2) == ["two", "five"]
    assert not [e for e in alice.of(DecryptionFailed)]


async def test_received_opt_out_blocks_sending_until_plaintext_is_confirmed(
    clients: Clients, peers: list[ReferencePeer]
) -> None:
    alice = await clients.make("alice")
    peer = await make_peer(clients, peers, "optout", "omemo2")
    await alice.m.send_message(ALICE, peer.jid, "encrypted hello")
    assert (await peer.next()).body == "encrypted hello"
    alice.capture_wire()

    opt_out = ET.Element(f"{{{NS2}}}opt-out")
    ET.SubElement(opt_out, f"{{{NS2}}}reason").text = "my other client has no OMEMO"
    await peer.send(ALICE, None, content=[opt_out])
    event = await alice.wait_event(OptOutReceived)
    assert (event.peer, event.reason) == (peer.jid, "my other client has no OMEMO")
    await alice.until(lambda: any(e.message.notice for e in alice.of(MessageReceived)))
    notice = next(e.message for e in alice.of(MessageReceived) if e.message.notice)
    assert "without encryption" in notice.body and notice.peer == peer.jid
    await clients.close(alice)  # the opt-out holds across a restart
    alice = await clients.make("alice")
    alice.capture_wire()

    # Neither an encrypted nor an explicitly plain message leaves until the user confirms.
    first = await alice.m.send_message(ALICE, peer.jid, "are you sure?")
    second = await alice.m.send_message(ALICE, peer.jid, "plain, really?", encrypt=False)
    await alice.m.send_message(ALICE, "nobody@localhost", "sync", encrypt=False)
    await alice.until(lambda: any(s.get("to") == "nobody@localhost" for s in alice.wire))
    assert not [s for s in alice.wire if s.get("to") == peer.jid and _has_body(s)]
    assert {v.state for v in await alice.m.history(ALICE, peer.jid) if v.direction == "out"} == {
        "acked",
        "pending",
    }

    await alice.m.confirm_plaintext(ALICE, peer.jid)
    got = [await asyncio.wait_for(peer.plain.get(), 20) for _ in range(2)]
    assert got == ["are you sure?", "plain, really?"]
    views = {v.id: v for v in await alice.m.history(ALICE, peer.jid)}
    assert views[first.id].encryption == "none" and views[second.id].encryption == "none"

    # Back on OMEMO: their next encrypted message lifts the opt-out.
    await peer.send(ALICE, "omemo again")
    await alice.wait_bodies(peer.jid, 1)
    await alice.m.send_message(ALICE, peer.jid, "encrypted again")
    assert (await peer.next()).body == "encrypted again"
    assert peer.plain.empty() and not peer.errors


def _has_body(stanza: ET.Element) -> bool:
    return any(child.tag.endswith("}body") for child in stanza)


async def test_untrusted_devices_never_get_key_material_on_the_wire(clients: Clients) -> None:
    alice = await clients.make("alice", policy="manual")
    phone = await clients.make("bob", "bob-phone")
    laptop = await clients.make("bob", "bob-laptop")
    phone_id, laptop_id = phone.acc.device_id, laptop.acc.device_id
    alice.capture_wire()

    await alice.m.send_message(ALICE, BOB, "for trusted eyes only")
    need = await alice.wait_event(TrustDecisionNeeded)
    assert {d.device_id for d in need.devices} == {phone_id, laptop_id}
    await alice.m.set_trust(ALICE, BOB, phone_id, "trusted")
    assert wire_key_ids(alice) == []  # one device still undecided: nothing left at all
    await alice.m.set_trust(ALICE, BOB, laptop_id, "distrusted")
    assert await phone.wait_bodies(ALICE, 1) == ["for trusted eyes only"]
    assert wire_key_ids(alice) == [{phone_id}]
    (view,) = await alice.m.history(ALICE, BOB)
    assert view.encrypted_for == (phone_id,)  # the record the GUI shows
    failed = await laptop.wait_event(DecryptionFailed)
    assert "not encrypted for this device" in failed.reason
    assert laptop.bodies(ALICE) == []


async def test_a_live_device_dropped_from_the_list_announces_itself_again(
    clients: Clients,
) -> None:
    phone = await clients.make("bob", "bob-phone")
    laptop = await clients.make("bob", "bob-laptop")
    laptop_id = laptop.acc.device_id
    await phone.m.remove_device(BOB, laptop_id)  # e.g. another client pruned it by mistake

    async def listed_again() -> bool:
        got = await phone.acc._fetch_device_list(BACKENDS[Namespace.OMEMO2], BOB)
        return laptop_id in {d.id for d in got}

    await eventually(listed_again)  # the laptop saw the push without its id


async def test_disabling_omemo_removes_our_device_and_bundles_for_good(clients: Clients) -> None:
    bob = await clients.make("bob")
    other = await clients.make("bob", "bob-other")  # sees the lists like anyone else

    async def both_listed() -> bool:
        for backend in BACKENDS.values():
            listed = {d.id for d in await other.acc._fetch_device_list(backend, BOB)}
            if not {bob.acc.device_id, other.acc.device_id} <= listed:
                return False
        return True

    await eventually(both_listed)  # the other's first announce is done (no stale rewrite)
    await bob.acc.disable_omemo()

    async def gone() -> bool:
        for backend in BACKENDS.values():
            listed = await other.acc._fetch_device_list(backend, BOB)
            if bob.acc.device_id in {d.id for d in listed}:
                return False
        return True

    await eventually(gone)
    # The push of our own shortened list must not make us announce ourselves again.
    await other.m.send_message("bob@localhost", ALICE, "sync", encrypt=False)
    await other.until(lambda: bool(other.of(MessageStateChanged)), what="a round trip")
    await asyncio.sleep(0.5)  # a re-announce would follow the push at once; give it room
    assert await gone()
    for backend in BACKENDS.values():  # and the bundles are gone
        dev = bob.acc.device_id
        node, item = backend.bundle_node(dev), backend.bundle_item(dev)
        assert await pep.fetch(other.acc.client, BOB, node, item) == []


async def test_stock_slixmpp_omemo_bot_one_to_one_both_directions(
    clients: Clients, prosody: ProsodyServer
) -> None:
    """The unmodified slixmpp-omemo plugin (its omemo:2 list withdrawn: it cannot read SCE)."""
    alice = await clients.make("alice")
    jid = clients.register("stockbot")
    bot = OmemoBot(jid, PASSWORD, str(prosody.ca_file))
    host, port = prosody.address.rsplit(":", 1)
    try:
        await bot.start((host, int(port)))
        await alice.m.send_message(ALICE, jid, "hi stock bot")
        assert await asyncio.wait_for(bot.inbox.get(), 20) == (ALICE, "hi stock bot")
        await bot.send_encrypted(ALICE, "hi from the stock bot")
        assert await alice.wait_bodies(jid, 1) == ["hi from the stock bot"]
        assert alice.received(jid)[0].message.encryption == "legacy"
        await alice.m.send_message(ALICE, jid, "and back")
        assert await asyncio.wait_for(bot.inbox.get(), 20) == (ALICE, "and back")
    finally:
        await bot.stop()
