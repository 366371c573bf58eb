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
from omemo_desktop.omemo.legacy.session import PROFILE as LEGACY_PROFILE
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
    # pn_inclusive keeps one (normally unused) key at index pn of each finished peer chain,
    # apart from the genuinely skipped ones (none here)
    assert not bob.skipped and not alice.skipped
    assert {n for _, n in bob.speculative} == {3}
    assert {n for _, n in alice.speculative} == {2}


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


def _exchange(
    sender: RatchetState,
    receiver: RatchetState,
    profile: ratchet.RatchetProfile = PROFILE,
    sender_profile: ratchet.RatchetProfile | None = None,
) -> tuple[RatchetState, RatchetState]:
    sender, msgs = send(sender, 1, sender_profile or profile)
    receiver, result = ratchet.decrypt(profile, receiver, msgs[0][1], AD)
    assert result.plaintext == msgs[0][0]
    return sender, receiver


@pytest.mark.parametrize("profile", [PROFILE, LEGACY_PROFILE], ids=["omemo2", "legacy"])
def test_long_alternating_conversation_keeps_the_key_store_near_empty(
    profile: ratchet.RatchetProfile,
) -> None:
    """3,000 alternating messages with a spec-conforming peer (every one a DH ratchet step):
    no genuinely skipped keys pile up, the speculative ones stay at one per recent chain, and
    a message held back at the start still decrypts at the end (nothing crowded it out)."""
    alice, bob = pair(profile)
    alice, bob = _exchange(alice, bob, profile)
    bob, alice = _exchange(bob, alice, profile)
    alice, held = send(alice, 1, profile)  # delayed until the end of the conversation
    for i in range(3_000):
        if i % 2:
            bob, alice = _exchange(bob, alice, profile)
        else:
            alice, bob = _exchange(alice, bob, profile)
        assert len(alice.speculative) <= ratchet.SPECULATIVE_CHAINS
        assert len(bob.speculative) <= ratchet.SPECULATIVE_CHAINS
    assert len(alice.skipped) == 0 and len(bob.skipped) == 1  # only the held message's key
    assert len(bob.speculative) == ratchet.SPECULATIVE_CHAINS
    bob, result = ratchet.decrypt(profile, bob, held[0][1], AD)
    assert result.plaintext == held[0][0] and result.from_skipped
    assert not bob.skipped


def test_speculative_key_is_dropped_after_five_dh_steps() -> None:
    quirky = LibsignalStylePn()
    alice, bob = pair()
    alice, bob = _exchange(alice, bob, sender_profile=quirky)
    bob, alice = _exchange(bob, alice)
    alice, chain = send(alice, 2, quirky)  # the 2nd is late; the next chain's pn will say 1
    bob, _ = ratchet.decrypt(PROFILE, bob, chain[0][1], AD)
    late_chain = alice.dhs_public
    bob, alice = _exchange(bob, alice)
    alice, bob = _exchange(alice, bob, sender_profile=quirky)
    # the only key of that chain that libsignal-style pn needs is kept, but as speculative
    assert (late_chain, 1) in bob.speculative and not bob.skipped
    for step in range(ratchet.SPECULATIVE_CHAINS - 1):
        bob, alice = _exchange(bob, alice)
        alice, bob = _exchange(alice, bob, sender_profile=quirky)
        assert (late_chain, 1) in bob.speculative, step
    still_late = bob  # 4 further DH steps: still decryptable
    _, result = ratchet.decrypt(PROFILE, still_late, chain[1][1], AD)
    assert result.plaintext == chain[1][0] and result.from_skipped
    bob, alice = _exchange(bob, alice)
    alice, bob = _exchange(alice, bob, sender_profile=quirky)
    assert all(dh != late_chain for dh, _ in bob.speculative)  # the 5th step dropped it
    assert len(bob.speculative) <= ratchet.SPECULATIVE_CHAINS
    with pytest.raises(OmemoError):
        ratchet.decrypt(PROFILE, bob, chain[1][1], AD)


def test_speculative_keys_make_room_first() -> None:
    alice, bob = pair()
    for _ in range(ratchet.SPECULATIVE_CHAINS + 2):
        alice, bob = _exchange(alice, bob)
        bob, alice = _exchange(bob, alice)
    assert len(bob.speculative) == ratchet.SPECULATIVE_CHAINS
    newest = list(bob.speculative)[-1]
    last_chain = alice.dhs_public
    # a new chain whose message 998 arrives first: 998 genuinely skipped keys, plus 5
    # speculative ones (the oldest aged out, the last chain's added) would be 1,003 > 1,000
    alice, msgs = send(alice, 999)
    bob, _ = ratchet.decrypt(PROFILE, bob, msgs[-1][1], AD)
    assert len(bob.skipped) == 998  # no genuine key was evicted
    assert len(bob.skipped) + len(bob.speculative) == ratchet.MAX_STORED
    assert list(bob.speculative) == [newest, (last_chain, 1)]  # the oldest 3 went first
    # more genuine keys: every speculative key goes before the oldest genuine one
    alice, more = send(alice, 3)
    bob, _ = ratchet.decrypt(PROFILE, bob, more[-1][1], AD)
    assert not bob.speculative and len(bob.skipped) == ratchet.MAX_STORED
    bob, result = ratchet.decrypt(PROFILE, bob, msgs[0][1], AD)
    assert result.plaintext == msgs[0][0]
