"""Facade, sessions, bundles, pre-keys and state blobs of the legacy core."""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path

import pytest

from omemo_desktop.omemo.errors import (
    AuthenticationFailed,
    BadSignature,
    DuplicateMessage,
    IdentityMismatch,
    MalformedMessage,
    NoPreKey,
    NoSession,
    OmemoError,
    StateVersionError,
    TooManySkipped,
    UnknownPreKey,
)
from omemo_desktop.omemo.keys import IdentityKeyPair
from omemo_desktop.omemo.legacy import engine, proto, signatures, wire
from omemo_desktop.omemo.legacy import session as legacy_session
from omemo_desktop.omemo.legacy.bundle import Bundle, OwnPreKeys
from omemo_desktop.omemo.legacy.session import MAX_SKIP, Session

SAMPLES = Path(__file__).parent / "samples"
rb = os.urandom


class Device:
    def __init__(self, prekeys: int = 100) -> None:
        self.identity = IdentityKeyPair.generate(rb)
        self.prekeys = OwnPreKeys.generate(self.identity, rb, prekeys)

    def bundle(self) -> Bundle:
        return self.prekeys.bundle(self.identity)


def pair() -> tuple[Device, Device, Session, Session]:
    """Alice initiated, Bob answered once: both sessions are confirmed."""
    a, b = Device(3), Device(3)
    sa = engine.initiate(a.identity, b.bundle(), rb)
    sa, k = engine.encrypt_key(sa, b"1" * 32, rb)
    sb = engine.decrypt_key(b.identity, b.prekeys, None, k.data, k.kex).session
    sb, k = engine.encrypt_key(sb, b"2" * 32, rb)
    sa = engine.decrypt_key(a.identity, a.prekeys, sa, k.data, k.kex).session
    return a, b, sa, sb


def test_bundle_shape_and_signature() -> None:
    d = Device()
    bundle = d.bundle()
    assert len(bundle.pre_keys) == 100
    w = bundle.to_wire()
    assert w["identity_key"] == b"\x05" + d.identity.x25519_public
    assert all(len(k) == 33 and k[0] == 5 for k in w["pre_keys"].values())
    parsed = Bundle.from_wire(**w)
    assert parsed == bundle
    parsed.verify()
    # signed over the 33-byte prefixed key, not the bare 32 bytes
    signatures.verify(d.identity.x25519_public, w["signed_pre_key_signature"], w["signed_pre_key"])
    with pytest.raises(BadSignature):
        replace(bundle, signed_pre_key=bytes(32)).verify()
    with pytest.raises(BadSignature):
        replace(bundle, identity_key=Device().identity.x25519_public).verify()


def test_sign_with_seed_for_both_sign_bits() -> None:
    for bit in (0, 1):
        while True:
            seed = os.urandom(32)
            pair_ = IdentityKeyPair.from_seed(seed)
            if pair_.ed25519_public[31] >> 7 == bit:
                break
        sig = signatures.sign_with_seed(seed, b"\x05" + bytes(32))
        assert sig[63] >> 7 == bit
        signatures.verify(pair_.x25519_public, sig, b"\x05" + bytes(32))


@pytest.mark.parametrize(
    "field,value",
    [
        ("identity_key", b"\x05" * 32),
        ("signed_pre_key", b"\x07" + bytes(32)),
        ("signed_pre_key_signature", bytes(63)),
        ("pre_keys", {}),
        ("pre_keys", {1: b"\x05"}),
        ("signed_pre_key_id", -1),
        ("pre_keys", {2**32: b"\x05" + bytes(32)}),
    ],
)
def test_bundle_from_wire_rejects(field: str, value: object) -> None:
    w = Device(2).bundle().to_wire()
    w[field] = value
    with pytest.raises(OmemoError):
        Bundle.from_wire(**w)


def test_own_prekeys_lifecycle_and_blob() -> None:
    d = Device(5)
    pk = d.prekeys
    assert sorted(pk.pre_keys) == [1, 2, 3, 4, 5]
    pk2 = pk.without(3).refill(rb, 5)
    assert sorted(pk2.pre_keys) == [1, 2, 4, 5, 6]
    rotated = pk2.rotate_signed_pre_key(d.identity, rb)
    assert rotated.find_signed_pre_key(1) is pk2.signed_pre_key
    assert rotated.find_signed_pre_key(2) is rotated.signed_pre_key
    assert rotated.find_signed_pre_key(3) is None
    assert OwnPreKeys.deserialize(rotated.serialize()) == rotated
    with pytest.raises(StateVersionError):
        OwnPreKeys.deserialize(b"OLPK\x02" + rotated.serialize()[5:])
    with pytest.raises(StateVersionError):
        OwnPreKeys.deserialize(b"OLPK\x01garbage")
    # id wrap-around stays within libsignal's range
    wrapped = replace(pk, next_pre_key_id=0xFFFFFE).refill(rb, 7)
    assert sorted(wrapped.pre_keys) == [1, 2, 3, 4, 5, 6, 0xFFFFFE]


