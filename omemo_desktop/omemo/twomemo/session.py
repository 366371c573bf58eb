"""An OMEMO 2 session with one peer device, and versioned blobs of all OMEMO 2 state.

:class:`Session` wraps the ratchet state with what OMEMO 2 adds: the AD, the peer's identity,
the X3DH header (kept and re-sent with every message until the peer answers: ``confirmed``),
who initiated, and heartbeat bookkeeping. Use :mod:`.engine` to operate on sessions.

Blobs: ``Session.to_bytes()`` / ``Session.from_bytes()`` and ``dump_prekeys()`` /
``load_prekeys()``; a magic and a version byte lead every blob, unknown versions raise
:class:`StateVersionError`.

Session blob versions: 1 had one skipped-key store (on loading, its keys count as genuinely
skipped); 2 adds the ratchet's speculative keys (``RatchetState.speculative``) before the
skipped keys, in the same packed layout.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from ..codec import Reader, Writer
from ..errors import StateVersionError
from ..ratchet import EMPTY_SKIPPED, RatchetState, SkippedKeys
from .x3dh import KexHeader, OwnPreKeys, SignedPreKey

SESSION_MAGIC: Final = b"O2SS"
SESSION_VERSION: Final = 2
#: versions :meth:`Session.from_bytes` still reads
SESSION_VERSIONS: Final = (1, 2)
PREKEYS_MAGIC: Final = b"O2PK"
PREKEYS_VERSION: Final = 1
#: one skipped message key exactly as blob(dh_pub 32) u32(n) blob(mk 32) lay it out. A long
#: conversation keeps up to 1,000 of them per session, read and written with every message:
#: packed in one go, not field by field (1.4 ms -> ~0.2 ms to load a full session).
_SKIPPED: Final = struct.Struct(">I32sII32s")


@dataclass(frozen=True, slots=True)
class Session:
    ratchet: RatchetState
    #: IK_A || IK_B (Ed25519 forms, initiator first); constant for the session's lifetime
    ad: bytes
    #: the peer's Ed25519 identity key
    peer_identity: bytes
    kex: KexHeader
    #: True when we initiated (built the session from the peer's bundle)
    active: bool
    #: True once a message of the peer was decrypted with this session (stop sending the kex)
    confirmed: bool
    #: the peer ratchet key for which a heartbeat was already requested
    heartbeat_chain: bytes | None = None

    def __repr__(self) -> str:
        return f"Session(active={self.active}, confirmed={self.confirmed}, {self.ratchet!r})"

    def to_bytes(self) -> bytes:
        r = self.ratchet
        w = Writer(SESSION_MAGIC, SESSION_VERSION)
        w.blob(self.ad).blob(self.peer_identity).flag(self.active).flag(self.confirmed)
        w.optional_blob(self.heartbeat_chain)
        k = self.kex
        w.u32(k.pk_id).u32(k.spk_id).blob(k.ik).blob(k.ek)
        w.blob(r.root_key).blob(r.dhs_private).blob(r.dhs_public)
        w.optional_blob(r.dhr).optional_blob(r.cks).optional_blob(r.ckr)
        w.u32(r.ns).u32(r.nr).u32(r.pn)
        w.u32(len(r.previous_dhr))
        for key in r.previous_dhr:
            w.blob(key)
        w.u32(len(r.speculative))
        _write_skipped(w, r.speculative)
        w.u32(len(r.skipped))
        _write_skipped(w, r.skipped)
        return w.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Session:
        rd = Reader(data, SESSION_MAGIC, SESSION_VERSIONS)
        ad = rd.blob(64)
        peer_identity = rd.blob(32)
        active = rd.flag()
        confirmed = rd.flag()
        heartbeat_chain = rd.optional_blob(32)
        kex = KexHeader(rd.u32(), rd.u32(), rd.blob(32), rd.blob(32))
        root_key, dhs_private, dhs_public = rd.blob(32), rd.blob(32), rd.blob(32)
        dhr, cks, ckr = rd.optional_blob(32), rd.optional_blob(32), rd.optional_blob(32)
        ns, nr, pn = rd.u32(), rd.u32(), rd.u32()
        previous = tuple(rd.blob(32) for _ in range(rd.u32()))
        speculative = _read_skipped(rd) if rd.version >= 2 else EMPTY_SKIPPED
        skipped = _read_skipped(rd)
        rd.end()
        ratchet = RatchetState(
            root_key,
            dhs_private,
            dhs_public,
            dhr,
            cks,
            ckr,
            ns,
            nr,
            pn,
            skipped,
            previous,
            speculative,
        )
        return cls(ratchet, ad, peer_identity, kex, active, confirmed, heartbeat_chain)


def _write_skipped(w: Writer, skipped: SkippedKeys) -> None:
    items = skipped.items()
    if all(len(dh_pub) == 32 and len(mk) == 32 for (dh_pub, _), mk in items):
        pack = _SKIPPED.pack
        w.raw(b"".join([pack(32, dh_pub, n, 32, mk) for (dh_pub, n), mk in items]))
        return
    for (dh_pub, n), mk in items:  # not reached: parse() only accepts 32-byte ratchet keys
        w.blob(dh_pub).u32(n).blob(mk)


def _read_skipped(rd: Reader) -> SkippedKeys:
    count = rd.u32()
    skipped: dict[tuple[bytes, int], bytes] = {}
    for dh_length, dh_pub, n, mk_length, mk in _SKIPPED.iter_unpack(rd.raw(count * _SKIPPED.size)):
        if dh_length != 32 or mk_length != 32:
            raise StateVersionError("state blob is corrupt (bad field length)")
        skipped[(dh_pub, n)] = mk
    return MappingProxyType(skipped) if skipped else EMPTY_SKIPPED


def _write_spk(w: Writer, spk: SignedPreKey) -> None:
    w.u32(spk.id).blob(spk.private).blob(spk.public).blob(spk.signature).u64(spk.created)


def _read_spk(rd: Reader) -> SignedPreKey:
    return SignedPreKey(rd.u32(), rd.blob(32), rd.blob(32), rd.blob(64), rd.u64())


def dump_prekeys(state: OwnPreKeys) -> bytes:
    w = Writer(PREKEYS_MAGIC, PREKEYS_VERSION)
    _write_spk(w, state.spk)
    w.flag(state.previous_spk is not None)
    if state.previous_spk is not None:
        _write_spk(w, state.previous_spk)
    w.u32(state.next_pk_id).u32(state.next_spk_id).u32(len(state.prekeys))
    for pk_id, (private, public) in state.prekeys.items():
        w.u32(pk_id).blob(private).blob(public)
    return w.to_bytes()


def load_prekeys(data: bytes) -> OwnPreKeys:
    rd = Reader(data, PREKEYS_MAGIC, (PREKEYS_VERSION,))
    spk = _read_spk(rd)
    previous = _read_spk(rd) if rd.flag() else None
    next_pk_id, next_spk_id = rd.u32(), rd.u32()
    prekeys: dict[int, tuple[bytes, bytes]] = {}
    for _ in range(rd.u32()):
        pk_id = rd.u32()
        prekeys[pk_id] = (rd.blob(32), rd.blob(32))
    rd.end()
    return OwnPreKeys(spk, previous, MappingProxyType(prekeys), next_pk_id, next_spk_id)
