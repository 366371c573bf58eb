"""Fuzzing the OMEMO 2 parsers and decryption: only OmemoError subclasses may escape."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from omemo_desktop.omemo import sce
from omemo_desktop.omemo.errors import DuplicateMessage, OmemoError
from omemo_desktop.omemo.keys import IdentityKeyPair
from omemo_desktop.omemo.twomemo import engine, labels, wire
from omemo_desktop.omemo.twomemo.session import Session, dump_prekeys, load_prekeys
from omemo_desktop.omemo.twomemo.x3dh import Bundle, OwnPreKeys

FUZZ = settings(max_examples=150, deadline=None)
ALICE = IdentityKeyPair.generate(os.urandom)
BOB = IdentityKeyPair.generate(os.urandom)
BOB_PREKEYS = OwnPreKeys.create(BOB, os.urandom, 0)
SESSION_A, FIRST = engine.encrypt_key(
    engine.initiate(ALICE, BOB_PREKEYS.bundle(BOB), os.urandom), b"k" * 48, os.urandom
)
SESSION_B = engine.decrypt_key(BOB, BOB_PREKEYS, None, FIRST.data, True).session
_, SECOND = engine.encrypt_key(SESSION_A, b"j" * 48, os.urandom)
SESSION_BLOB = SESSION_B.to_bytes()
#: a version 2 blob with both genuinely skipped and speculative keys
SESSION_V2_BLOB = (
    Path(__file__).parents[1] / "unit" / "omemo" / "samples" / "omemo2_session_v2.bin"
).read_bytes()
PREKEYS_BLOB = dump_prekeys(BOB_PREKEYS)


def mutate(data: bytes, flips: list[int], cut: int) -> bytes:
    out = bytearray(data)
    for f in flips:
        out[f % len(out)] ^= 1 << (f % 8)
    return bytes(out[: max(0, len(out) - cut)])


@FUZZ
@given(st.binary(max_size=300))
def test_wire_parsers(data: bytes) -> None:
    for parse in (wire.parse_message, wire.parse_authenticated, wire.parse_key_exchange):
        with contextlib.suppress(OmemoError):
            parse(data)


@FUZZ
@given(st.binary(max_size=300), st.booleans())
def test_decrypt_key_random_bytes(data: bytes, kex: bool) -> None:
    for session in (None, SESSION_B):
        with contextlib.suppress(OmemoError):
            engine.decrypt_key(BOB, BOB_PREKEYS, session, data, kex)


@FUZZ
@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=4), st.integers(0, 20), st.booleans())
def test_decrypt_key_mutated_messages(flips: list[int], cut: int, first: bool) -> None:
    element = FIRST if first else SECOND
    data = mutate(element.data, flips, cut)
    try:
        result = engine.decrypt_key(BOB, BOB_PREKEYS, SESSION_B, data, element.kex)
    except DuplicateMessage:
        assert first or data != element.data
    except OmemoError:
        pass
    else:  # only authentic content may decrypt
        assert result.key_material in (b"k" * 48, b"j" * 48)


@FUZZ
@given(st.lists(st.integers(0, 10**6), max_size=3), st.integers(0, 40), st.binary(max_size=64))
def test_state_blobs(flips: list[int], cut: int, junk: bytes) -> None:
    for blob, load in (
        (SESSION_BLOB, Session.from_bytes),
        (SESSION_V2_BLOB, Session.from_bytes),
        (PREKEYS_BLOB, load_prekeys),
    ):
        for candidate in (mutate(blob, flips, cut), junk, blob + junk):
            with contextlib.suppress(OmemoError):
                load(candidate)


@FUZZ
@given(st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_sce_parser(data: bytes) -> None:
    with contextlib.suppress(OmemoError):
        sce.parse_envelope(data)


@FUZZ
@given(st.text(max_size=30), st.text(max_size=100) | st.none(), st.binary(max_size=40))
def test_labels(label: str, sig: str | None, ik: bytes) -> None:
    assert labels.verified_label(label, sig, ik) in (None, label)


@FUZZ
@given(
    st.binary(max_size=40),
    st.integers(-5, 2**32),
    st.binary(max_size=40),
    st.binary(max_size=70),
    st.dictionaries(st.integers(-5, 2**32), st.binary(max_size=40), max_size=3),
)
def test_bundle_verify(
    ik: bytes, spk_id: int, spk: bytes, spks: bytes, pks: dict[int, bytes]
) -> None:
    with contextlib.suppress(OmemoError):
        Bundle(ik, spk_id, spk, spks, pks).verify()


@FUZZ
@given(st.binary(max_size=200), st.binary(max_size=60))
def test_decrypt_payload(ciphertext: bytes, key_material: bytes) -> None:
    with contextlib.suppress(OmemoError):
        engine.decrypt_payload(ciphertext, key_material)
