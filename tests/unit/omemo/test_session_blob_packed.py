"""The OMEMO 2 session blob packs its skipped keys in one go: same bytes as field by field."""

from __future__ import annotations

import os
import struct

import pytest

from omemo_desktop.omemo.errors import StateVersionError
from omemo_desktop.omemo.keys import IdentityKeyPair
from omemo_desktop.omemo.twomemo import engine
from omemo_desktop.omemo.twomemo.session import Session
from omemo_desktop.omemo.twomemo.x3dh import OwnPreKeys

U32 = struct.Struct(">I")


def session_with_skipped(skipped: int) -> Session:
    """Bob's session after Alice sent `skipped + 1` messages of which only the last arrived."""
    alice, bob = IdentityKeyPair.generate(os.urandom), IdentityKeyPair.generate(os.urandom)
    bob_prekeys = OwnPreKeys.create(bob, os.urandom, 0)
    s_alice = engine.initiate(alice, bob_prekeys.bundle(bob), os.urandom)
    s_alice, first = engine.encrypt_key(s_alice, b"k" * 48, os.urandom)
    s_bob = engine.decrypt_key(bob, bob_prekeys, None, first.data, True).session
    for _ in range(skipped):
        s_alice, _lost = engine.encrypt_key(s_alice, b"k" * 48, os.urandom)
    s_alice, last = engine.encrypt_key(s_alice, b"k" * 48, os.urandom)
    return engine.decrypt_key(bob, bob_prekeys, s_bob, last.data, True).session


def test_round_trip_and_byte_layout() -> None:
    session = session_with_skipped(300)
    skipped = session.ratchet.skipped
    assert len(skipped) == 300
    blob = session.to_bytes()
    # the tail: u32 count, then blob(dh_pub) u32(n) blob(mk) per key, as the generic writer
    fields = b"".join(
        U32.pack(32) + dh + U32.pack(n) + U32.pack(32) + mk for (dh, n), mk in skipped.items()
    )
    assert blob.endswith(U32.pack(300) + fields)
    again = Session.from_bytes(blob)
    assert again == session
    assert list(again.ratchet.skipped.items()) == list(skipped.items())  # FIFO order kept
    assert again.to_bytes() == blob


def test_corrupt_or_truncated_skipped_keys_are_refused() -> None:
    blob = session_with_skipped(3).to_bytes()
    entry = 4 + 32 + 4 + 4 + 32
    first = len(blob) - 3 * entry
    bad_length = blob[:first] + U32.pack(31) + blob[first + 4 :]
    with pytest.raises(StateVersionError):
        Session.from_bytes(bad_length)
    with pytest.raises(StateVersionError):
        Session.from_bytes(blob[:-1])
    more = blob[: first - 4] + U32.pack(10**9) + blob[first:]
    with pytest.raises(StateVersionError):
        Session.from_bytes(more)
