"""OMEMO 2 X3DH ("OMEMO X3DH", XEP-0384 §4.2), bundles and the own pre-key state.

- :class:`Bundle` is the public bundle (ours to publish, or a peer's fetched one);
  :meth:`Bundle.verify` checks lengths, id ranges and the signed pre-key signature.
- :class:`OwnPreKeys` is our private pre-key state: signed pre-key (plus the previous one,
  kept for one rotation period), one-time pre-keys with monotonically assigned ids. It is
  immutable; every change returns a new object to persist.
- :func:`agree_active` / :func:`agree_passive` compute the shared secret SK and the
  associated data AD = IK_A || IK_B (Ed25519 forms, initiator first).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Final

from .. import primitives
from ..errors import InvalidKey, MalformedMessage, NoPreKey, UnknownPreKey
from ..keys import IdentityKeyPair

RandomBytes = Callable[[int], bytes]

INFO: Final = b"OMEMO X3DH"
MAX_ID: Final = 2**31 - 1
PREKEY_TARGET: Final = 100
PREKEY_REFILL_BELOW: Final = 25
#: Suggested signed pre-key rotation period (XEP: one week to one month).
SPK_ROTATION_PERIOD: Final = 7 * 24 * 3600
_FF: Final = b"\xff" * 32


def _check_id(value: int, what: str) -> None:
    if not 1 <= value <= MAX_ID:
        raise MalformedMessage(f"{what} {value} is outside 1..2^31-1")


@dataclass(frozen=True, slots=True)
class Bundle:
    ik: bytes
    spk_id: int
    spk: bytes
    spks: bytes
    #: one-time pre-keys: id -> X25519 public key
    prekeys: Mapping[int, bytes]

    def verify(self) -> None:
        """Raise an OmemoError unless the bundle is well-formed and its SPK signature verifies."""
        if len(self.ik) != 32:
            raise MalformedMessage("bundle identity key must be 32 bytes")
        primitives.ed_to_mont(self.ik)  # rejects invalid y coordinates
        if len(self.spk) != 32 or len(self.spks) != 64:
            raise MalformedMessage("bundle spk must be 32 bytes and spks 64 bytes")
        _check_id(self.spk_id, "signed pre-key id")
        if not self.prekeys:
            raise NoPreKey("the bundle has no pre-keys")
        for pk_id, pk in self.prekeys.items():
            _check_id(pk_id, "pre-key id")
            if len(pk) != 32:
                raise MalformedMessage("pre-keys must be 32 bytes")
        primitives.ed25519_verify(self.ik, self.spks, self.spk)


@dataclass(frozen=True, slots=True)
class KexHeader:
    """What OMEMOKeyExchange carries besides the message: identifies one key agreement."""

    pk_id: int
    spk_id: int
    ik: bytes
    ek: bytes


@dataclass(frozen=True, slots=True)
class SignedPreKey:
    id: int
    private: bytes
    public: bytes
    signature: bytes
    created: int

    def __repr__(self) -> str:
        return f"SignedPreKey(id={self.id}, created={self.created})"


def _new_spk(
    identity: IdentityKeyPair, spk_id: int, random_bytes: RandomBytes, now: int
) -> SignedPreKey:
    private = primitives.clamp(random_bytes(32))
    public = primitives.x25519_public_bytes(private)
    return SignedPreKey(spk_id, private, public, identity.sign(public), now)


@dataclass(frozen=True, slots=True)
class OwnPreKeys:
    spk: SignedPreKey
    previous_spk: SignedPreKey | None
    #: id -> (private, public)
    prekeys: Mapping[int, tuple[bytes, bytes]]
    next_pk_id: int
    next_spk_id: int

    def __repr__(self) -> str:
        return f"OwnPreKeys(spk={self.spk.id}, prekeys={len(self.prekeys)}, next={self.next_pk_id})"

    @classmethod
    def create(cls, identity: IdentityKeyPair, random_bytes: RandomBytes, now: int) -> OwnPreKeys:
        empty = cls(_new_spk(identity, 1, random_bytes, now), None, MappingProxyType({}), 1, 2)
        return empty.refill(random_bytes, force=True)

    def needs_refill(self) -> bool:
        return len(self.prekeys) < PREKEY_REFILL_BELOW

    def refill(self, random_bytes: RandomBytes, *, force: bool = False) -> OwnPreKeys:
        """Top the one-time pre-keys up to 100 when fewer than 25 are left (or always if
        ``force``, e.g. after a pre-key was used and the bundle is republished anyway)."""
        if not force and not self.needs_refill():
            return self
        prekeys = dict(self.prekeys)
        next_id = self.next_pk_id
        while len(prekeys) < PREKEY_TARGET:
            if next_id > MAX_ID:
                next_id = 1  # after 2^31 ids: wrap, skipping ids still in use
            if next_id in prekeys:
                next_id += 1
                continue
            private = primitives.clamp(random_bytes(32))
            prekeys[next_id] = (private, primitives.x25519_public_bytes(private))
            next_id += 1
        return replace(self, prekeys=MappingProxyType(prekeys), next_pk_id=next_id)

    def remove_prekey(self, pk_id: int) -> OwnPreKeys:
        if pk_id not in self.prekeys:
            return self
        prekeys = dict(self.prekeys)
        del prekeys[pk_id]
        return replace(self, prekeys=MappingProxyType(prekeys))

    def rotation_due(self, now: int, period: int = SPK_ROTATION_PERIOD) -> bool:
        return now - self.spk.created >= period

    def rotate_signed_prekey(
        self, identity: IdentityKeyPair, random_bytes: RandomBytes, now: int
    ) -> OwnPreKeys:
        """New signed pre-key; the current one is kept as ``previous_spk`` (one more period)."""
        spk_id = self.next_spk_id if self.next_spk_id <= MAX_ID else 1
        spk = _new_spk(identity, spk_id, random_bytes, now)
        return replace(self, spk=spk, previous_spk=self.spk, next_spk_id=spk_id + 1)

    def find_spk(self, spk_id: int) -> SignedPreKey:
        if self.spk.id == spk_id:
            return self.spk
        if self.previous_spk is not None and self.previous_spk.id == spk_id:
            return self.previous_spk
        raise UnknownPreKey(f"no signed pre-key with id {spk_id}")

    def bundle(self, identity: IdentityKeyPair) -> Bundle:
        return Bundle(
            identity.ed25519_public,
            self.spk.id,
            self.spk.public,
            self.spk.signature,
            MappingProxyType({pk_id: pair[1] for pk_id, pair in self.prekeys.items()}),
        )


def generate_device_id(random_bytes: RandomBytes, existing: Collection[int] = ()) -> int:
    """A random device id in 1..2^31-1 that is not in ``existing``."""
    while True:
        value = int.from_bytes(random_bytes(4), "big") & MAX_ID
        if value and value not in existing:
            return value


def shared_secret(dh1: bytes, dh2: bytes, dh3: bytes, dh4: bytes, info: bytes = INFO) -> bytes:
    """SK = HKDF(salt=0*32, ikm=0xFF*32 || DH1 || DH2 || DH3 || DH4, info, 32)."""
    return primitives.hkdf_sha256(_FF + dh1 + dh2 + dh3 + dh4, primitives.ZERO_SALT, info, 32)


def agree_active(
    own: IdentityKeyPair, bundle: Bundle, random_bytes: RandomBytes
) -> tuple[bytes, bytes, KexHeader, bytes]:
    """Alice's side. Returns (SK, AD, header, ek_private). Verifies the bundle first."""
    bundle.verify()
    ids = sorted(bundle.prekeys)
    pk_id = ids[int.from_bytes(random_bytes(4), "big") % len(ids)]
    ek_private = primitives.clamp(random_bytes(32))
    ek_public = primitives.x25519_public_bytes(ek_private)
    peer_ik = primitives.ed_to_mont(bundle.ik)
    sk = shared_secret(
        own.dh(bundle.spk),
        primitives.x25519(ek_private, peer_ik),
        primitives.x25519(ek_private, bundle.spk),
        primitives.x25519(ek_private, bundle.prekeys[pk_id]),
    )
    header = KexHeader(pk_id, bundle.spk_id, own.ed25519_public, ek_public)
    return sk, own.ed25519_public + bundle.ik, header, ek_private


def agree_passive(
    own: IdentityKeyPair, prekeys: OwnPreKeys, header: KexHeader
) -> tuple[bytes, bytes, SignedPreKey]:
    """Bob's side. Returns (SK, AD, the signed pre-key used). Unknown ids -> UnknownPreKey."""
    spk = prekeys.find_spk(header.spk_id)
    pair = prekeys.prekeys.get(header.pk_id)
    if pair is None:
        raise UnknownPreKey(f"no pre-key with id {header.pk_id}")
    if len(header.ik) != 32 or len(header.ek) != 32:
        raise InvalidKey("identity and ephemeral keys are 32 bytes")
    peer_ik = primitives.ed_to_mont(header.ik)
    sk = shared_secret(
        primitives.x25519(spk.private, peer_ik),
        own.dh(header.ek),
        primitives.x25519(spk.private, header.ek),
        primitives.x25519(pair[0], header.ek),
    )
    return sk, header.ik + own.ed25519_public, spk
