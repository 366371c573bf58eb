"""Hypothesis fuzzing of every legacy parser and of decrypt: only OmemoError may escape."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omemo_desktop.omemo.errors import OmemoError
from omemo_desktop.omemo.keys import IdentityKeyPair
from omemo_desktop.omemo.legacy import engine, proto, signatures, wire
from omemo_desktop.omemo.legacy.bundle import Bundle, OwnPreKeys
from omemo_desktop.omemo.legacy.session import Session

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

A = IdentityKeyPair.generate(os.urandom)
B = IdentityKeyPair.generate(os.urandom)
B_PREKEYS = OwnPreKeys.generate(B, os.urandom, 3)
_SA = engine.initiate(A, B_PREKEYS.bundle(B), os.urandom)
_SA, _K1 = engine.encrypt_key(_SA, b"k" * 32, os.urandom)
SB = engine.decrypt_key(B, B_PREKEYS, None, _K1.data, True).session
_SA, _K2 = engine.encrypt_key(_SA, b"k" * 32, os.urandom)
VALID_KEX = _K1.data
SESSION_BLOB = SB.serialize()
#: a version 2 blob with both genuinely skipped and speculative keys
SESSION_V2_BLOB = (
    Path(__file__).parents[1] / "unit" / "omemo" / "legacy" / "samples" / "session-v2.bin"
).read_bytes()


def _mutations(base: bytes) -> st.SearchStrategy[bytes]:
    """Random bytes, and the valid message with a few bytes changed/cut."""
    edits = st.lists(st.tuples(st.integers(0, len(base) - 1), st.integers(0, 255)), max_size=4)
    mutated = st.builds(
        lambda e, cut: bytes(_apply(base, e))[: cut or None], edits, st.integers(0, len(base))
    )
    return st.one_of(st.binary(max_size=300), mutated)


def _apply(base: bytes, edits: list[tuple[int, int]]) -> bytearray:
    out = bytearray(base)
    for i, v in edits:
        out[i] = v
    return out


@FUZZ
@given(_mutations(VALID_KEX))
def test_parse_pre_key_signal_message(data: bytes) -> None:
    with contextlib.suppress(OmemoError):
        wire.parse_pre_key_signal_message(data)


@FUZZ
@given(_mutations(wire.parse_pre_key_signal_message(VALID_KEX).message))
def test_parse_signal_message(data: bytes) -> None:
    with contextlib.suppress(OmemoError):
        wire.parse_signal_message(data)


@FUZZ
@given(_mutations(VALID_KEX), st.booleans())
def test_decrypt_key_random_bytes_with_session(data: bytes, kex: bool) -> None:
    with contextlib.suppress(OmemoError):
        engine.decrypt_key(B, B_PREKEYS, SB, data, kex)


@FUZZ
@given(_mutations(VALID_KEX))
def test_decrypt_key_random_bytes_without_session(data: bytes) -> None:
    with contextlib.suppress(OmemoError):
        engine.decrypt_key(B, B_PREKEYS, None, data, True)


@FUZZ
@given(_mutations(_K2.data))
def test_decrypt_signal_message_mutated(data: bytes) -> None:
    inner = wire.parse_pre_key_signal_message(_K2.data).message if data == _K2.data else data
    with contextlib.suppress(OmemoError):
        engine.decrypt_key(B, B_PREKEYS, SB, inner, False)


@FUZZ
@given(_mutations(SESSION_BLOB))
def test_session_deserialize(data: bytes) -> None:
    with contextlib.suppress(OmemoError):
        Session.deserialize(data)


@FUZZ
@given(_mutations(SESSION_V2_BLOB))
def test_session_v2_deserialize(data: bytes) -> None:
    with contextlib.suppress(OmemoError):
        Session.deserialize(data)


@FUZZ
@given(_mutations(B_PREKEYS.serialize()))
def test_prekeys_deserialize(data: bytes) -> None:
    with contextlib.suppress(OmemoError):
        OwnPreKeys.deserialize(data)


@FUZZ
@given(
    st.binary(max_size=40),
    st.integers(-(2**33), 2**33),
    st.binary(max_size=40),
    st.binary(max_size=70),
    st.dictionaries(st.integers(-5, 2**33), st.binary(max_size=40), max_size=3),
)
def test_bundle_from_wire_and_verify(
    ik: bytes, spk_id: int, spk: bytes, sig: bytes, pks: dict[int, bytes]
) -> None:
    with contextlib.suppress(OmemoError):
        Bundle.from_wire(
            identity_key=ik,
            signed_pre_key_id=spk_id,
            signed_pre_key=spk,
            signed_pre_key_signature=sig,
            pre_keys=pks,
        ).verify()


@FUZZ
@given(st.binary(max_size=40), st.binary(max_size=70), st.binary(max_size=40))
def test_signature_verifiers(u: bytes, sig: bytes, msg: bytes) -> None:
    for verify in (signatures.verify, signatures.xeddsa_verify):
        with pytest.raises(OmemoError):
            verify(u, sig, msg)


@FUZZ
@given(st.binary(max_size=20), st.binary(max_size=100), st.binary(max_size=40))
def test_decrypt_payload(iv: bytes, ct: bytes, km: bytes) -> None:
    with contextlib.suppress(OmemoError):
        engine.decrypt_payload(iv, ct, km)


@FUZZ
@given(st.binary(max_size=200))
def test_proto_parse_any_schema(data: bytes) -> None:
    for cls in (proto.SignalMessage, proto.PreKeySignalMessage, proto.SessionBlob):
        with contextlib.suppress(OmemoError):
            proto.parse(cls, data, "fuzz")
