"""Interop of omemo_desktop.omemo.legacy with Syndace's python-oldmemo (test oracle only).

The oracle is driven through its ``Oldmemo`` backend with an in-memory storage; bundles go
through its XML helpers (``oldmemo.etree``), so the real wire/XML encodings are exercised.
"""

from __future__ import annotations

import base64
import os
import random
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import oldmemo.etree
import pytest
from oldmemo.oldmemo import (
    NAMESPACE,
    EncryptedKeyMaterialImpl,
    KeyExchangeImpl,
    Oldmemo,
    PlainKeyMaterialImpl,
)
from omemo.session import Initiation

from omemo_desktop.omemo import primitives
from omemo_desktop.omemo.errors import DuplicateMessage
from omemo_desktop.omemo.keys import IdentityKeyPair
from omemo_desktop.omemo.legacy import engine
from omemo_desktop.omemo.legacy.bundle import Bundle, OwnPreKeys
from omemo_desktop.omemo.legacy.session import Session
from tests.helpers.reference_storage import MemoryStorage

NS = f"{{{NAMESPACE}}}"
THEIR_JID, OUR_JID = "oracle@example.org", "us@example.org"
THEIR_DEVICE, OUR_DEVICE = 4242, 1009


def _seed_with_sign(bit: int) -> bytes:
    while True:
        seed = os.urandom(32)
        if primitives.ed25519_public(seed)[31] >> 7 == bit:
            return seed


class Oracle:
    """One python-oldmemo device talking to our single device."""

    def __init__(self) -> None:
        self.storage = MemoryStorage()
        self.backend = Oldmemo(self.storage, max_num_per_session_skipped_keys=2000)
        self.session: Any = None

    @classmethod
    async def create(cls, identity: str = "seed0") -> Oracle:
        self = cls()
        if identity == "priv":  # a Curve25519-only identity: oldmemo signs with XEdDSA
            await self.storage.store("/ikp/is_seed", False)
            await self.storage.store_bytes("/ikp/key", primitives.clamp(os.urandom(32)))
        else:
            await self.storage.store("/ikp/is_seed", True)
            await self.storage.store_bytes("/ikp/key", _seed_with_sign(int(identity[-1])))
        await self.backend.generate_pre_keys(100)
        return self

    async def bundle_xml(self) -> ET.Element:
        return oldmemo.etree.serialize_bundle(
            await self.backend.get_bundle(THEIR_JID, THEIR_DEVICE)
        )

    async def encrypt(self, km: bytes) -> tuple[bytes, bool]:
        ekm = await self.backend.encrypt_key_material(
            self.session, PlainKeyMaterialImpl(km[:16], km[16:])
        )
        data = ekm.serialize()
        if self.session.initiation is Initiation.ACTIVE and not self.session.confirmed:
            return self.session.key_exchange.serialize(data)[0], True
        return data, False

    async def initiate(self, our_bundle_xml: ET.Element, km: bytes) -> tuple[bytes, bool]:
        bundle = oldmemo.etree.parse_bundle(our_bundle_xml, OUR_JID, OUR_DEVICE)
        self.session, ekm = await self.backend.build_session_active(
            OUR_JID, OUR_DEVICE, bundle, PlainKeyMaterialImpl(km[:16], km[16:])
        )
        return self.session.key_exchange.serialize(ekm.serialize())[0], True

    async def decrypt(self, data: bytes, kex: bool, our_sign_bit: bool = False) -> bytes:
        if kex:
            key_exchange, authenticated = KeyExchangeImpl.parse(data, our_sign_bit)
            ekm = EncryptedKeyMaterialImpl.parse(authenticated, OUR_JID, OUR_DEVICE)
            if self.session is None or not key_exchange.builds_same_session(
                self.session.key_exchange
            ):
                self.session, pkm = await self.backend.build_session_passive(
                    OUR_JID, OUR_DEVICE, key_exchange, ekm
                )
                return bytes(pkm.key + pkm.auth_tag)
        else:
            ekm = EncryptedKeyMaterialImpl.parse(data, OUR_JID, OUR_DEVICE)
        pkm = await self.backend.decrypt_key_material(self.session, ekm)
        return bytes(pkm.key + pkm.auth_tag)


# ---- our side -------------------------------------------------------------------------------


