"""Writes the frozen v1 samples once. Do not re-run after a format change: old samples must
keep loading. Deterministic "randomness" so the blobs are reproducible."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

from omemo_desktop.omemo.keys import IdentityKeyPair
from omemo_desktop.omemo.twomemo import engine
from omemo_desktop.omemo.twomemo.session import dump_prekeys
from omemo_desktop.omemo.twomemo.x3dh import OwnPreKeys

_counter = itertools.count()


def fake_random(n: int) -> bytes:
    return hashlib.sha512(next(_counter).to_bytes(8, "big")).digest()[:n]


def main() -> None:
    here = Path(__file__).parent
    a = IdentityKeyPair.from_seed(bytes(range(32, 64)))
    b = IdentityKeyPair.from_seed(bytes(range(32)))
    prekeys_b = OwnPreKeys.create(b, fake_random, 1_700_000_000)
    session_a = engine.initiate(a, prekeys_b.bundle(b), fake_random)
    session_a, key = engine.encrypt_key(session_a, b"first".ljust(48, b"."), fake_random)
    got = engine.decrypt_key(b, prekeys_b, None, key.data, key.kex)
    session_b, reply = engine.encrypt_key(got.session, engine.EMPTY_KEY_MATERIAL, fake_random)
    # a message for b from a, kept undelivered: the test decrypts it with b's stored session
    answered = engine.decrypt_key(a, prekeys_b, session_a, reply.data, reply.kex).session
    _, message = engine.encrypt_key(answered, b"sample key material".ljust(48, b"."), fake_random)
    (here / "omemo2_session_v1.bin").write_bytes(session_a.to_bytes())
    (here / "omemo2_session_b_v1.bin").write_bytes(session_b.to_bytes())
    (here / "omemo2_prekeys_v1.bin").write_bytes(dump_prekeys(prekeys_b))
    (here / "omemo2_message_v1.bin").write_bytes(message.data)


if __name__ == "__main__":
    main()
