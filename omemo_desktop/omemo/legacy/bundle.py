"""Legacy bundles (ours and peers') and our own pre-key state (legacy-omemo.md §3.2, §4).

A :class:`Bundle` holds keys as 32-byte Curve25519 u-coordinates; :meth:`Bundle.from_wire` and
:meth:`Bundle.to_wire` convert from/to the 33-byte 0x05 forms found (base64-encoded) in the
``<bundle>`` XML.  The XML itself is the xmpp layer's business.

:class:`OwnPreKeys` is the private half for this namespace: the signed pre-key (plus the previous
one, kept one rotation period), the one-time pre-keys and the id counter.  It is immutable;
every operation returns a new value, and :meth:`OwnPreKeys.serialize` produces a versioned blob.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from ..errors import InvalidKey, MalformedMessage, StateVersionError
from ..keys import IdentityKeyPair, X25519KeyPair
from . import proto, signatures, wire

RandomBytes = Callable[[int], bytes]

PRE_KEY_COUNT: Final = 100
MAX_PRE_KEY_ID: Final = 0xFFFFFE  # libsignal: ((start + i) mod (0xFFFFFF - 1)) + 1
MAX_UINT32: Final = 0xFFFFFFFF
PREKEYS_MAGIC: Final = b"OLPK"
PREKEYS_VERSION: Final = 1


def _check_id(value: int, what: str) -> int:
    if not 0 <= value <= MAX_UINT32:
        raise MalformedMessage(f"{what} {value} is not a valid uint32")
    return value


@dataclass(frozen=True)
class Bundle:
    """A device's published legacy bundle (keys as 32-byte u-coordinates)."""

    identity_key: bytes
    signed_pre_key_id: int
    signed_pre_key: bytes
    signed_pre_key_signature: bytes
    pre_keys: Mapping[int, bytes]

    @classmethod
    def from_wire(
        cls,
        *,
        identity_key: bytes,
        signed_pre_key_id: int,
        signed_pre_key: bytes,
        signed_pre_key_signature: bytes,
        pre_keys: Mapping[int, bytes],
    ) -> Bundle:
        """Build from the 33-byte 0x05 forms of the XML; checks shapes, not the signature."""
        if len(signed_pre_key_signature) != 64:
            raise MalformedMessage("bundle: the signed pre-key signature must be 64 bytes")
        if not pre_keys:
            raise MalformedMessage("bundle: no pre-keys")
        return cls(
            identity_key=wire.decode_key(identity_key, "bundle identity key"),
            signed_pre_key_id=_check_id(signed_pre_key_id, "bundle: signed pre-key id"),
            signed_pre_key=wire.decode_key(signed_pre_key, "bundle signed pre-key"),
            signed_pre_key_signature=signed_pre_key_signature,
            pre_keys=MappingProxyType(
                {
                    _check_id(pk_id, "bundle: pre-key id"): wire.decode_key(pk, "bundle pre-key")
                    for pk_id, pk in pre_keys.items()
                }
            ),
        )

    def to_wire(self) -> dict[str, Any]:
        """The values for the ``<bundle>`` XML (keys 0x05-prefixed, not yet base64)."""
        return {
            "identity_key": wire.encode_key(self.identity_key),
            "signed_pre_key_id": self.signed_pre_key_id,
            "signed_pre_key": wire.encode_key(self.signed_pre_key),
            "signed_pre_key_signature": self.signed_pre_key_signature,
            "pre_keys": {i: wire.encode_key(k) for i, k in self.pre_keys.items()},
        }

    def verify(self) -> None:
        """Check the signed pre-key signature (over 0x05 ‖ spk); raises BadSignature."""
        signatures.verify(
            self.identity_key,
            self.signed_pre_key_signature,
            wire.encode_key(self.signed_pre_key),
        )


@dataclass(frozen=True)
class SignedPreKey:
    id: int
    pair: X25519KeyPair
    signature: bytes = field(repr=False)

    @classmethod
    def generate(
        cls, identity: IdentityKeyPair, key_id: int, random_bytes: RandomBytes
    ) -> SignedPreKey:
        pair = X25519KeyPair.generate(random_bytes)
        sig = signatures.sign_with_seed(identity.seed, wire.encode_key(pair.public))
        return cls(key_id, pair, sig)


def _next_id(current: int) -> int:
    return current % MAX_PRE_KEY_ID + 1


