"""OMEMO 2 benchmark: ours vs python-twomemo (reference) in the same run, medians.

Run: .venv/bin/python benchmarks/bench_omemo2.py   (about 30 s)

Rows:
- first message to a fresh device (X3DH + ratchet init + one encryption)
- steady-state encrypt of a short message for 1, 10, 100 devices (payload + per-device keys)
- decrypt of one key element + payload (in order)
- the raw primitive cost of one per-device key encryption (2 HMAC chain step, HKDF-80,
  AES-256-CBC, HMAC), using `cryptography` objects directly, as the floor
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import twomemo.twomemo as tw
from cryptography.hazmat.primitives import hashes, hmac, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from omemo_desktop.omemo.keys import IdentityKeyPair
from omemo_desktop.omemo.twomemo import engine
from omemo_desktop.omemo.twomemo.session import Session
from omemo_desktop.omemo.twomemo.x3dh import OwnPreKeys
from tests.interop.test_twomemo_oracle import MemoryStorage

rnd = os.urandom
LOOP = asyncio.new_event_loop()
MESSAGE = b"<envelope xmlns='urn:xmpp:sce:1'><content><body xmlns='jabber:client'>Hi!</body></content><rpad>abcdefghijklmnopqrstuvwxyz</rpad></envelope>"  # noqa: E501


def median_us(fn: Callable[[], object], repeats: int, inner: int = 1) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter_ns() - start) / inner / 1000)
    return statistics.median(samples)


# --- ours --------------------------------------------------------------------------------------
class OurDevice:
    def __init__(self) -> None:
        self.identity = IdentityKeyPair.generate(rnd)
        self.prekeys = OwnPreKeys.create(self.identity, rnd, 0)
        self.bundle = self.prekeys.bundle(self.identity)


def our_sessions(n: int) -> tuple[OurDevice, list[Session]]:
    me = OurDevice()
    sessions = []
    for _ in range(n):
        peer = OurDevice()
        s = engine.initiate(me.identity, peer.bundle, rnd)
        s, key = engine.encrypt_key(s, b"k" * 48, rnd)
        got = engine.decrypt_key(peer.identity, peer.prekeys, None, key.data, True)
        _, reply = engine.encrypt_key(got.session, engine.EMPTY_KEY_MATERIAL, rnd)
        s = engine.decrypt_key(me.identity, me.prekeys, s, reply.data, False).session
        sessions.append(s)
    return me, sessions


def ours_encrypt(sessions: list[Session]) -> Callable[[], None]:
    def run() -> None:
        _ct, km = engine.encrypt_payload(MESSAGE, rnd)
        for i, s in enumerate(sessions):
            sessions[i], _ = engine.encrypt_key(s, km, rnd)

    return run


# --- theirs ------------------------------------------------------------------------------------
class TheirDevice:
    def __init__(self, device_id: int) -> None:
        self.device_id = device_id
        self.backend = tw.Twomemo(MemoryStorage())
        LOOP.run_until_complete(self.backend.generate_pre_keys(100))
        self.bundle = LOOP.run_until_complete(self.backend.get_bundle("x@y", device_id))


def their_sessions(n: int) -> tuple[TheirDevice, list[tw.SessionImpl]]:
    me = TheirDevice(1)
    sessions = []
    empty = tw.PlainKeyMaterialImpl.make_empty()
    for i in range(n):
        peer = TheirDevice(i + 2)
        s, _ = LOOP.run_until_complete(
            me.backend.build_session_active("x@y", i + 2, peer.bundle, empty)
        )
        sessions.append(s)
    return me, sessions


def theirs_encrypt(me: TheirDevice, sessions: list[tw.SessionImpl]) -> Callable[[], None]:
    async def run_async() -> None:
        _, km = await me.backend.encrypt_plaintext(MESSAGE)
        for s in sessions:
            await me.backend.encrypt_key_material(s, km)

    return lambda: LOOP.run_until_complete(run_async())


# --- raw floor ------------------------------------------------------------------------------------
def raw_key_encryption() -> None:
    ck = b"c" * 32
    h = hmac.HMAC(ck, hashes.SHA256())
    h.update(b"\x01")
    mk = h.finalize()
    h = hmac.HMAC(ck, hashes.SHA256())
    h.update(b"\x02")
    h.finalize()
    okm = HKDF(hashes.SHA256(), 80, b"\x00" * 32, b"OMEMO Message Key Material").derive(mk)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(b"k" * 48) + padder.finalize()
    enc = Cipher(algorithms.AES(okm[:32]), modes.CBC(okm[64:])).encryptor()
    ct = enc.update(padded) + enc.finalize()
    h = hmac.HMAC(okm[32:64], hashes.SHA256())
    h.update(b"A" * 64 + ct)
    h.finalize()


def main() -> None:
    rows: list[tuple[str, float, float]] = []

    peer = OurDevice()
    me = OurDevice()
    ours_first = median_us(
        lambda: engine.encrypt_key(engine.initiate(me.identity, peer.bundle, rnd), b"k" * 48, rnd),
        200,
    )
    their_me, their_peer = TheirDevice(1), TheirDevice(2)
    km = tw.PlainKeyMaterialImpl(b"k" * 32, b"t" * 16)
    theirs_first = median_us(
        lambda: LOOP.run_until_complete(
            their_me.backend.build_session_active("x@y", 2, their_peer.bundle, km)
        ),
        50,
    )
    rows.append(("first message to a fresh device", ours_first, theirs_first))

    for n in (1, 10, 100):
        _, sessions = our_sessions(n)
        tme, tsessions = their_sessions(n)
        reps = 200 if n < 100 else 30
        rows.append(
            (
                f"encrypt short message, {n} device(s)",
                median_us(ours_encrypt(sessions), reps),
                median_us(theirs_encrypt(tme, tsessions), max(10, reps // 4)),
            )
        )

    # decrypt (in order, key element + payload)
    a, b = OurDevice(), OurDevice()
    s_a = engine.initiate(a.identity, b.bundle, rnd)
    s_a, first = engine.encrypt_key(s_a, b"k" * 48, rnd)
    s_b = engine.decrypt_key(b.identity, b.prekeys, None, first.data, True).session
    s_b, reply = engine.encrypt_key(s_b, engine.EMPTY_KEY_MATERIAL, rnd)
    s_a = engine.decrypt_key(a.identity, a.prekeys, s_a, reply.data, False).session
    stream = []
    for _ in range(400):
        ct, km48 = engine.encrypt_payload(MESSAGE, rnd)
        s_a, key = engine.encrypt_key(s_a, km48, rnd)
        stream.append((ct, key.data))
    it = iter(stream)
    state = {"s": s_b}

    def ours_decrypt() -> None:
        ct, data = next(it)
        got = engine.decrypt_key(b.identity, b.prekeys, state["s"], data, False)
        state["s"] = got.session
        engine.decrypt_payload(ct, got.key_material)

    ours_dec = median_us(ours_decrypt, 400)

    ta, tb = TheirDevice(1), TheirDevice(2)
    empty = tw.PlainKeyMaterialImpl.make_empty()
    ts_a, enc0 = LOOP.run_until_complete(
        ta.backend.build_session_active("x@y", 2, tb.bundle, empty)
    )
    kx = ts_a.key_exchange
    parsed_kx, _ = tw.KeyExchangeImpl.parse(kx.serialize(enc0.serialize()))
    ts_b, _ = LOOP.run_until_complete(tb.backend.build_session_passive("x@y", 1, parsed_kx, enc0))
    tstream = []
    for _ in range(200):
        content, pkm = LOOP.run_until_complete(ta.backend.encrypt_plaintext(MESSAGE))
        enc = LOOP.run_until_complete(ta.backend.encrypt_key_material(ts_a, pkm))
        tstream.append((content, enc))
    tit = iter(tstream)

    async def theirs_decrypt_async() -> None:
        content, enc = next(tit)
        pkm = await tb.backend.decrypt_key_material(ts_b, enc)
        await tb.backend.decrypt_plaintext(content, pkm)

    theirs_dec = median_us(lambda: LOOP.run_until_complete(theirs_decrypt_async()), 200)
    rows.append(("decrypt key element + payload", ours_dec, theirs_dec))

    raw = median_us(raw_key_encryption, 200, 10)
    _, one = our_sessions(1)
    per_key = median_us(
        lambda: one.__setitem__(0, engine.encrypt_key(one[0], b"k" * 48, rnd)[0]), 200, 10
    )

    print(f"{'operation':42} {'ours µs':>10} {'twomemo µs':>11} {'speed-up':>9}")
    for name, ours, theirs in rows:
        print(f"{name:42} {ours:10.1f} {theirs:11.1f} {theirs / ours:8.1f}x")
    print(
        f"\nper-device key encryption: ours {per_key:.1f} µs vs raw primitive floor {raw:.1f} µs"
        f" ({per_key / raw:.2f}x)"
    )


if __name__ == "__main__":
    main()
