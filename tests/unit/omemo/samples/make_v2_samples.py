"""Writes the frozen session-state v2 samples (OMEMO 2 here, legacy in ../legacy/samples) once.
Do not re-run after a format change: old samples must keep loading. Deterministic "randomness"
so the blobs are reproducible.

Each sample is the receiver's ("b") session after a DH ratchet step that left one genuinely
skipped key (message 1 of the sender's previous chain) and one speculative key (index 3 = pn of
that chain), plus the two messages those keys open: message 1, and the message a
libsignal-style sender would have sent at index 3 of the old chain.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omemo_desktop.omemo.keys import IdentityKeyPair
from omemo_desktop.omemo.legacy import engine as legacy_engine
from omemo_desktop.omemo.legacy.bundle import OwnPreKeys as LegacyPreKeys
from omemo_desktop.omemo.twomemo import engine as omemo2_engine
from omemo_desktop.omemo.twomemo.x3dh import OwnPreKeys

_counter = itertools.count()


def fake_random(n: int) -> bytes:
    return hashlib.sha512(b"v2" + next(_counter).to_bytes(8, "big")).digest()[:n]


def _scenario(
    engine: Any, a: IdentityKeyPair, b: IdentityKeyPair, b_prekeys: Any, bundle: Any, size: int
) -> tuple[Any, bytes, bytes]:
    """-> (b's session, message 1 of the old chain, the message at index pn of it)."""
    km: Callable[[int], bytes] = lambda i: bytes([i]) * size  # noqa: E731
    s_a = engine.initiate(a, bundle, fake_random)
    s_a, k = engine.encrypt_key(s_a, km(0), fake_random)
    s_b = engine.decrypt_key(b, b_prekeys, None, k.data, k.kex).session
    s_b, k = engine.encrypt_key(s_b, km(0), fake_random)
    s_a = engine.decrypt_key(a, None, s_a, k.data, k.kex).session
    chain = []
    for i in range(3):
        s_a, k = engine.encrypt_key(s_a, km(i), fake_random)
        chain.append(k.data)
    _, late = engine.encrypt_key(s_a, km(3), fake_random)  # what a libsignal sender could add
    for data in (chain[0], chain[2]):
        s_b = engine.decrypt_key(b, None, s_b, data, False).session
    s_b, k = engine.encrypt_key(s_b, km(0), fake_random)
    s_a = engine.decrypt_key(a, None, s_a, k.data, False).session
    s_a, k = engine.encrypt_key(s_a, km(4), fake_random)  # new chain, pn = 3 (the count)
    s_b = engine.decrypt_key(b, None, s_b, k.data, False).session
    return s_b, chain[1], late.data


def main() -> None:
    here = Path(__file__).parent
    legacy_dir = here.parent / "legacy" / "samples"
    a = IdentityKeyPair.from_seed(bytes(range(64, 96)))
    b = IdentityKeyPair.from_seed(bytes(range(96, 128)))

    prekeys = OwnPreKeys.create(b, fake_random, 1_700_000_000)
    session, skipped, speculative = _scenario(omemo2_engine, a, b, prekeys, prekeys.bundle(b), 48)
    assert len(session.ratchet.skipped) == 1 and len(session.ratchet.speculative) == 2
    (here / "omemo2_session_v2.bin").write_bytes(session.to_bytes())
    (here / "omemo2_message_v2_skipped.bin").write_bytes(skipped)
    (here / "omemo2_message_v2_speculative.bin").write_bytes(speculative)

    legacy_prekeys = LegacyPreKeys.generate(b, fake_random, 3)
    session, skipped, speculative = _scenario(
        legacy_engine, a, b, legacy_prekeys, legacy_prekeys.bundle(b), 32
    )
    assert len(session.ratchet.skipped) == 1 and len(session.ratchet.speculative) == 2
    (legacy_dir / "session-v2.bin").write_bytes(session.serialize())
    (legacy_dir / "session-v2-skipped-message.bin").write_bytes(skipped)
    (legacy_dir / "session-v2-speculative-message.bin").write_bytes(speculative)


if __name__ == "__main__":
    main()
