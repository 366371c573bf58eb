"""The OMEMO 2 facade between two of our own devices, plus bundles, pre-keys, state blobs,
SCE envelopes, labels, opt-out and fingerprints."""

from __future__ import annotations

import base64
import os
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest

from omemo_desktop.omemo import fingerprint, ratchet, sce
from omemo_desktop.omemo.errors import (
    AuthenticationFailed,
    BadSignature,
    IdentityMismatch,
    MalformedMessage,
    NoPreKey,
    NoSession,
    StateVersionError,
    UnknownPreKey,
)
from omemo_desktop.omemo.keys import IdentityKeyPair
from omemo_desktop.omemo.twomemo import engine, labels, optout
from omemo_desktop.omemo.twomemo.profile import PROFILE
from omemo_desktop.omemo.twomemo.session import Session, dump_prekeys, load_prekeys
from omemo_desktop.omemo.twomemo.x3dh import (
    PREKEY_TARGET,
    OwnPreKeys,
    generate_device_id,
)

NOW = 1_700_000_000
SAMPLES = Path(__file__).parent / "samples"
rnd = os.urandom


class Device:
    def __init__(self) -> None:
        self.identity = IdentityKeyPair.generate(rnd)
        self.prekeys = OwnPreKeys.create(self.identity, rnd, NOW)


def test_full_exchange_between_our_devices() -> None:
    a, b = Device(), Device()
    session_a = engine.initiate(a.identity, b.prekeys.bundle(b.identity), rnd)
    ct, material = engine.encrypt_payload(b"hello", rnd)
    session_a, key = engine.encrypt_key(session_a, material, rnd)
    assert key.kex
    got = engine.decrypt_key(b.identity, b.prekeys, None, key.data, key.kex)
    assert got.send_empty_back and got.new_session and got.used_prekey_id is not None
    assert engine.decrypt_payload(ct, got.key_material) == b"hello"
    b.prekeys = b.prekeys.remove_prekey(got.used_prekey_id).refill(rnd, force=True)
    assert len(b.prekeys.prekeys) == PREKEY_TARGET
    session_b = got.session
    # repeated key exchange: same session, no new pre-key use
    session_a, key = engine.encrypt_key(session_a, material, rnd)
    again = engine.decrypt_key(b.identity, b.prekeys, session_b, key.data, key.kex)
    assert not again.new_session and again.used_prekey_id is None
    session_b, empty = engine.encrypt_key(again.session, engine.EMPTY_KEY_MATERIAL, rnd)
    assert not empty.kex
    answer = engine.decrypt_key(a.identity, a.prekeys, session_a, empty.data, empty.kex)
    assert engine.is_empty(answer.key_material) and answer.session.confirmed
    session_a, key = engine.encrypt_key(answer.session, material, rnd)
    assert not key.kex
    # serialization round trip mid-conversation
    session_b = Session.from_bytes(session_b.to_bytes())
    assert engine.decrypt_key(b.identity, b.prekeys, session_b, key.data, False).key_material == (
        material
    )


def test_new_key_exchange_replaces_session_and_identity_is_checked() -> None:
    a, b = Device(), Device()
    bundle = b.prekeys.bundle(b.identity)
    _s1, k1 = engine.encrypt_key(engine.initiate(a.identity, bundle, rnd), b"1" * 48, rnd)
    _s2, k2 = engine.encrypt_key(engine.initiate(a.identity, bundle, rnd), b"2" * 48, rnd)
    first = engine.decrypt_key(b.identity, b.prekeys, None, k1.data, True)
    second = engine.decrypt_key(b.identity, b.prekeys, first.session, k2.data, True)
    assert second.new_session and second.key_material == b"2" * 48
    with pytest.raises(IdentityMismatch):
        engine.decrypt_key(
            b.identity, b.prekeys, None, k1.data, True, expected_identity=b.identity.ed25519_public
        )
    with pytest.raises(NoSession):
        engine.decrypt_key(b.identity, b.prekeys, None, b"\x00", False)