def test_conversation_and_kex_lifecycle() -> None:
    a, b = Device(), Device()
    sa = engine.initiate(a.identity, b.bundle(), rb, registration_id=1009)
    sa, k1 = engine.encrypt_key(sa, b"a" * 32, rb)
    sa, k2 = engine.encrypt_key(sa, b"b" * 32, rb)
    assert k1.kex and k2.kex
    parsed = wire.parse_pre_key_signal_message(k1.data)
    assert parsed.registration_id == 1009 and parsed.identity_key == a.identity.x25519_public
    d1 = engine.decrypt_key(b.identity, b.prekeys, None, k1.data, True)
    assert (d1.used_prekey_id, d1.send_empty_back, d1.new_session) == (
        parsed.pre_key_id,
        True,
        True,
    )
    prekeys = b.prekeys.without(parsed.pre_key_id)
    d2 = engine.decrypt_key(b.identity, prekeys, d1.session, k2.data, True)
    assert d2.key_material == b"b" * 32 and d2.used_prekey_id is None and not d2.new_session
    with pytest.raises(DuplicateMessage):
        engine.decrypt_key(b.identity, prekeys, d2.session, k2.data, True)
    iv, km = engine.key_transport(rb)
    assert len(iv) == 12 and len(km) == 16
    _sb, reply = engine.encrypt_key(d2.session, km, rb)
    assert not reply.kex
    da = engine.decrypt_key(a.identity, a.prekeys, sa, reply.data, False)
    assert da.key_material == km and da.session.pending is None
    _, k3 = engine.encrypt_key(da.session, b"c" * 32, rb)
    assert not k3.kex


def test_mac_covers_both_identities_in_direction_order() -> None:
    _a, b, sa, sb = pair()
    _, k = engine.encrypt_key(sa, b"x" * 32, rb)
    assert len(wire.parse_signal_message(k.data).mac) == 8
    tampered = k.data[:-1] + bytes([k.data[-1] ^ 1])
    with pytest.raises(AuthenticationFailed):
        engine.decrypt_key(b.identity, b.prekeys, sb, tampered, False)
    body = bytearray(k.data)
    body[-12] ^= 0x40  # inside the ciphertext
    with pytest.raises(OmemoError):
        engine.decrypt_key(b.identity, b.prekeys, sb, bytes(body), False)
    # a session whose identity order is reversed cannot verify the message
    swapped = replace(
        sb, own_identity_key=sb.peer_identity_key, peer_identity_key=sb.own_identity_key
    )
    with pytest.raises(AuthenticationFailed):
        engine.decrypt_key(b.identity, b.prekeys, swapped, k.data, False)
    assert engine.decrypt_key(b.identity, b.prekeys, sb, k.data, False).key_material == b"x" * 32


def test_skip_limit_and_out_of_order() -> None:
    _a, b, sa, sb = pair()
    msgs = []
    for i in range(MAX_SKIP + 2):
        sa, k = engine.encrypt_key(sa, i.to_bytes(32, "big"), rb)
        msgs.append(k.data)
    with pytest.raises(TooManySkipped):
        engine.decrypt_key(b.identity, b.prekeys, sb, msgs[MAX_SKIP + 1], False)
    d = engine.decrypt_key(b.identity, b.prekeys, sb, msgs[MAX_SKIP], False)
    assert len(d.session.ratchet.skipped) == MAX_SKIP
    d2 = engine.decrypt_key(b.identity, b.prekeys, d.session, msgs[7], False)
    assert d2.key_material == (7).to_bytes(32, "big")
    with pytest.raises(DuplicateMessage):
        engine.decrypt_key(b.identity, b.prekeys, d2.session, msgs[7], False)


