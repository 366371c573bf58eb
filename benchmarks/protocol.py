"""Protocol benchmarks: our OMEMO 2 and legacy engines beside Syndace's twomemo and oldmemo
(test-only references) and beside the primitives floor (benchmarks/floor.py), same run.

Cases, each for both versions:
- first message to a fresh device: bundle verification, X3DH, ratchet start, one key
  encryption and the key-exchange wrapping (bundle already fetched and parsed);
- steady-state encryption of a short message for N recipient devices: one payload encryption
  and N per-device key encryptions, serialized;
- decryption of one message: parse + key element + payload, in order;
- a conversation with alternating senders (every message is a DH ratchet step), per message
  encrypt + decrypt;
- wire bytes of the whole <message/> stanza for N devices, built by our service's builders
  around our key elements and payload and around the reference's.

The references are driven through their backend classes (Twomemo / Oldmemo) in one running
event loop, with an in-memory storage; their key material objects are serialized/parsed the way
a client would put them on the wire, like ours.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

import oldmemo.oldmemo as om
import twomemo.twomemo as tw
from slixmpp.xmlstream.tostring import tostring

from omemo_desktop.omemo.keys import IdentityKeyPair
from omemo_desktop.omemo.legacy import engine as legacy
from omemo_desktop.omemo.legacy.bundle import OwnPreKeys as LegacyPreKeys
from omemo_desktop.omemo.twomemo import engine as omemo2
from omemo_desktop.omemo.twomemo.x3dh import OwnPreKeys
from omemo_desktop.service.omemo_account import FALLBACK_BODY, _eme
from omemo_desktop.storage import Namespace
from omemo_desktop.xmpp import omemo_xml as ox
from omemo_desktop.xmpp import stanzas
from tests.helpers.reference_storage import MemoryStorage

from . import floor
from .common import Config, Row, Stats, interleaved, interleaved_many, reps_for

rnd = os.urandom
#: a short chat message: an SCE envelope for OMEMO 2 (what we encrypt), a body for legacy
ENVELOPE = (
    b"<envelope xmlns='urn:xmpp:sce:1'><content><body xmlns='jabber:client'>Hi! See you at"
    b" eight?</body></content><rpad>abcdefghijklmnopqrstuvwxyz0123</rpad>"
    b"<from jid='alice@example.org'/></envelope>"
)
BODY = b"Hi! See you at eight? Bring the slides, please; I'll bring the coffee." * 1
PEER = "bob@example.org"
TARGET = 2.0  # the target: within 2x of the primitives floor


# --- our side ---------------------------------------------------------------------------------


class Ours:
    """Our engine for one version, behind the same small interface as the references."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.engine: Any = omemo2 if version == "omemo2" else legacy
        self.plaintext = ENVELOPE if version == "omemo2" else BODY
        self.last_session: Any = None

    def device(self) -> tuple[IdentityKeyPair, Any, Any]:
        identity = IdentityKeyPair.generate(rnd)
        if self.version == "omemo2":
            prekeys: Any = OwnPreKeys.create(identity, rnd, 0)
        else:
            prekeys = LegacyPreKeys.generate(identity, rnd, 100)
        return identity, prekeys, prekeys.bundle(identity)

    def key_material(self) -> bytes:
        return rnd(48 if self.version == "omemo2" else 32)

    def encrypt_payload(self) -> tuple[bytes, bytes, bytes]:
        """-> (payload ciphertext, iv or b"", key material)"""
        if self.version == "omemo2":
            ct, km = omemo2.encrypt_payload(self.plaintext, rnd)
            return ct, b"", km
        iv, ct, km = legacy.encrypt_payload(self.plaintext, rnd)
        return ct, iv, km

    def decrypt_payload(self, ct: bytes, iv: bytes, km: bytes) -> bytes:
        if self.version == "omemo2":
            return omemo2.decrypt_payload(ct, km)
        return legacy.decrypt_payload(iv, ct, km)

    def pair(self) -> tuple[Any, Any, Any, Any]:
        """Two devices with a confirmed session: (a, b, session of a, session of b)."""
        e = self.engine
        a, b = self.device(), self.device()
        s_a = e.initiate(a[0], b[2], rnd)
        s_a, first = e.encrypt_key(s_a, self.key_material(), rnd)
        s_b = e.decrypt_key(b[0], b[1], None, first.data, True).session
        s_b, reply = e.encrypt_key(s_b, self.key_material(), rnd)
        s_a = e.decrypt_key(a[0], a[1], s_a, reply.data, False).session
        return a, b, s_a, s_b

    def sessions(self, n: int) -> list[Any]:
        """n confirmed sessions from one device (to n sessions of one peer identity)."""
        e = self.engine
        me, peer = self.device(), self.device()
        out = []
        for _ in range(n):
            s = e.initiate(me[0], peer[2], rnd)
            s, key = e.encrypt_key(s, self.key_material(), rnd)
            got = e.decrypt_key(peer[0], peer[1], None, key.data, True)
            _, reply = e.encrypt_key(got.session, self.key_material(), rnd)
            out.append(e.decrypt_key(me[0], me[1], s, reply.data, False).session)
        return out

    def first_message(self) -> Callable[[], object]:
        me, _, _ = self.device()
        _, _, bundle = self.device()
        km = self.key_material()
        e = self.engine
        return lambda: e.encrypt_key(e.initiate(me, bundle, rnd), km, rnd)

    def encrypt(self, sessions: list[Any]) -> Callable[[], list[bytes]]:
        e = self.engine

        def run() -> list[bytes]:
            ct, _iv, km = self.encrypt_payload()
            out = [ct]
            for i, s in enumerate(sessions):
                sessions[i], key = e.encrypt_key(s, km, rnd)
                out.append(key.data)
            return out

        return run

    def decrypt(self, count: int) -> Callable[[], object]:
        e = self.engine
        _, b, s_a, s_b = self.pair()
        stream = []
        for _ in range(count):
            ct, iv, km = self.encrypt_payload()
            s_a, key = e.encrypt_key(s_a, km, rnd)
            stream.append((ct, iv, key.data))
        it = iter(stream)
        state = [s_b]

        def run() -> bytes:
            ct, iv, data = next(it)
            got = e.decrypt_key(b[0], b[1], state[0], data, False)
            state[0] = got.session
            return self.decrypt_payload(ct, iv, got.key_material)

        return run

    def conversation(self) -> Callable[[], object]:
        """One message per call, senders alternating: encrypt, then decrypt at the peer."""
        e = self.engine
        a, b, s_a, s_b = self.pair()
        ends = [[a, s_a], [b, s_b]]
        turn = [0]

        def message() -> bytes:
            i = turn[0] = turn[0] + 1
            sender, receiver = ends[i % 2], ends[1 - i % 2]
            ct, iv, km = self.encrypt_payload()
            sender[1], key = e.encrypt_key(sender[1], km, rnd)
            got = e.decrypt_key(receiver[0][0], receiver[0][1], receiver[1], key.data, False)
            receiver[1] = got.session
            self.last_session = sender[1]
            return self.decrypt_payload(ct, iv, got.key_material)

        return message

    def persisted_encrypt(self, session: Any) -> tuple[Callable[[], bytes], int]:
        """What the service does per device and message: load the stored blob, encrypt one
        key, serialize the new state. -> (the operation, blob size)."""
        e = self.engine
        if self.version == "omemo2":
            load, dump = type(session).from_bytes, type(session).to_bytes
        else:
            load, dump = type(session).deserialize, type(session).serialize
        blob = [dump(session)]
        km = self.key_material()

        def run() -> bytes:
            new, _key = e.encrypt_key(load(blob[0]), km, rnd)
            blob[0] = dump(new)
            return blob[0]

        return run, len(blob[0])


