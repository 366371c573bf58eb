"""Hostile peers over the real Prosody: every bad stanza is refused with a visible notice
(a stored notice message and a DecryptionFailed event), the victim's ratchet sessions and
pre-keys stay byte-for-byte the same, and the conversation goes on with nothing lost.

The attackers are a second in-process client (alice, who has a real session with the victim
and crafts stanzas with it) and a bare XmppClient (mallory) that publishes keys by hand.
Each injection is followed by a plaintext marker on the same stream; the victim's inbound
pipeline is ordered, so once the marker is stored the hostile stanza has been processed.
"""

from __future__ import annotations

import base64
import logging
import os
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from omemo_desktop.omemo.keys import IdentityKeyPair
from omemo_desktop.omemo.twomemo import engine as two
from omemo_desktop.omemo.twomemo import labels, wire
from omemo_desktop.service.events import MessageStateChanged
from omemo_desktop.service.omemo_account import SESSIONS, OmemoAccount
from omemo_desktop.service.omemo_backends import BACKENDS
from omemo_desktop.storage.devices import DeviceRepository
from omemo_desktop.storage.model import Namespace
from omemo_desktop.xmpp import omemo_xml as ox
from omemo_desktop.xmpp import pep
from omemo_desktop.xmpp.client import XmppClient
from omemo_desktop.xmpp.stanzas import OutboundMessage, build_message
from tests.helpers.prosody import ProsodyServer
from tests.reliability.support import (
    PASSWORD,
    MakePeer,
    Peer,
    exactly_once,
    session_state,
    stored_bodies,
)

TWO = BACKENDS[Namespace.OMEMO2]
ROOM = "secret-room@conference.localhost"
DEVICES = DeviceRepository()


def _message(to: str, *, body: str | None = None, extra: tuple[ET.Element, ...] = ()) -> ET.Element:
    oid = uuid.uuid4().hex
    return build_message(OutboundMessage(to=to, id=oid, body=body, origin_id=oid, extra=extra))


async def _craft(
    alice: OmemoAccount,
    bob: Peer,
    body: str = "crafted",
    *,
    to: str | None = None,
    plaintext: bytes | None = None,
    skip: int = 0,
    key_data: Callable[[bytes], bytes] | None = None,
    payload: bytes | None = None,
) -> tuple[ET.Element, bytes]:
    """An omemo:2 <encrypted/> from alice's real session with bob, bent as asked.

    Returns the element and alice's session after it (not saved: alice's next real message
    reuses the counter, so a refused stanza costs nothing)."""
    bob_dev = bob.acc.device_id
    stored = await alice.db.run(lambda c: SESSIONS.get(c, Namespace.OMEMO2, bob.jid, bob_dev))
    assert stored is not None, "alice has no session with bob"
    session = TWO.load_session(stored.state)
    if plaintext is not None:
        ct, km = two.encrypt_payload(plaintext, os.urandom)
    else:
        sealed = TWO.seal(
            body, os.urandom, sender=alice.jid, recipient=to or bob.jid, now=int(time.time())
        )
        ct, km = sealed.payload or b"", sealed.key_material
    for _ in range(skip):  # messages that "got lost" on the way
        session, _ = TWO.encrypt_key(session, km, os.urandom)
    session, key = TWO.encrypt_key(session, km, os.urandom)
    data = key_data(key.data) if key_data else key.data
    element = ox.build_encrypted(
        ox.EncryptedXml(
            ox.NS2,
            alice.device_id,
            (ox.KeyXml(bob.jid, bob_dev, key.kex, data),),
            ct if payload is None else payload,
        )
    )
    return element, TWO.dump_session(session)


def _flip_mac(data: bytes) -> bytes:
    msg = wire.parse_authenticated(data)
    mac = bytes([msg.mac[0] ^ 0x01]) + msg.mac[1:]
    return wire.encode_authenticated(mac, msg.message)


class Injector:
    """Sends hostile stanzas to bob, then a marker, and checks what bob made of them."""

    def __init__(self, bob: Peer) -> None:
        self.bob = bob
        self.count = 0

    async def __call__(
        self, client: XmppClient, *stanzas: ET.Element, notices: int = 1
    ) -> list[str]:
        bob = self.bob
        before = await session_state(bob.acc)
        seen_notices, seen_failures = len(bob.notices()), len(bob.failures())
        self.count += 1
        marker = f"marker {self.count} from {client.bare_jid}"
        for stanza in stanzas:
            client.send(stanza)
        client.send(_message(bob.jid, body=marker))
        await bob.wait_bodies([marker])
        new = [n.message.body for n in bob.notices()[seen_notices:]]
        reasons = [f.reason for f in bob.failures()[seen_failures:]]
        assert len(new) == notices, f"expected {notices} notice(s), got {new}"
        assert len(reasons) == notices
        assert await session_state(bob.acc) == before, "a refused stanza changed bob's state"
        return reasons