def bundle_from_xml(elt: ET.Element) -> Bundle:
    spk = elt.find(f"{NS}signedPreKeyPublic")
    assert spk is not None and spk.text
    return Bundle.from_wire(
        identity_key=base64.b64decode(elt.findtext(f"{NS}identityKey") or ""),
        signed_pre_key_id=int(spk.get("signedPreKeyId", "0")),
        signed_pre_key=base64.b64decode(spk.text),
        signed_pre_key_signature=base64.b64decode(elt.findtext(f"{NS}signedPreKeySignature") or ""),
        pre_keys={
            int(pk.get("preKeyId", "0")): base64.b64decode(pk.text or "")
            for pk in elt.iter(f"{NS}preKeyPublic")
        },
    )


def bundle_to_xml(bundle: Bundle) -> ET.Element:
    w = bundle.to_wire()
    root = ET.Element(f"{NS}bundle")
    b64: Callable[[bytes], str] = lambda b: base64.b64encode(b).decode()  # noqa: E731
    ET.SubElement(
        root, f"{NS}signedPreKeyPublic", {"signedPreKeyId": str(w["signed_pre_key_id"])}
    ).text = b64(w["signed_pre_key"])
    ET.SubElement(root, f"{NS}signedPreKeySignature").text = b64(w["signed_pre_key_signature"])
    ET.SubElement(root, f"{NS}identityKey").text = b64(w["identity_key"])
    pks = ET.SubElement(root, f"{NS}prekeys")
    for pk_id, pk in w["pre_keys"].items():
        ET.SubElement(pks, f"{NS}preKeyPublic", {"preKeyId": str(pk_id)}).text = b64(pk)
    return root


class Us:
    def __init__(self) -> None:
        self.identity = IdentityKeyPair.generate(os.urandom)
        self.prekeys = OwnPreKeys.generate(self.identity, os.urandom)
        self.session: Session | None = None

    def encrypt(self, km: bytes) -> tuple[bytes, bool]:
        assert self.session is not None
        self.session, key = engine.encrypt_key(self.session, km, os.urandom)
        # every state must survive a serialization round trip
        self.session = Session.deserialize(self.session.serialize())
        return key.data, key.kex

    def decrypt(self, data: bytes, kex: bool) -> engine.Decrypted:
        d = engine.decrypt_key(self.identity, self.prekeys, self.session, data, kex)
        self.session = d.session
        if d.used_prekey_id is not None:
            self.prekeys = self.prekeys.without(d.used_prekey_id).refill(os.urandom)
        return d


def km32() -> bytes:
    return os.urandom(32)


# ---- tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("identity", ["seed0", "seed1", "priv"])
async def test_their_bundle_accepted_and_we_initiate(identity: str) -> None:
    oracle = await Oracle.create(identity)
    us = Us()
    bundle = bundle_from_xml(await oracle.bundle_xml())
    bundle.verify()
    us.session = engine.initiate(us.identity, bundle, os.urandom, registration_id=OUR_DEVICE)
    for _ in range(3):  # pre-key messages until they answer
        km = km32()
        data, kex = us.encrypt(km)
        assert kex
        assert await oracle.decrypt(data, kex) == km
    km = km32()
    data, kex = await oracle.encrypt(km)
    assert not kex
    assert us.decrypt(data, kex).key_material == km
    km = km32()
    data, kex = us.encrypt(km)
    assert not kex
    assert await oracle.decrypt(data, kex) == km


async def test_our_bundle_accepted_and_they_initiate() -> None:
    oracle = await Oracle.create("seed1")
    us = Us()
    xml = bundle_to_xml(us.prekeys.bundle(us.identity))
    oldmemo.etree.parse_bundle(xml, OUR_JID, OUR_DEVICE)  # schema + shape accepted
    km = km32()
    data, kex = await oracle.initiate(xml, km)
    assert kex
    d = us.decrypt(data, kex)
    assert d.key_material == km
    assert d.used_prekey_id is not None and d.send_empty_back
    # a second pre-key message of the same session does not use another pre-key
    km = km32()
    data, kex = await oracle.encrypt(km)
    assert kex
    d = us.decrypt(data, kex)
    assert d.key_material == km and d.used_prekey_id is None
    # session completion with a key-transport (16-byte) message
    _iv, transport = engine.key_transport(os.urandom)
    data, kex = us.encrypt(transport)
    assert not kex
    assert await oracle.decrypt(data, kex) == transport
    km = km32()
    data, kex = await oracle.encrypt(km)
    assert not kex
    assert us.decrypt(data, kex).key_material == km