def test_unknown_prekey_and_previous_spk() -> None:
    a, b = Device(), Device()
    bundle = b.prekeys.bundle(b.identity)
    _, key = engine.encrypt_key(engine.initiate(a.identity, bundle, rnd), b"x" * 48, rnd)
    rotated = b.prekeys.rotate_signed_prekey(b.identity, rnd, NOW + 8 * 86400)
    assert engine.decrypt_key(b.identity, rotated, None, key.data, True).key_material == b"x" * 48
    twice = rotated.rotate_signed_prekey(b.identity, rnd, NOW + 16 * 86400)
    with pytest.raises(UnknownPreKey):
        engine.decrypt_key(b.identity, twice, None, key.data, True)
    with pytest.raises(UnknownPreKey):
        engine.decrypt_key(
            b.identity, b.prekeys.remove_prekey(bundle_pk(key.data)), None, key.data, True
        )


def bundle_pk(kex_data: bytes) -> int:
    from omemo_desktop.omemo.twomemo import wire

    return wire.parse_key_exchange(kex_data).pk_id


def test_bundle_verification() -> None:
    a, b = Device(), Device()
    bundle = b.prekeys.bundle(b.identity)
    bundle.verify()
    assert len(bundle.prekeys) >= 100 and min(bundle.prekeys) >= 1
    with pytest.raises(BadSignature):
        engine.initiate(a.identity, replace(bundle, spks=bytes(64)), rnd)
    with pytest.raises(BadSignature):
        replace(bundle, ik=a.identity.ed25519_public).verify()
    with pytest.raises(NoPreKey):
        replace(bundle, prekeys=MappingProxyType({})).verify()
    with pytest.raises(MalformedMessage):
        replace(bundle, prekeys=MappingProxyType({0: bytes(32)})).verify()
    with pytest.raises(MalformedMessage):
        replace(bundle, spk=b"short").verify()


def test_prekey_refill_rotation_and_ids() -> None:
    d = Device()
    keys = d.prekeys
    assert sorted(keys.prekeys) == list(range(1, 101)) and not keys.needs_refill()
    for pk_id in range(1, 76):
        keys = keys.remove_prekey(pk_id)
    assert not keys.needs_refill() and keys.refill(rnd) is keys
    keys = keys.remove_prekey(76)
    assert keys.needs_refill()
    keys = keys.refill(rnd)
    assert len(keys.prekeys) == 100 and max(keys.prekeys) == 176  # never reused, monotonic
    assert not keys.rotation_due(NOW + 86400) and keys.rotation_due(NOW + 7 * 86400)
    rotated = keys.rotate_signed_prekey(d.identity, rnd, NOW + 7 * 86400)
    assert rotated.spk.id == 2 and rotated.previous_spk == keys.spk
    assert load_prekeys(dump_prekeys(rotated)) == rotated
    ids = {generate_device_id(rnd) for _ in range(50)}
    assert all(1 <= i < 2**31 for i in ids)
    draws = iter([b"\x00\x00\x00\x00", b"\x00\x00\x00\x05", b"\x80\x00\x00\x06"])
    assert generate_device_id(lambda n: next(draws), {5}) == 6


def test_state_versions() -> None:
    d = Device()
    blob = dump_prekeys(d.prekeys)
    with pytest.raises(StateVersionError):
        load_prekeys(blob[:4] + b"\x63" + blob[5:])
    with pytest.raises(StateVersionError):
        load_prekeys(blob[:-1])
    with pytest.raises(StateVersionError):
        Session.from_bytes(blob)


def test_frozen_session_sample_v1_loads() -> None:
    """A v1 blob written by this code; it must keep loading in every later version."""
    session = Session.from_bytes((SAMPLES / "omemo2_session_v1.bin").read_bytes())
    prekeys = load_prekeys((SAMPLES / "omemo2_prekeys_v1.bin").read_bytes())
    assert session.active and not session.confirmed and session.ratchet.ns == 1
    assert len(prekeys.prekeys) == 100
    # the sample's peer ("b") blob decrypts the message stored next to it
    b_session = Session.from_bytes((SAMPLES / "omemo2_session_b_v1.bin").read_bytes())
    data = (SAMPLES / "omemo2_message_v1.bin").read_bytes()
    identity = IdentityKeyPair.from_seed(bytes(range(32)))
    got = engine.decrypt_key(identity, prekeys, b_session, data, False)
    assert got.key_material == b"sample key material".ljust(48, b".")
    # version 1 had one key store: whatever it holds counts as genuinely skipped
    assert not session.ratchet.speculative and not b_session.ratchet.speculative
    assert session.to_bytes().startswith(b"O2SS\x02")


