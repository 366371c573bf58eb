"""The identity key pair: one Ed25519 seed serving both OMEMO versions.

OMEMO 2 sends the Ed25519 public key; legacy OMEMO sends the Curve25519 form with a 0x05
prefix and expects XEdDSA signatures. Seeds are drawn until the Ed25519 public key has sign
bit 0, so ordinary Ed25519 signatures are also valid XEdDSA signatures (see DESIGN.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import primitives
from .errors import InvalidKey

RandomBytes = Callable[[int], bytes]


@dataclass(frozen=True)
class IdentityKeyPair:
    seed: bytes = field(repr=False)
    ed25519_public: bytes
    x25519_private: bytes = field(repr=False)
    x25519_public: bytes

    @classmethod
    def from_seed(cls, seed: bytes) -> IdentityKeyPair:
        if len(seed) != 32:
            raise InvalidKey("identity seeds are 32 bytes")
        ed_pub = primitives.ed25519_public(seed)
        x_priv = primitives.ed25519_seed_to_x25519(seed)
        return cls(seed, ed_pub, x_priv, primitives.ed_to_mont(ed_pub))

    @classmethod
    def generate(cls, random_bytes: RandomBytes) -> IdentityKeyPair:
        while True:
            pair = cls.from_seed(random_bytes(32))
            if pair.ed25519_public[31] & 0x80 == 0:
                return pair

    def sign(self, message: bytes) -> bytes:
        return primitives.ed25519_sign(self.seed, message)

    def dh(self, peer_x25519_public: bytes) -> bytes:
        return primitives.x25519(self.x25519_private, peer_x25519_public)


@dataclass(frozen=True)
class X25519KeyPair:
    private: bytes = field(repr=False)
    public: bytes

    @classmethod
    def from_private(cls, private: bytes) -> X25519KeyPair:
        return cls(private, primitives.x25519_public_bytes(private))

    @classmethod
    def generate(cls, random_bytes: RandomBytes) -> X25519KeyPair:
        return cls.from_private(primitives.clamp(random_bytes(32)))

    def dh(self, peer_public: bytes) -> bytes:
        return primitives.x25519(self.private, peer_public)