# --- the references -------------------------------------------------------------------------


class Theirs:
    """twomemo (omemo2) or oldmemo (legacy), driven through their backends."""

    def __init__(self, version: str, loop: asyncio.AbstractEventLoop) -> None:
        self.version = version
        self.loop = loop
        self.mod: Any = tw if version == "omemo2" else om
        self.name = "twomemo" if version == "omemo2" else "oldmemo"
        self.plaintext = ENVELOPE if version == "omemo2" else BODY

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def device(self) -> tuple[Any, Any]:
        cls = tw.Twomemo if self.version == "omemo2" else om.Oldmemo
        backend = cls(MemoryStorage(cache=True))
        await backend.generate_pre_keys(100)
        return backend, await backend.get_bundle(PEER, 2)

    def key_material(self) -> Any:
        return self.mod.PlainKeyMaterialImpl(rnd(32), rnd(16))

    def serialize_kex(self, session: Any, ekm: Any) -> bytes:
        out = session.key_exchange.serialize(ekm.serialize())
        return out[0] if isinstance(out, tuple) else out

    def parse(self, data: bytes, jid: str, device: int) -> Any:
        return self.mod.EncryptedKeyMaterialImpl.parse(data, jid, device)

    async def pair(self) -> tuple[Any, Any, Any, Any]:
        (a, _), (b, bundle_b) = await self.device(), await self.device()
        s_a, ekm = await a.build_session_active(PEER, 2, bundle_b, self.key_material())
        s_b, _ = await b.build_session_passive("alice@example.org", 1, s_a.key_exchange, ekm)
        reply = await b.encrypt_key_material(s_b, self.key_material())
        await a.decrypt_key_material(s_a, self.parse(reply.serialize(), PEER, 2))
        return a, b, s_a, s_b

    def sessions(self, n: int) -> tuple[Any, list[Any]]:
        async def build() -> tuple[Any, list[Any]]:
            (me, _), (_, bundle) = await self.device(), await self.device()
            km = self.key_material()
            sessions = [
                (await me.build_session_active(PEER, i + 2, bundle, km))[0] for i in range(n)
            ]
            return me, sessions

        result: tuple[Any, list[Any]] = self.run(build())
        return result

    def first_message(self) -> Callable[[], Any]:
        (me, _), (_, bundle) = self.run(self.device()), self.run(self.device())
        km = self.key_material()

        async def first() -> bytes:
            session, ekm = await me.build_session_active(PEER, 2, bundle, km)
            return self.serialize_kex(session, ekm)

        return first

    def encrypt(self, me: Any, sessions: list[Any]) -> Callable[[], Any]:
        async def run() -> list[bytes]:
            content, km = await me.encrypt_plaintext(self.plaintext)
            out = [content.ciphertext]
            for s in sessions:
                out.append((await me.encrypt_key_material(s, km)).serialize())
            return out

        return run

    def decrypt(self, count: int) -> Callable[[], Any]:
        async def prepare() -> tuple[Any, Any, list[tuple[Any, bytes]]]:
            a, b, s_a, s_b = await self.pair()
            stream = []
            for _ in range(count):
                content, km = await a.encrypt_plaintext(self.plaintext)
                stream.append((content, (await a.encrypt_key_material(s_a, km)).serialize()))
            return b, s_b, stream

        b, s_b, stream = self.run(prepare())
        it = iter(stream)

        async def run() -> bytes:
            content, data = next(it)
            km = await b.decrypt_key_material(s_b, self.parse(data, "alice@example.org", 1))
            plaintext: bytes = await b.decrypt_plaintext(content, km)
            return plaintext

        return run

    def conversation(self) -> Callable[[], Any]:
        a, b, s_a, s_b = self.run(self.pair())
        ends = [(a, s_a, "alice@example.org", 1), (b, s_b, PEER, 2)]
        turn = [0]

        async def message() -> bytes:
            i = turn[0] = turn[0] + 1
            sender, receiver = ends[i % 2], ends[1 - i % 2]
            content, km = await sender[0].encrypt_plaintext(self.plaintext)
            data = (await sender[0].encrypt_key_material(sender[1], km)).serialize()
            parsed = self.parse(data, sender[2], sender[3])
            got = await receiver[0].decrypt_key_material(receiver[1], parsed)
            plaintext: bytes = await receiver[0].decrypt_plaintext(content, got)
            return plaintext

        return message


