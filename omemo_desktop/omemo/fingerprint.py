"""Identity key fingerprints (XEP-0384 §8): the Curve25519 form, 64 lowercase hex digits,
shown as 8 groups of 8 (the same string for OMEMO 2 and legacy OMEMO)."""

from __future__ import annotations

from .errors import InvalidKey
from .primitives import ed_to_mont


def fingerprint_of_curve(x25519_public: bytes) -> str:
    if len(x25519_public) == 33 and x25519_public[0] == 5:
        x25519_public = x25519_public[1:]  # legacy 0x05-prefixed form
    if len(x25519_public) != 32:
        raise InvalidKey("a Curve25519 identity key is 32 bytes")
    return x25519_public.hex()


def fingerprint(ed25519_public: bytes) -> str:
    """Fingerprint of an OMEMO 2 (Ed25519) identity key."""
    return fingerprint_of_curve(ed_to_mont(ed25519_public))


def groups(fp: str) -> list[str]:
    return [fp[i : i + 8] for i in range(0, len(fp), 8)]


def format_fingerprint(fp: str) -> str:
    return " ".join(groups(fp))