def test_frozen_session_sample_v2_loads() -> None:
    """samples/make_v2_samples.py: a genuinely skipped and a speculative key; both still open
    their messages after loading, and the blob is written back identically."""
    blob = (SAMPLES / "omemo2_session_v2.bin").read_bytes()
    session = Session.from_bytes(blob)
    assert session.to_bytes() == blob
    r = session.ratchet
    assert [n for _, n in r.skipped] == [1] and [n for _, n in r.speculative] == [1, 3]
    for name, expected in (("speculative", 3), ("skipped", 1)):
        data = (SAMPLES / f"omemo2_message_v2_{name}.bin").read_bytes()
        r, got = ratchet.decrypt(PROFILE, r, data, session.ad)
        assert got.plaintext == bytes([expected]) * 48 and got.from_skipped
    assert not r.skipped and [n for _, n in r.speculative] == [1]
    with pytest.raises(StateVersionError):
        Session.from_bytes(b"O2SS\x03" + blob[5:])


def test_payload_errors() -> None:
    ct, material = engine.encrypt_payload(b"x" * 100, rnd)
    with pytest.raises(AuthenticationFailed):
        engine.decrypt_payload(ct, material[:47] + bytes([material[47] ^ 1]))
    with pytest.raises(MalformedMessage):
        engine.decrypt_payload(ct, engine.EMPTY_KEY_MATERIAL)


def test_sce_envelope_round_trip_and_padding() -> None:
    body = ET.Element("{jabber:client}body")
    body.text = "Hi <Bob> & 😺"
    hint = ET.Element("{urn:xmpp:hints}store")
    lengths = set()
    for _ in range(10):
        data = sce.build_envelope(
            [body, hint], rnd, from_jid="a@example.org", to_jid="b@example.org", time=1769860800
        )
        lengths.add(len(data))
        env = sce.parse_envelope(data)
        assert [e.tag for e in env.content] == ["{jabber:client}body"]  # hint dropped
        assert env.content[0].text == "Hi <Bob> & 😺"
        assert (env.from_jid, env.to_jid) == ("a@example.org", "b@example.org")
        assert env.time_stamp == "2026-01-31T12:00:00Z" and env.time == 1769860800
    assert len(lengths) > 1  # random padding
    with pytest.raises(ValueError):
        sce.build_envelope([ET.Element("body")], rnd)
    for bad in [
        b"<x/>",
        b"not xml",
        b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>',
        b"<envelope xmlns='urn:xmpp:sce:1'/>",
    ]:
        with pytest.raises(MalformedMessage):
            sce.parse_envelope(bad)


def test_opt_out() -> None:
    data = sce.build_envelope([optout.build_opt_out("bye")], rnd)
    assert optout.find_opt_out(sce.parse_envelope(data).content) == "bye"
    assert optout.find_opt_out([optout.build_opt_out()]) == ""
    assert optout.find_opt_out([]) is None


def test_labels() -> None:
    d, other = Device(), Device()
    sig = labels.sign_label(d.identity, "Laptop 💻")
    ik = d.identity.ed25519_public
    assert labels.verified_label("Laptop 💻", sig, ik) == "Laptop 💻"
    assert labels.verified_label("Laptop", sig, ik) is None
    assert labels.verified_label("Laptop 💻", None, ik) is None
    assert labels.verified_label("Laptop 💻", "!!notbase64", ik) is None
    assert labels.verified_label("Laptop 💻", sig, other.identity.ed25519_public) is None
    assert labels.verified_label("Laptop 💻", base64.b64encode(b"x").decode(), ik) is None


def test_fingerprint_format() -> None:
    d = Device()
    fp = fingerprint.fingerprint(d.identity.ed25519_public)
    assert len(fp) == 64 and fp == fp.lower() and bytes.fromhex(fp) == d.identity.x25519_public
    assert len(fingerprint.groups(fp)) == 8 and all(len(g) == 8 for g in fingerprint.groups(fp))
    assert fingerprint.fingerprint_of_curve(b"\x05" + d.identity.x25519_public) == fp
    assert fingerprint.format_fingerprint(fp).count(" ") == 7