@pytest.fixture
async def mallory(prosody: ProsodyServer) -> AsyncIterator[XmppClient]:
    prosody.register("mallory", PASSWORD)
    client = XmppClient(
        "mallory@localhost", PASSWORD, server=prosody.address, ca_file=prosody.ca_file
    )
    await client.connect()
    yield client
    await client.disconnect()


async def _established(peers: MakePeer) -> tuple[Peer, Peer]:
    alice, bob = await peers("alice"), await peers("bob")
    await alice.m.send_message(alice.jid, bob.jid, "hello bob")
    await bob.wait_bodies(["hello bob"])
    await bob.m.send_message(bob.jid, alice.jid, "hello alice")
    await alice.wait_bodies(["hello alice"])
    return alice, bob


async def test_bad_payloads_are_refused_with_a_notice_and_leave_sessions_alone(
    peers: MakePeer, mallory: XmppClient
) -> None:
    alice, bob = await _established(peers)
    inject = Injector(bob)
    a = alice.acc
    send = a.client

    def enc(inner: str) -> ET.Element:
        return ET.fromstring(f"<encrypted xmlns='{ox.NS2}'>{inner}</encrypted>")

    sid = a.device_id
    rid = bob.acc.device_id

    # Malformed XML inside <encrypted>: no header, a sid that is no number, a key with no rid.
    for bad in (
        enc("<payload>AAAA</payload>"),
        enc("<header sid='twelve'/>"),
        enc(f"<header sid='{sid}'><keys jid='{bob.jid}'><key>AAAA</key></keys></header>"),
    ):
        (reason,) = await inject(send, _message(bob.jid, extra=(bad,)))
        assert "malformed" in reason

    # Bad base64 in the key and in the payload.
    for bad in (
        enc(
            f"<header sid='{sid}'><keys jid='{bob.jid}'><key rid='{rid}'>!!no*base64</key>"
            "</keys></header>"
        ),
        enc(
            f"<header sid='{sid}'><keys jid='{bob.jid}'><key rid='{rid}'>AAAA</key></keys>"
            "</header><payload>%%%</payload>"
        ),
    ):
        (reason,) = await inject(send, _message(bob.jid, extra=(bad,)))
        assert "base64" in reason

    # Bad protobuf: valid base64 of bytes that are no OMEMOAuthenticatedMessage.
    junk = base64.b64encode(b"\xff\xfe\x00garbage\x07" * 3).decode()
    bad = enc(
        f"<header sid='{sid}'><keys jid='{bob.jid}'><key rid='{rid}'>{junk}</key></keys>"
        "</header><payload>AAAA</payload>"
    )
    await inject(send, _message(bob.jid, extra=(bad,)))

    # A wrong MAC on the ratchet message.
    element, _ = await _craft(a, bob, "mac", key_data=_flip_mac)
    await inject(send, _message(bob.jid, extra=(element,)))

    # The key opens, but the payload does not: 150 KB of noise (under the 256 KiB limit).
    element, _ = await _craft(a, bob, payload=os.urandom(150_000))
    await inject(send, _message(bob.jid, extra=(element,)))

    # A valid ratchet message whose decrypted SCE envelope is not XML, or carries a DTD.
    for text in (
        b"<envelope xmlns='urn:xmpp:sce:1'><content>",
        b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]><x>&a;</x>",
    ):
        element, _ = await _craft(a, bob, plaintext=text)
        await inject(send, _message(bob.jid, extra=(element,)))

    # A counter far past MAX_SKIP (1000 skipped message keys).
    element, _ = await _craft(a, bob, "far future", skip=1500)
    await inject(send, _message(bob.jid, extra=(element,)))

    # A group message turned private: the SCE <to/> names the room, not bob.
    element, _ = await _craft(a, bob, "meant for the room", to=ROOM)
    (reason,) = await inject(send, _message(bob.jid, extra=(element,)))
    assert ROOM in reason

    # A key exchange without a usable pre-key: alice starts over with the pre-key her first
    # key exchange already consumed.
    await _kex_with_used_prekey(a, bob, inject)

    # A stanza over the server's size limit: Prosody cuts the sender (mallory), bob sees
    # nothing and keeps going.
    huge = enc(f"<header sid='{sid}'/><payload>{'A' * 400_000}</payload>")
    mallory.send(_message(bob.jid, extra=(huge,)))

    # Replays are dropped silently (XEP-0384: a notice would let anyone flood the chat),
    # once with the same origin-id and once as a new stanza around the same <encrypted/>.
    element, after = await _craft(a, bob, "said once")
    first = _message(bob.jid, extra=(element,))
    send.send(first)
    await bob.wait_bodies(["said once"])
    await a.db.transaction(  # alice's real next message must use the next counter
        lambda c: SESSIONS.save(
            c, _session_row(Namespace.OMEMO2, bob.jid, bob.acc.device_id, after)
        )
    )
    await inject(send, first, _message(bob.jid, extra=(element,)), notices=0)

    # Still talking, both ways, and every real message arrived exactly once.
    for text in ("after the storm 1", "after the storm 2"):
        await alice.m.send_message(alice.jid, bob.jid, text)
    await bob.wait_bodies(["after the storm 1", "after the storm 2"])
    await bob.m.send_message(bob.jid, alice.jid, "still here")
    await alice.wait_bodies(["still here"])
    wanted = ["hello bob", "said once", "after the storm 1", "after the storm 2"]
    exactly_once(await stored_bodies(bob.acc, alice.jid), wanted)
    assert bob.m.connection_state(bob.jid) == "connected"
    assert bob.bodies().count("said once") == 1


