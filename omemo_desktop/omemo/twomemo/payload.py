"""OMEMO 2 payload encryption ("OMEMO Payload", XEP-0384 §4.4): AES-256-CBC + HMAC-SHA-256/16.

``key_material`` = key (32) || truncated tag (16) = 48 bytes, which the ratchet encrypts per
device. Empty OMEMO messages carry :data:`EMPTY_KEY_MATERIAL` (32 zero bytes) and no payload.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from .. import primitives, ratchet
from ..errors import MalformedMessage

RandomBytes = Callable[[int], bytes]

INFO: Final = b"OMEMO Payload"
TAG_LENGTH: Final = 16
KEY_MATERIAL_LENGTH: Final = 48
EMPTY_KEY_MATERIAL: Final = b"\x00" * 32


def _derive(key: bytes) -> tuple[bytes, bytes, bytes]:
    okm = primitives.hkdf_sha256(key, primitives.ZERO_SALT, INFO, 80)
    return okm[:32], okm[32:64], okm[64:]


def encrypt_payload(plaintext: bytes, random_bytes: RandomBytes) -> tuple[bytes, bytes]:
    """Return (payload ciphertext, 48-byte key material)."""
    key = random_bytes(32)
    enc_key, auth_key, iv = _derive(key)
    ciphertext = ratchet.cbc_encrypt(enc_key, iv, plaintext)
    return ciphertext, key + ratchet.truncated_mac(auth_key, ciphertext, TAG_LENGTH)


def decrypt_payload(ciphertext: bytes, key_material: bytes) -> bytes:
    if len(key_material) != KEY_MATERIAL_LENGTH:
        raise MalformedMessage(
            f"key material must be {KEY_MATERIAL_LENGTH} bytes (empty messages have no payload)"
        )
    enc_key, auth_key, iv = _derive(key_material[:32])
    ratchet.check_mac(auth_key, ciphertext, key_material[32:])
    return ratchet.cbc_decrypt(enc_key, iv, ciphertext)


def is_empty(key_material: bytes) -> bool:
    """True for the key material of an empty OMEMO message."""
    return key_material == EMPTY_KEY_MATERIAL
