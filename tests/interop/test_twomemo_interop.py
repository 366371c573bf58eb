"""Interop with python-twomemo (reference implementation) as a test-only oracle."""

from __future__ import annotations

import os
import random

import pytest

from omemo_desktop.omemo.errors import DuplicateMessage
from omemo_desktop.omemo.keys import IdentityKeyPair
from omemo_desktop.omemo.twomemo import engine
from omemo_desktop.omemo.twomemo.session import Session
from omemo_desktop.omemo.twomemo.x3dh import OwnPreKeys

from .test_twomemo_oracle import Peer

OUR_JID = "us@example.org"
OUR_DEVICE = 1009
NOW = 1_700_000_000


class Us:
    def __init__(self) -> None:
        self.identity = IdentityKeyPair.generate(os.urandom)
        self.prekeys = OwnPreKeys.create(self.identity, os.urandom, NOW)
        self.session: Session | None = None

    def receive(self, data: bytes, kex: bool) -> engine.Decrypted:
        result = engine.decrypt_key(self.identity, self.prekeys, self.session, data, kex)
        self.session = result.session
        if result.used_prekey_id is not None:
            self.prekeys = self.prekeys.remove_prekey(result.used_prekey_id)
        return result

    def send(self, key_material: bytes) -> engine.KeyElement:
        assert self.session is not None
        self.session, element = engine.encrypt_key(self.session, key_material, os.urandom)
        return element


def km() -> bytes:
    return os.urandom(48)


def test_they_initiate_and_we_answer() -> None:
    us, them = Us(), Peer()
    them.initiate(us.prekeys.bundle(us.identity), OUR_JID, OUR_DEVICE)
    first = km()
    data, kex = them.encrypt(first, OUR_JID, OUR_DEVICE)
    assert kex
    result = us.receive(data, kex)
    assert result.key_material == first
    assert result.send_empty_back and result.new_session and result.used_prekey_id is not None
    # repeated key exchange until they hear from us
    second = km()
    data, kex = them.encrypt(second, OUR_JID, OUR_DEVICE)
    assert kex
    result = us.receive(data, kex)
    assert result.key_material == second and not result.new_session
    empty = us.send(engine.EMPTY_KEY_MATERIAL)
    assert not empty.kex
    assert them.decrypt(empty.data, empty.kex, OUR_JID, OUR_DEVICE) == engine.EMPTY_KEY_MATERIAL
    third = km()
    data, kex = them.encrypt(third, OUR_JID, OUR_DEVICE)
    assert not kex
    assert us.receive(data, kex).key_material == third


def test_we_initiate_and_they_answer() -> None:
    us, them = Us(), Peer()
    us.session = engine.initiate(us.identity, them.bundle(), os.urandom)
    for _ in range(3):
        material = km()
        element = us.send(material)
        assert element.kex
        assert them.decrypt(element.data, element.kex, OUR_JID, OUR_DEVICE) == material
    answer = km()
    data, kex = them.encrypt(answer, OUR_JID, OUR_DEVICE)
    assert not kex
    assert us.receive(data, kex).key_material == answer
    assert us.session is not None and us.session.confirmed
    element = us.send(engine.EMPTY_KEY_MATERIAL)
    assert not element.kex
    assert them.decrypt(element.data, False, OUR_JID, OUR_DEVICE) == engine.EMPTY_KEY_MATERIAL


def test_payload_both_ways() -> None:
    them = Peer()
    ct, material = engine.encrypt_payload("grüße <x/>".encode(), os.urandom)
    assert them.decrypt_payload(ct, material) == "grüße <x/>".encode()
    ct, material = them.encrypt_payload(b"hello")
    assert engine.decrypt_payload(ct, material) == b"hello"


@pytest.mark.parametrize("seed", [1, 2])
def test_long_conversation_with_reordering_loss_and_duplicates(seed: int) -> None:
    rng = random.Random(seed)
    us, them = Us(), Peer()
    us.session = engine.initiate(us.identity, them.bundle(), os.urandom)
    first = km()
    element = us.send(first)
    assert them.decrypt(element.data, element.kex, OUR_JID, OUR_DEVICE) == first
    heartbeats = 0
    total = 0
    for _round in range(12):
        # a burst from them, delivered shuffled, with losses and duplicates
        burst = []
        for _ in range(rng.randint(1, 70)):
            material = km()
            burst.append((material, *them.encrypt(material, OUR_JID, OUR_DEVICE)))
        delivered = [m for m in burst if rng.random() > 0.1]
        rng.shuffle(delivered)
        seen: set[bytes] = set()
        for material, data, kex in delivered + delivered[:3]:
            if material in seen:
                with pytest.raises(DuplicateMessage):
                    us.receive(data, kex)
                continue
            result = us.receive(data, kex)
            assert result.key_material == material
            heartbeats += result.heartbeat_due
            seen.add(material)
            total += 1
        # a burst from us, delivered in order with shuffling inside
        ours = [(m, us.send(m)) for m in (km() for _ in range(rng.randint(1, 30)))]
        ours = [pair for pair in ours if rng.random() > 0.1] or ours[-1:]
        rng.shuffle(ours)
        for material, element in ours:
            assert them.decrypt(element.data, element.kex, OUR_JID, OUR_DEVICE) == material
            total += 1
    assert us.session is not None and us.session.confirmed
    assert total >= 300
    assert heartbeats >= 1  # bursts longer than 53 occur with both seeds


def test_heartbeat_after_53_unanswered() -> None:
    us, them = Us(), Peer()
    them.initiate(us.prekeys.bundle(us.identity), OUR_JID, OUR_DEVICE)
    flags = []
    for _ in range(60):
        data, kex = them.encrypt(km(), OUR_JID, OUR_DEVICE)
        flags.append(us.receive(data, kex).heartbeat_due)
    # their first message while building was lost, so n starts at 1
    assert flags.index(True) == 52 and sum(flags) == 1