def _session_row(ns: Namespace, jid: str, device: int, blob: bytes) -> Any:
    from omemo_desktop.storage.model import Session

    return Session(ns, jid, device, blob, time.time())


async def _kex_with_used_prekey(a: OmemoAccount, bob: Peer, inject: Injector) -> None:
    rid = bob.acc.device_id
    stored = await a.db.run(lambda c: SESSIONS.get(c, Namespace.OMEMO2, bob.jid, rid))
    assert stored is not None
    used = TWO.load_session(stored.state).kex.pk_id
    raw = await a.db.run(lambda c: DEVICES.bundle(c, Namespace.OMEMO2, bob.jid, rid))
    assert raw is not None
    xml = ox.parse_bundle(ox.NS2, ET.fromstring(raw.bundle))
    assert used in xml.prekeys
    only_used = ox.BundleXml(
        xml.namespace, xml.ik, xml.spk_id, xml.spk, xml.spks, {used: xml.prekeys[used]}
    )
    session = TWO.initiate(a.identity, TWO.peer_bundle(only_used), os.urandom)
    sealed = TWO.seal("kex", os.urandom, sender=a.jid, recipient=bob.jid, now=int(time.time()))
    _, key = TWO.encrypt_key(session, sealed.key_material, os.urandom)
    assert key.kex
    element = ox.build_encrypted(
        ox.EncryptedXml(
            ox.NS2, a.device_id, (ox.KeyXml(bob.jid, rid, True, key.data),), sealed.payload
        )
    )
    (reason,) = await inject(a.client, _message(bob.jid, extra=(element,)))
    assert "pre-key" in reason


# ---- key distribution: bundles, labels and device lists ---------------------------------


def _bundle_for(identity: IdentityKeyPair) -> tuple[Any, ET.Element]:
    prekeys = TWO.new_prekeys(identity, os.urandom, int(time.time()))
    return prekeys, ox.build_bundle(TWO.own_bundle(identity, prekeys))


async def _publish_devices(client: XmppClient, entries: list[ox.DeviceEntry]) -> None:
    await pep.publish(
        client,
        ox.NODE2_DEVICES,
        "current",
        ox.build_device_list(ox.NS2, entries),
        {"pubsub#access_model": "open"},
    )


async def _publish_bundle(client: XmppClient, device: int, element: ET.Element) -> None:
    await pep.publish(
        client,
        ox.NODE2_BUNDLES,
        str(device),
        element,
        {"pubsub#access_model": "open", "pubsub#max_items": "max"},
    )