# --- wire ---------------------------------------------------------------------------------------


def stanza_bytes(version: str, payload: bytes, keys: list[bytes]) -> int:
    """Bytes of the whole <message/> stanza as our service sends it (the same builders and
    extras: fallback body, EME, origin-id, receipt request, marker, chat state, store hint),
    serialized by slixmpp as on the wire; only the key elements and payload vary."""
    ns = Namespace.OMEMO2 if version == "omemo2" else Namespace.LEGACY
    element = ox.build_encrypted(
        ox.EncryptedXml(
            ns.value,
            1_234_567_890,
            tuple(ox.KeyXml(PEER, 1_000_000_000 + i, False, k) for i, k in enumerate(keys)),
            payload,
            None if version == "omemo2" else b"\x00" * 12,
        )
    )
    message = stanzas.build_message(
        stanzas.OutboundMessage(
            to=PEER,
            id="5f0c2a9e-8d3b-4c1e-9a7f-2b6d8e4f1a3c",
            body=FALLBACK_BODY,
            origin_id="5f0c2a9e-8d3b-4c1e-9a7f-2b6d8e4f1a3c",
            request_receipt=True,
            markable=True,
            chat_state="active",
            store_hint=True,
            extra=(element, _eme(ns)),
        )
    )
    return len(tostring(message, xmlns="jabber:client").encode())