def test_signature_sign_bit_matches_oldmemo_conversion() -> None:
    """Our bundle's signature verifies for oldmemo's own x3dh bundle check (XEdDSA side)."""
    import xeddsa

    us = Us()
    bundle = us.prekeys.bundle(us.identity)
    w = bundle.to_wire()
    assert xeddsa.ed25519_verify(
        w["signed_pre_key_signature"][:63] + bytes([w["signed_pre_key_signature"][63] & 0x7F]),
        us.identity.ed25519_public,
        w["signed_pre_key"],
    )


async def _conversation(we_initiate: bool, rounds: int, seed: int) -> None:
    rng = random.Random(seed)
    oracle = await Oracle.create("seed1" if seed % 2 else "seed0")
    us = Us()
    if we_initiate:
        us.session = engine.initiate(
            us.identity, bundle_from_xml(await oracle.bundle_xml()), os.urandom
        )
        km = km32()
        data, kex = us.encrypt(km)
        assert await oracle.decrypt(data, kex) == km
    else:
        km = km32()
        data, kex = await oracle.initiate(bundle_to_xml(us.prekeys.bundle(us.identity)), km)
        assert us.decrypt(data, kex).key_material == km

    sent_by_them = sent_by_us = 0
    for _ in range(rounds):
        # a burst in one direction, delivered shuffled, with losses and duplicates
        direction = rng.random() < 0.5
        burst = [km32() for _ in range(rng.randint(1, 8))]
        if direction:
            wire = [(await oracle.encrypt(k), k) for k in burst]
            sent_by_them += len(burst)
        else:
            wire = [(us.encrypt(k), k) for k in burst]
            sent_by_us += len(burst)
        rng.shuffle(wire)
        delivered: list[tuple[tuple[bytes, bool], bytes]] = []
        for item in wire:
            r = rng.random()
            if r < 0.1 and len(wire) > 1:
                continue  # lost
            delivered.append(item)
            if r > 0.9:
                delivered.append(item)  # duplicate
        seen: set[bytes] = set()
        for (data, kex), k in delivered:
            if direction:
                if k in seen:
                    with pytest.raises(DuplicateMessage):
                        us.decrypt(data, kex)
                else:
                    assert us.decrypt(data, kex).key_material == k
            else:
                if k in seen:
                    with pytest.raises(Exception):  # noqa: B017 - oldmemo's DecryptionFailed
                        await oracle.decrypt(data, kex)
                else:
                    assert await oracle.decrypt(data, kex) == k
            seen.add(k)
    assert sent_by_them > 50 and sent_by_us > 50


@pytest.mark.parametrize("we_initiate", [True, False])
async def test_long_conversation_with_reordering_loss_duplicates(we_initiate: bool) -> None:
    await _conversation(we_initiate, rounds=60, seed=1 + we_initiate)


async def test_large_gap_and_late_message_from_old_chain() -> None:
    oracle = await Oracle.create()
    us = Us()
    us.session = engine.initiate(
        us.identity, bundle_from_xml(await oracle.bundle_xml()), os.urandom
    )
    km = km32()
    assert await oracle.decrypt(*us.encrypt(km)) == km
    # they send 1500 messages; we only get the last one, then the 10th, then an old-chain late one
    msgs = [(await oracle.encrypt(k), k) for k in (km32() for _ in range(1500))]
    (data, kex), k = msgs[-1]
    assert us.decrypt(data, kex).key_material == k
    (data, kex), k = msgs[9]
    assert us.decrypt(data, kex).key_material == k
    # DH ratchet step: we answer, they answer with a new chain; then a late message of the old one
    km = km32()
    assert await oracle.decrypt(*us.encrypt(km)) == km
    new = [(await oracle.encrypt(k), k) for k in (km32() for _ in range(3))]
    (data, kex), k = new[2]
    assert us.decrypt(data, kex).key_material == k
    (data, kex), k = msgs[100]
    assert us.decrypt(data, kex).key_material == k