async def test_forged_keys_and_labels_are_refused(peers: MakePeer, mallory: XmppClient) -> None:
    bob = await peers("bob")
    b = bob.acc

    # A bundle whose signed pre-key signature does not verify: bob refuses to encrypt to it.
    forger = IdentityKeyPair.generate(os.urandom)
    _, element = _bundle_for(forger)
    spks = element.find(f"{{{ox.NS2}}}spks")
    assert spks is not None and spks.text
    sig = bytearray(base64.b64decode(spks.text))
    sig[5] ^= 0x40
    spks.text = base64.b64encode(bytes(sig)).decode()
    await _publish_devices(mallory, [ox.DeviceEntry(4242)])
    await _publish_bundle(mallory, 4242, element)
    before = await session_state(b)
    sent = await bob.m.send_message(bob.jid, mallory.bare_jid, "for a forged bundle")
    await bob.wait_for(
        lambda: any(
            isinstance(e, MessageStateChanged) and e.message_id == sent.id and e.state == "failed"
            for e in bob.events
        )
    )
    failed = next(
        e for e in bob.events if isinstance(e, MessageStateChanged) and e.state == "failed"
    )
    assert "4242" in (failed.error or "") and "signature" in (failed.error or "").lower()
    assert await session_state(b) == before
    assert (
        await b.db.run(lambda c: DEVICES.bundle(c, Namespace.OMEMO2, mallory.bare_jid, 4242))
        is None
    )

    # Labels: one device signs its label, another carries someone else's signature.
    honest, impostor, other = (IdentityKeyPair.generate(os.urandom) for _ in range(3))
    _, honest_bundle = _bundle_for(honest)
    _, impostor_bundle = _bundle_for(impostor)
    entries = [
        ox.DeviceEntry(5001, "Mallory's phone", labels.sign_label(honest, "Mallory's phone")),
        ox.DeviceEntry(5002, "Bob's laptop", labels.sign_label(other, "Bob's laptop")),
    ]
    await _publish_bundle(mallory, 5001, honest_bundle)
    await _publish_bundle(mallory, 5002, impostor_bundle)
    await _publish_devices(mallory, entries)
    views = {v.device_id: v for v in await bob.m.devices(bob.jid, mallory.bare_jid)}
    assert views[5001].label == "Mallory's phone"
    assert views[5002].label is None, "a label with a forged labelsig was shown"
    assert views[5002].fingerprint  # the device itself is listed, under its fingerprint


async def test_device_lists_and_bundles_pushed_by_a_non_owner_are_ignored(
    peers: MakePeer, mallory: XmppClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    alice, bob = await _established(peers)
    b = bob.acc

    def devices_of(jid: str) -> Any:
        return b.db.run(
            lambda c: c.execute(
                "SELECT namespace, device_id, status FROM devices WHERE jid = ? ORDER BY 1, 2",
                (jid,),
            ).fetchall()
        )

    def bundles() -> Any:
        return b.db.run(lambda c: c.execute("SELECT * FROM bundles ORDER BY 1, 2, 3").fetchall())

    alice_devices, mallory_devices, bundles_before = (
        await devices_of(alice.jid),
        await devices_of(mallory.bare_jid),
        await bundles(),
    )
    _, forged_bundle = _bundle_for(IdentityKeyPair.generate(os.urandom))

    def event(node: str, item_id: str, payload: ET.Element) -> ET.Element:
        ev = ET.Element("{http://jabber.org/protocol/pubsub#event}event")
        items = ET.SubElement(ev, "{http://jabber.org/protocol/pubsub#event}items", {"node": node})
        item = ET.SubElement(
            items,
            "{http://jabber.org/protocol/pubsub#event}item",
            {"id": item_id, "publisher": alice.jid},
        )
        item.append(payload)
        return ev

    # A "PEP push" sent by mallory's client (not her PEP service), listing devices that are
    # supposed to be alice's, and a bundle for alice's device with mallory's keys.
    fake_list = ox.build_device_list(ox.NS2, [ox.DeviceEntry(777), ox.DeviceEntry(778)])
    inject = Injector(bob)
    await inject(
        mallory,
        _message(bob.jid, extra=(event(ox.NODE2_DEVICES, "current", fake_list),)),
        _message(
            bob.jid, extra=(event(ox.NODE2_BUNDLES, str(alice.acc.device_id), forged_bundle),)
        ),
        notices=0,
    )
    assert await devices_of(alice.jid) == alice_devices
    assert await devices_of(mallory.bare_jid) == mallory_devices
    assert await bundles() == bundles_before
    assert any(
        "PEP" in r.getMessage() and mallory.bare_jid in r.getMessage() for r in caplog.records
    ), "the forged push was not reported in the log"

    # Nothing changed for the real conversation.
    await bob.m.send_message(bob.jid, alice.jid, "to the real alice")
    await alice.wait_bodies(["to the real alice"])
    exactly_once(await stored_bodies(alice.acc, bob.jid), ["hello alice", "to the real alice"])