def test_previous_counter_quirk_keeps_last_key_of_old_chain() -> None:
    a, b, sa, sb = pair()
    old = []
    for i in range(3):
        sa, k = engine.encrypt_key(sa, bytes([i]) * 32, rb)
        old.append(k.data)
    old_ratchet_key = wire.parse_signal_message(old[0]).ratchet_key
    # a libsignal sender whose old chain ended one message later would put pn=3 (last index)
    # into the header of its new chain: that 4th message is what the speculative key is for
    _, fourth = engine.encrypt_key(sa, b"\x03" * 32, rb)
    sb = engine.decrypt_key(b.identity, b.prekeys, sb, old[0], False).session
    sb, k = engine.encrypt_key(sb, b"r" * 32, rb)
    sa = engine.decrypt_key(a.identity, a.prekeys, sa, k.data, False).session
    sa, k = engine.encrypt_key(sa, b"n" * 32, rb)
    new = wire.parse_signal_message(k.data)
    assert new.previous_counter == 3  # we send the count; libsignal would send 2 (last index)
    sb = engine.decrypt_key(b.identity, b.prekeys, sb, k.data, False).session
    # keys 1, 2 of the old chain were genuinely skipped; index pn itself (what a libsignal
    # sender needs) is kept apart as speculative
    assert {n for (dh, n) in sb.ratchet.skipped if dh == old_ratchet_key} == {1, 2}
    assert {n for (dh, n) in sb.ratchet.speculative if dh == old_ratchet_key} == {3}
    assert Session.deserialize(sb.serialize()) == sb
    for i, data in ((3, fourth.data), (2, old[2]), (1, old[1])):
        d = engine.decrypt_key(b.identity, b.prekeys, sb, data, False)
        assert d.key_material == bytes([i]) * 32
        sb = d.session
    assert not sb.ratchet.skipped
    assert all(dh != old_ratchet_key for dh, _ in sb.ratchet.speculative)
    with pytest.raises(DuplicateMessage):
        engine.decrypt_key(b.identity, b.prekeys, sb, fourth.data, False)


def test_heartbeat_due_after_53_received() -> None:
    _a, b, sa, sb = pair()
    due = []
    for _ in range(54):
        sa, k = engine.encrypt_key(sa, b"h" * 32, rb)
        d = engine.decrypt_key(b.identity, b.prekeys, sb, k.data, False)
        sb = d.session
        due.append(d.heartbeat_due)
    assert due.index(True) == 52  # the 53rd message since Bob last sent (in pair())
    sb, _ = engine.encrypt_key(sb, b"e" * 16, rb)
    assert sb.received_since_sent == 0


def test_simultaneous_initiation_keeps_archived_state() -> None:
    a, b = Device(), Device()
    sa = engine.initiate(a.identity, b.bundle(), rb)
    sb = engine.initiate(b.identity, a.bundle(), rb)
    sa, ka = engine.encrypt_key(sa, b"A" * 32, rb)
    sb, kb = engine.encrypt_key(sb, b"B" * 32, rb)
    sa, ka2 = engine.encrypt_key(sa, b"C" * 32, rb)
    # Bob gets Alice's key exchange: new session, his own one archived
    db = engine.decrypt_key(b.identity, b.prekeys, sb, ka.data, True)
    assert db.new_session and len(db.session.archived) == 1
    # Alice gets Bob's key exchange likewise
    da = engine.decrypt_key(a.identity, a.prekeys, sa, kb.data, True)
    # Alice's second message of her (now archived on her side) session still reaches Bob
    db2 = engine.decrypt_key(b.identity, b.prekeys, db.session, ka2.data, True)
    assert db2.key_material == b"C" * 32
    # Bob answers in Alice's session; Alice decrypts with her archived state, which is promoted
    _sb2, reply = engine.encrypt_key(db2.session, b"D" * 32, rb)
    da2 = engine.decrypt_key(a.identity, a.prekeys, da.session, reply.data, reply.kex)
    assert da2.key_material == b"D" * 32
    assert da2.session.base_key == sa.base_key and len(da2.session.archived) == 1
    blob = da2.session.serialize()
    assert Session.deserialize(blob) == da2.session


def test_identity_mismatch_and_unknown_prekeys() -> None:
    a, b, _sa, sb = pair()
    mallory = Device()
    sm = engine.initiate(mallory.identity, b.bundle(), rb)
    _, km = engine.encrypt_key(sm, b"m" * 32, rb)
    with pytest.raises(IdentityMismatch):
        engine.decrypt_key(b.identity, b.prekeys, sb, km.data, True)
    with pytest.raises(IdentityMismatch):
        engine.decrypt_key(
            b.identity, b.prekeys, None, km.data, True, expected_identity=a.identity.x25519_public
        )
    with pytest.raises(UnknownPreKey):
        engine.decrypt_key(
            b.identity, b.prekeys.without(1).without(2).without(3), None, km.data, True
        )
    rotated = b.prekeys.rotate_signed_pre_key(b.identity, rb).rotate_signed_pre_key(b.identity, rb)
    with pytest.raises(UnknownPreKey):
        engine.decrypt_key(b.identity, rotated, None, km.data, True)
    with pytest.raises(NoSession):
        engine.decrypt_key(b.identity, b.prekeys, None, b"\x33", False)