@dataclass(frozen=True)
class OwnPreKeys:
    """Our private pre-key material for the legacy namespace."""

    signed_pre_key: SignedPreKey
    old_signed_pre_key: SignedPreKey | None
    pre_keys: Mapping[int, X25519KeyPair]
    next_pre_key_id: int

    @classmethod
    def generate(
        cls, identity: IdentityKeyPair, random_bytes: RandomBytes, count: int = PRE_KEY_COUNT
    ) -> OwnPreKeys:
        spk = SignedPreKey.generate(identity, 1, random_bytes)
        return cls(spk, None, MappingProxyType({}), 1).refill(random_bytes, count)

    def refill(self, random_bytes: RandomBytes, target: int = PRE_KEY_COUNT) -> OwnPreKeys:
        """Generate fresh pre-keys (new ids, never reused while in use) until ``target`` exist."""
        if len(self.pre_keys) >= target:
            return self
        keys = dict(self.pre_keys)
        next_id = self.next_pre_key_id
        while len(keys) < target:
            while next_id in keys:
                next_id = _next_id(next_id)
            keys[next_id] = X25519KeyPair.generate(random_bytes)
            next_id = _next_id(next_id)
        return OwnPreKeys(
            self.signed_pre_key, self.old_signed_pre_key, MappingProxyType(keys), next_id
        )

    def without(self, pre_key_id: int) -> OwnPreKeys:
        """Forget a used pre-key (call :meth:`refill` and republish afterwards)."""
        if pre_key_id not in self.pre_keys:
            return self
        keys = {k: v for k, v in self.pre_keys.items() if k != pre_key_id}
        return OwnPreKeys(
            self.signed_pre_key,
            self.old_signed_pre_key,
            MappingProxyType(keys),
            self.next_pre_key_id,
        )

    def rotate_signed_pre_key(
        self, identity: IdentityKeyPair, random_bytes: RandomBytes
    ) -> OwnPreKeys:
        """New signed pre-key; the current one is kept as the old one for late key exchanges."""
        new = SignedPreKey.generate(identity, _next_id(self.signed_pre_key.id), random_bytes)
        return OwnPreKeys(new, self.signed_pre_key, self.pre_keys, self.next_pre_key_id)

    def find_signed_pre_key(self, key_id: int) -> SignedPreKey | None:
        if self.signed_pre_key.id == key_id:
            return self.signed_pre_key
        if self.old_signed_pre_key is not None and self.old_signed_pre_key.id == key_id:
            return self.old_signed_pre_key
        return None

    def bundle(self, identity: IdentityKeyPair) -> Bundle:
        return Bundle(
            identity_key=identity.x25519_public,
            signed_pre_key_id=self.signed_pre_key.id,
            signed_pre_key=self.signed_pre_key.pair.public,
            signed_pre_key_signature=self.signed_pre_key.signature,
            pre_keys=MappingProxyType({i: kp.public for i, kp in self.pre_keys.items()}),
        )

    # ---- versioned serialization ----

    def serialize(self) -> bytes:
        blob = proto.OwnPreKeysBlob(
            signed_pre_key=_spk_to_proto(self.signed_pre_key),
            next_pre_key_id=self.next_pre_key_id,
        )
        if self.old_signed_pre_key is not None:
            blob.old_signed_pre_key.CopyFrom(_spk_to_proto(self.old_signed_pre_key))
        for key_id, pair in self.pre_keys.items():
            blob.pre_keys.add(id=key_id, private=pair.private)
        return PREKEYS_MAGIC + bytes([PREKEYS_VERSION]) + proto.serialize(blob)

    @classmethod
    def deserialize(cls, data: bytes) -> OwnPreKeys:
        body = _check_header(data, PREKEYS_MAGIC, {PREKEYS_VERSION}, "legacy pre-key state")
        try:
            blob = proto.parse(proto.OwnPreKeysBlob, body, "legacy pre-key state")
            old = (
                _spk_from_proto(blob.old_signed_pre_key)
                if blob.HasField("old_signed_pre_key")
                else None
            )
            return cls(
                _spk_from_proto(blob.signed_pre_key),
                old,
                MappingProxyType(
                    {pk.id: X25519KeyPair.from_private(pk.private) for pk in blob.pre_keys}
                ),
                blob.next_pre_key_id,
            )
        except (MalformedMessage, InvalidKey) as exc:
            raise StateVersionError(f"corrupt legacy pre-key state: {exc}") from exc


def _spk_to_proto(spk: SignedPreKey) -> Any:
    return proto.OwnSignedPreKey(id=spk.id, private=spk.pair.private, signature=spk.signature)


def _spk_from_proto(msg: Any) -> SignedPreKey:
    return SignedPreKey(msg.id, X25519KeyPair.from_private(msg.private), msg.signature)


def _check_header(data: bytes, magic: bytes, versions: set[int], what: str) -> bytes:
    if len(data) < len(magic) + 1 or not data.startswith(magic):
        raise StateVersionError(f"{what}: not a serialized {what} blob")
    version = data[len(magic)]
    if version not in versions:
        raise StateVersionError(f"{what}: unknown version {version}")
    return data[len(magic) + 1 :]
