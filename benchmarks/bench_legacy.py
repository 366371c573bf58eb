"""Legacy OMEMO benchmark: ours vs python-oldmemo (oracle) in the same run; prints medians.

    .venv/bin/python benchmarks/bench_legacy.py [--repeat N]

Cases: first message to a fresh device (X3DH + first ratchet message, bundle already fetched
and parsed), encrypting one message's key material for 1/10/100 established devices, and
decrypting one message.  oldmemo is driven through its ``Oldmemo`` backend (async).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from oldmemo.oldmemo import EncryptedKeyMaterialImpl, Oldmemo, PlainKeyMaterialImpl
from omemo.storage import Just, Maybe, Nothing, Storage

from omemo_desktop.omemo.keys import IdentityKeyPair
from omemo_desktop.omemo.legacy import engine
from omemo_desktop.omemo.legacy.bundle import OwnPreKeys

rb = os.urandom


class MemoryStorage(Storage):
    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, Any] = {}

    async def _load(self, key: str) -> Maybe[Any]:
        return Just(self.data[key]) if key in self.data else Nothing()

    async def _store(self, key: str, value: Any) -> None:
        self.data[key] = value

    async def _delete(self, key: str) -> None:
        self.data.pop(key, None)


def median_us(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


async def amedian_us(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


# ---- ours ------------------------------------------------------------------------------------


def bench_ours(repeat: int) -> dict[str, float]:
    me = IdentityKeyPair.generate(rb)
    peers = []
    for _ in range(100):
        ident = IdentityKeyPair.generate(rb)
        peers.append((ident, OwnPreKeys.generate(ident, rb, 100)))
    bundles = [pk.bundle(ident) for ident, pk in peers]
    km = rb(32)

    def first() -> None:
        s = engine.initiate(me, bundles[0], rb)
        engine.encrypt_key(s, km, rb)

    # established, confirmed sessions with every peer
    sessions = []
    for (ident, pk), bundle in zip(peers, bundles, strict=True):
        s = engine.initiate(me, bundle, rb)
        s, k = engine.encrypt_key(s, km, rb)
        d = engine.decrypt_key(ident, pk, None, k.data, True)
        ps, reply = engine.encrypt_key(d.session, km, rb)
        s = engine.decrypt_key(me, pk, s, reply.data, False).session
        sessions.append([s, ps])

    def encrypt_n(n: int) -> Callable[[], None]:
        def run() -> None:
            _iv, _ct, key_material = engine.encrypt_payload(b"hello" * 20, rb)
            for entry in sessions[:n]:
                entry[0], _ = engine.encrypt_key(entry[0], key_material, rb)

        return run

    ident0, pk0 = peers[0]

    def decrypt() -> None:
        entry = sessions[0]
        entry[0], k = engine.encrypt_key(entry[0], km, rb)
        t = time.perf_counter()
        entry[1] = engine.decrypt_key(ident0, pk0, entry[1], k.data, False).session
        decrypt_times.append(time.perf_counter() - t)

    decrypt_times: list[float] = []
    out = {"first message": median_us(first, repeat)}
    for n in (1, 10, 100):
        out[f"encrypt for {n}"] = median_us(encrypt_n(n), max(5, repeat // max(1, n // 10)))
    for _ in range(repeat):
        decrypt()
    out["decrypt"] = statistics.median(decrypt_times) * 1e6
    return out


# ---- oldmemo ---------------------------------------------------------------------------------


async def bench_oldmemo(repeat: int) -> dict[str, float]:
    async def device() -> Oldmemo:
        backend = Oldmemo(MemoryStorage())
        await backend.generate_pre_keys(100)
        return backend

    me = await device()
    peers = [await device() for _ in range(100)]
    bundles = [await p.get_bundle("peer@x", 1) for p in peers]
    km = PlainKeyMaterialImpl(rb(16), rb(16))

    async def first() -> None:
        await me.build_session_active("peer@x", 1, bundles[0], km)

    sessions = []
    for peer, bundle in zip(peers, bundles, strict=True):
        s, ekm = await me.build_session_active("peer@x", 1, bundle, km)
        kx = s.key_exchange
        ps, _ = await peer.build_session_passive("me@x", 2, kx, ekm)
        reply = await peer.encrypt_key_material(ps, km)
        await me.decrypt_key_material(
            s, EncryptedKeyMaterialImpl.parse(reply.serialize(), "peer@x", 1)
        )
        sessions.append((s, ps, peer))

    def encrypt_n(n: int) -> Callable[[], Any]:
        async def run() -> None:
            _content, key_material = await me.encrypt_plaintext(b"hello" * 20)
            for s, _ps, _peer in sessions[:n]:
                await me.encrypt_key_material(s, key_material)

        return run

    decrypt_times: list[float] = []

    async def decrypt() -> None:
        s, ps, peer = sessions[0]
        ekm = await me.encrypt_key_material(s, km)
        data = ekm.serialize()
        t = time.perf_counter()
        await peer.decrypt_key_material(ps, EncryptedKeyMaterialImpl.parse(data, "me@x", 2))
        decrypt_times.append(time.perf_counter() - t)

    out = {"first message": await amedian_us(first, repeat)}
    for n in (1, 10, 100):
        out[f"encrypt for {n}"] = await amedian_us(encrypt_n(n), max(5, repeat // max(1, n // 10)))
    for _ in range(repeat):
        await decrypt()
    out["decrypt"] = statistics.median(decrypt_times) * 1e6
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=100)
    args = parser.parse_args()
    ours = bench_ours(args.repeat)
    theirs = asyncio.run(bench_oldmemo(args.repeat))
    print(f"{'case':<16} {'ours µs':>12} {'oldmemo µs':>12} {'ours/oldmemo':>13}")
    for case, value in ours.items():
        other = theirs[case]
        print(f"{case:<16} {value:12.1f} {other:12.1f} {value / other:13.2f}")


if __name__ == "__main__":
    main()