def test_prekey_message_without_prekey_id_rejected() -> None:
    raw = proto.PreKeySignalMessage(
        baseKey=b"\x05" + bytes(32), identityKey=b"\x05" + bytes(32), message=b"x", signedPreKeyId=1
    )
    with pytest.raises(NoPreKey):
        wire.parse_pre_key_signal_message(b"\x33" + raw.SerializeToString())


@pytest.mark.parametrize(
    "data", [b"", b"\x23" + bytes(20), b"\x43" + bytes(20), b"\x33" + b"\xff" * 20, b"\x33" * 8]
)
def test_bad_signal_messages(data: bytes) -> None:
    with pytest.raises(MalformedMessage):
        wire.parse_signal_message(data)


def test_payload_roundtrip_and_old_format() -> None:
    iv, ct, km = engine.encrypt_payload(b"hello legacy", rb)
    assert len(iv) == 12 and len(km) == 32 and len(ct) == len(b"hello legacy")
    assert engine.decrypt_payload(iv, ct, km) == b"hello legacy"
    assert engine.decrypt_payload(iv, ct + km[16:], km[:16]) == b"hello legacy"
    with pytest.raises(AuthenticationFailed):
        engine.decrypt_payload(iv, ct, km[:16] + bytes(16))
    with pytest.raises(MalformedMessage):
        engine.decrypt_payload(iv, ct, km[:20])
    with pytest.raises(MalformedMessage):
        engine.decrypt_payload(b"", ct, km)


def test_session_blob_versions() -> None:
    _, _, sa, _ = pair()
    blob = sa.serialize()
    assert blob.startswith(b"OLSS\x02")
    assert Session.deserialize(blob) == sa
    with pytest.raises(StateVersionError):
        Session.deserialize(b"OLSS\x03" + blob[5:])
    with pytest.raises(StateVersionError):
        Session.deserialize(b"XXXX\x01" + blob[5:])
    with pytest.raises(StateVersionError):
        Session.deserialize(blob[:-3])


def _sample_random() -> engine.RandomBytes:
    counter = [0]

    def random_bytes(n: int) -> bytes:
        counter[0] += 1
        out = b""
        i = 0
        while len(out) < n:
            out += hashlib.sha256(b"sample%d-%d" % (counter[0], i)).digest()
            i += 1
        return out[:n]

    return random_bytes


def test_frozen_v1_samples_load_and_work() -> None:
    """samples/*-v1.bin were written by the first version; they must keep loading."""
    session = Session.deserialize((SAMPLES / "session-v1.bin").read_bytes())
    prekeys = OwnPreKeys.deserialize((SAMPLES / "prekeys-v1.bin").read_bytes())
    # the sample is Bob's side after two of Alice's messages; one skipped key is stored
    assert len(session.ratchet.skipped) == 1
    # regenerate Bob's identity from the same deterministic random stream
    rb_ = _sample_random()
    IdentityKeyPair.generate(rb_)
    bob = IdentityKeyPair.generate(rb_)
    assert session.own_identity_key == bob.x25519_public
    assert prekeys.bundle(bob).identity_key == bob.x25519_public
    late = (SAMPLES / "session-v1-next-message.bin").read_bytes()
    d = engine.decrypt_key(bob, prekeys, session, late, True)
    assert d.key_material == b"z" * 32
    # version 1 had one key store: its key counts as genuinely skipped
    assert not session.ratchet.speculative
    assert session.serialize().startswith(b"OLSS\x02")


def test_frozen_v2_sample_keeps_speculative_keys_apart() -> None:
    """samples/session-v2*.bin (tests/unit/omemo/samples/make_v2_samples.py): one genuinely
    skipped and one speculative key of the same old chain; both messages still decrypt."""
    blob = (SAMPLES / "session-v2.bin").read_bytes()
    session = Session.deserialize(blob)
    assert session.serialize() == blob
    assert [n for _, n in session.ratchet.skipped] == [1]
    assert [n for _, n in session.ratchet.speculative] == [1, 3]
    for name, expected in (("speculative", 3), ("skipped", 1)):
        data = (SAMPLES / f"session-v2-{name}-message.bin").read_bytes()
        session, plaintext = legacy_session.decrypt(session, data)
        assert plaintext == bytes([expected]) * 32
    assert not session.ratchet.skipped and len(session.ratchet.speculative) == 1


def test_speculative_keys_in_a_v1_blob_are_refused() -> None:
    blob = Session.deserialize((SAMPLES / "session-v2.bin").read_bytes()).serialize()
    with pytest.raises(StateVersionError):
        Session.deserialize(b"OLSS\x01" + blob[5:])