# --- the rows -------------------------------------------------------------------------------


def run(cfg: Config) -> list[Row]:
    loop = asyncio.new_event_loop()
    rows: list[Row] = []
    try:
        for version in ("omemo2", "legacy"):
            rows += _version_rows(cfg, version, loop)
    finally:
        loop.close()
    return rows


def _version_rows(cfg: Config, version: str, loop: asyncio.AbstractEventLoop) -> list[Row]:
    ours, theirs = Ours(version), Theirs(version, loop)
    fix = floor.Fixture(floor.Omemo2 if version == "omemo2" else floor.Legacy)
    section = "OMEMO 2" if version == "omemo2" else "legacy"
    name = theirs.name
    rows: list[Row] = []
    log = cfg.log

    def row(case: str, mine: Stats, flo: Stats | None, ref: Stats | None, **kw: Any) -> None:
        rows.append(Row(section, case, kw.pop("unit", "µs"), mine, flo, "", ref, name, **kw))
        log(f"  {section}: {case}: ours {mine.median:.1f}")

    reps = cfg.reps
    row(
        "first message to a fresh device",
        *interleaved(
            loop,
            (ours.first_message(), reps // 2),
            (fix.first_message, reps // 2),
            (theirs.first_message(), max(10, reps // 6)),
        ),
    )

    wire_sizes: dict[int, tuple[int, int]] = {}
    # enough samples per fan-out that a burst of load from other processes moves no median
    fan_min = 9 if cfg.quick else 100
    for n in cfg.devices:
        sessions = ours.sessions(n)
        me, their_sessions = theirs.sessions(n)
        ours_fn, their_fn = ours.encrypt(sessions), theirs.encrypt(me, their_sessions)
        row(
            f"encrypt short message, {n} device{'s' if n > 1 else ''}",
            *interleaved(
                loop,
                (ours_fn, reps_for(reps, n, fan_min)),
                (lambda n=n: fix.encrypt(n, ours.plaintext), reps_for(reps, n, fan_min)),  # type: ignore[misc]
                (their_fn, reps_for(reps // 3, n, fan_min // 2)),
                warmup=1,
            ),
            target_floor_ratio=TARGET,
        )
        if n <= 100:
            mine = ours_fn()
            their = loop.run_until_complete(their_fn())
            wire_sizes[n] = (
                stanza_bytes(version, mine[0], mine[1:]),
                stanza_bytes(version, their[0], their[1:]),
            )
        del sessions, their_sessions, me

    count = reps + 10
    row(
        "decrypt one message (key + payload)",
        *interleaved(
            loop, (ours.decrypt(count), reps), (fix.decrypt, reps), (theirs.decrypt(count), reps)
        ),
        target_floor_ratio=TARGET,
    )

    n_msgs = cfg.conversation
    mine_conv, floor_conv, their_conv = interleaved_many(
        loop,
        [
            (ours.conversation(), n_msgs, False),
            (lambda: fix.alternating_message(ours.plaintext), min(n_msgs, 2000), False),
            (theirs.conversation(), n_msgs, True),
        ],
        warmup=0,  # exactly n_msgs messages each, every one timed
    )
    row(
        f"{n_msgs:,}-message conversation, alternating senders (per message)",
        mine_conv,
        floor_conv,
        their_conv,
        target_floor_ratio=TARGET,
    )
    persisted, size = ours.persisted_encrypt(ours.last_session)
    mine_step, floor_step = interleaved_many(
        loop,
        [
            (persisted, reps, False),
            (lambda: fix.p.encrypt_key(fix.chain_key, fix.key_material), reps, False),
        ],
    )
    row(
        "load + encrypt 1 key + save the session after it",
        mine_step,
        floor_step,
        None,
        note=f"the service's per-device step; state blob {size / 1024:.0f} KiB"
        f" ({len(ours.last_session.ratchet.skipped)} skipped keys kept)",
    )

    for n, (mine_bytes, their_bytes) in sorted(wire_sizes.items()):
        note = ""
        if n > 1 and 1 in wire_sizes:
            per = (mine_bytes - wire_sizes[1][0]) / (n - 1)
            their_per = (their_bytes - wire_sizes[1][1]) / (n - 1)
            note = f"per extra device: {per:.0f} B vs {their_per:.0f} B"
        row(
            f"<message/> stanza bytes, {n} device{'s' if n > 1 else ''}",
            Stats.exact(mine_bytes),
            None,
            Stats.exact(their_bytes),
            unit="bytes",
            note=note,
        )
    return rows
