"""Double Ratchet invariants (OMEMO 2 profile), including hypothesis properties."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omemo_desktop.omemo import primitives, ratchet
from omemo_desktop.omemo.errors import (
    AuthenticationFailed,
    DuplicateMessage,
    NoSession,
    OmemoError,
    TooManySkipped,
)
from omemo_desktop.omemo.ratchet import Header, RatchetState
from omemo_desktop.omemo.twomemo.profile import PROFILE, Omemo2Profile

AD = b"A" * 32 + b"B" * 32
rnd = os.urandom


def pair(profile: ratchet.RatchetProfile = PROFILE) -> tuple[RatchetState, RatchetState]:
    sk = os.urandom(32)
    spk_private = primitives.clamp(os.urandom(32))
    spk_public = primitives.x25519_public_bytes(spk_private)
    alice = ratchet.init_active(profile, sk, spk_public, rnd)
    bob = ratchet.init_passive(sk, spk_private, spk_public)
    return alice, bob


def send(
    state: RatchetState, n: int, profile: ratchet.RatchetProfile = PROFILE
) -> tuple[RatchetState, list[tuple[bytes, bytes]]]:
    out = []
    for i in range(n):
        pt = i.to_bytes(4, "big") + os.urandom(44)
        state, data = ratchet.encrypt(profile, state, pt, AD, rnd)
        out.append((pt, data))
    return state, out


def test_round_trip_and_dh_steps() -> None:
    alice, bob = pair()
    for _ in range(4):
        alice, msgs = send(alice, 3)
        for pt, data in msgs:
            bob, result = ratchet.decrypt(PROFILE, bob, data, AD)
            assert result.plaintext == pt
        bob, msgs = send(bob, 2)
        for pt, data in msgs:
            alice, result = ratchet.decrypt(PROFILE, alice, data, AD)
            assert result.plaintext == pt
    # pn_inclusive keeps one (normally unused) key at index pn of each finished peer chain
    assert {n for _, n in bob.skipped} <= {3}
    assert {n for _, n in alice.skipped} <= {2}


def test_passive_cannot_send_first() -> None:
    _, bob = pair()
    with pytest.raises(NoSession):
        ratchet.encrypt(PROFILE, bob, b"x" * 48, AD, rnd)


def test_duplicates_and_state_unchanged_on_failure() -> None:
    alice, bob = pair()
    alice, msgs = send(alice, 3)
    bob, _ = ratchet.decrypt(PROFILE, bob, msgs[2][1], AD)
    bob, _ = ratchet.decrypt(PROFILE, bob, msgs[0][1], AD)
    for _, data in (msgs[0], msgs[2]):
        with pytest.raises(DuplicateMessage):
            ratchet.decrypt(PROFILE, bob, data, AD)
    tampered = bytearray(msgs[1][1])
    tampered[-1] ^= 1
    before = bob
    with pytest.raises(AuthenticationFailed):
        ratchet.decrypt(PROFILE, bob, bytes(tampered), AD)
    with pytest.raises(AuthenticationFailed):
        ratchet.decrypt(PROFILE, bob, msgs[1][1], b"wrong ad")
    assert bob == before
    bob, result = ratchet.decrypt(PROFILE, bob, msgs[1][1], AD)
    assert result.plaintext == msgs[1][0] and result.from_skipped


def test_old_chain_message_after_its_key_is_gone_is_duplicate() -> None:
    alice, bob = pair()
    alice, first = send(alice, 1)
    bob, _ = ratchet.decrypt(PROFILE, bob, first[0][1], AD)
    bob, reply = send(bob, 1)
    alice, _ = ratchet.decrypt(PROFILE, alice, reply[0][1], AD)
    alice, second = send(alice, 1)
    bob, _ = ratchet.decrypt(PROFILE, bob, second[0][1], AD)
    with pytest.raises(DuplicateMessage):
        ratchet.decrypt(PROFILE, bob, first[0][1], AD)


def test_skip_limit_per_message() -> None:
    alice, bob = pair()
    alice, msgs = send(alice, PROFILE.max_skip + 2)
    with pytest.raises(TooManySkipped):
        ratchet.decrypt(PROFILE, bob, msgs[-1][1], AD)
    bob, _result = ratchet.decrypt(PROFILE, bob, msgs[-2][1], AD)
    assert len(bob.skipped) == PROFILE.max_skip


def test_fifo_eviction_per_session() -> None:
    alice, bob = pair()
    alice, msgs = send(alice, 900)
    bob, _ = ratchet.decrypt(PROFILE, bob, msgs[-1][1], AD)  # 899 skipped
    alice, more = send(alice, 300)
    bob, _ = ratchet.decrypt(PROFILE, bob, more[-1][1], AD)  # +299 -> evict the oldest
    assert len(bob.skipped) == ratchet.MAX_STORED
    with pytest.raises(DuplicateMessage):
        ratchet.decrypt(PROFILE, bob, msgs[0][1], AD)
    bob, result = ratchet.decrypt(PROFILE, bob, msgs[500][1], AD)
    assert result.plaintext == msgs[500][0]


@dataclass(frozen=True)
class LibsignalStylePn(Omemo2Profile):
    """Sends pn as the last index (count - 1), like libsignal/libomemo-c."""

    def seal(self, message_key: bytes, header: Header, plaintext: bytes, ad: bytes) -> bytes:
        quirky = Header(header.dh_pub, max(header.pn - 1, 0), header.n)
        return super().seal(message_key, quirky, plaintext, ad)


def test_pn_last_index_quirk_mitigation() -> None:
    quirky = LibsignalStylePn()
    alice, bob = pair()
    alice, first = send(alice, 1, quirky)
    bob, _ = ratchet.decrypt(PROFILE, bob, first[0][1], AD)
    bob, reply = send(bob, 1)
    alice, _ = ratchet.decrypt(PROFILE, alice, reply[0][1], AD)
    alice, chain = send(alice, 3, quirky)  # chain of 3: the quirky pn will say 2
    bob, reply = send(bob, 1)
    alice, _ = ratchet.decrypt(PROFILE, alice, reply[0][1], AD)
    alice, next_chain = send(alice, 1, quirky)
    bob, _ = ratchet.decrypt(PROFILE, bob, chain[0][1], AD)
    bob, _ = ratchet.decrypt(PROFILE, bob, next_chain[0][1], AD)  # pn=2 although 3 were sent
    bob, result = ratchet.decrypt(PROFILE, bob, chain[2][1], AD)  # the last one, late
    assert result.plaintext == chain[2][0]
    bob, result = ratchet.decrypt(PROFILE, bob, chain[1][1], AD)
    assert result.plaintext == chain[1][0]


@settings(max_examples=25, deadline=None)
@given(data=st.data(), sizes=st.lists(st.integers(1, 12), min_size=1, max_size=4))
def test_any_delivery_order_decrypts_each_message_exactly_once(
    data: st.DataObject, sizes: list[int]
) -> None:
    alice, bob = pair()
    to_bob: list[tuple[bytes, bytes]] = []
    for size in sizes:
        alice, msgs = send(alice, size)
        to_bob.extend(msgs)
        # Bob answers something delivered so far so that Alice ratchets
        bob, reply = send(bob, 1) if bob.dhr is not None else (bob, [])
        for _, r in reply:
            alice, _ = ratchet.decrypt(PROFILE, alice, r, AD)
    order = data.draw(st.permutations(range(len(to_bob))))
    repeats = data.draw(st.lists(st.sampled_from(order), max_size=5))
    seen: set[int] = set()
    for i in list(order) + repeats:
        pt, msg = to_bob[i]
        if i in seen:
            with pytest.raises(DuplicateMessage):
                ratchet.decrypt(PROFILE, bob, msg, AD)
            continue
        bob, result = ratchet.decrypt(PROFILE, bob, msg, AD)
        assert result.plaintext == pt
        seen.add(i)
    assert seen == set(range(len(to_bob)))


@settings(max_examples=60, deadline=None)
@given(garbage=st.binary(max_size=200), flip=st.integers(0, 10_000))
def test_failed_decrypt_leaves_state_unchanged(garbage: bytes, flip: int) -> None:
    alice, bob = pair()
    alice, msgs = send(alice, 2)
    bob, _ = ratchet.decrypt(PROFILE, bob, msgs[0][1], AD)
    before = bob
    corrupted = bytearray(msgs[1][1])
    corrupted[flip % len(corrupted)] ^= 1 << (flip % 8)
    for candidate in (garbage, bytes(corrupted)):
        try:
            bob2, _ = ratchet.decrypt(PROFILE, bob, candidate, AD)
        except OmemoError:
            assert bob == before
        else:  # a flip inside a varint may still parse; then it must be authentic
            assert candidate == msgs[1][1] or bob2 != before
    bob, result = ratchet.decrypt(PROFILE, bob, msgs[1][1], AD)
    assert result.plaintext == msgs[1][0]
