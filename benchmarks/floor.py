"""The primitives floor: only the `cryptography` calls an operation cannot do without.

Each function performs, with `cryptography` objects and plain bytes, the key agreements, KDFs,
ciphers and MACs one protocol operation needs — no parsing, no serialization, no state objects,
no checks. Our code and the references are measured against the sum of these calls.

Not counted (not `cryptography` calls): protobuf/wire encoding, the Ed25519 <-> Curve25519
conversion of identity keys (a modular inverse in Python), randomness.
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import hashes, hmac, padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ZERO = b"\x00" * 32
SHA256 = hashes.SHA256()


def mac(key: bytes, data: bytes) -> bytes:
    h = hmac.HMAC(key, SHA256)
    h.update(data)
    return h.finalize()


def hkdf(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    return HKDF(SHA256, length, salt, info).derive(ikm)


def cbc_encrypt(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return enc.update(padded) + enc.finalize()


def cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = dec.update(ciphertext) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def x25519(private: bytes, public: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(private).exchange(
        X25519PublicKey.from_public_bytes(public)
    )


def keypair() -> tuple[bytes, bytes]:
    key = X25519PrivateKey.generate()
    return key.private_bytes_raw(), key.public_key().public_bytes_raw()


class Omemo2:
    """OMEMO 2: AES-256-CBC + HMAC-SHA-256/16 for both the payload and the per-device key."""

    root_info = b"OMEMO Root Chain"
    key_info = b"OMEMO Message Key Material"
    x3dh_info = b"OMEMO X3DH"
    ad = os.urandom(64)

    @classmethod
    def encrypt_payload(cls, plaintext: bytes) -> bytes:
        key = os.urandom(32)
        okm = hkdf(key, ZERO, b"OMEMO Payload", 80)
        ct = cbc_encrypt(okm[:32], okm[64:], plaintext)
        return key + mac(okm[32:64], ct)[:16]

    @classmethod
    def decrypt_payload(cls, ct: bytes, key_material: bytes) -> bytes:
        okm = hkdf(key_material[:32], ZERO, b"OMEMO Payload", 80)
        mac(okm[32:64], ct)
        return cbc_decrypt(okm[:32], okm[64:], ct)

    @classmethod
    def encrypt_key(cls, chain_key: bytes, key_material: bytes) -> tuple[bytes, bytes]:
        """One ratchet message: KDF_CK (2 HMACs), HKDF-80, AES-CBC, HMAC. -> (next ck, ct)"""
        mk = mac(chain_key, b"\x01")
        next_ck = mac(chain_key, b"\x02")
        okm = hkdf(mk, ZERO, cls.key_info, 80)
        ct = cbc_encrypt(okm[:32], okm[64:], key_material)
        mac(okm[32:64], cls.ad + ct)
        return next_ck, ct

    @classmethod
    def decrypt_key(cls, chain_key: bytes, ct: bytes) -> bytes:
        mk = mac(chain_key, b"\x01")
        mac(chain_key, b"\x02")
        okm = hkdf(mk, ZERO, cls.key_info, 80)
        mac(okm[32:64], cls.ad + ct)
        return cbc_decrypt(okm[:32], okm[64:], ct)


class Legacy(Omemo2):
    """Legacy: AES-128-GCM payload; the per-device key is the same CBC+HMAC construction."""

    root_info = b"WhisperRatchet"
    key_info = b"WhisperMessageKeys"
    x3dh_info = b"WhisperText"
    ad = os.urandom(66)

    @classmethod
    def encrypt_payload(cls, plaintext: bytes) -> bytes:
        key, iv = os.urandom(16), os.urandom(12)
        out = AESGCM(key).encrypt(iv, plaintext, None)
        return key + out[-16:]

    @classmethod
    def decrypt_payload(cls, ct: bytes, key_material: bytes) -> bytes:
        return AESGCM(key_material[:16]).decrypt(b"\x00" * 12, ct, None)


class Fixture:
    """Keys for the floor functions, made once (the floor pays for no set-up)."""

    def __init__(self, protocol: type[Omemo2]) -> None:
        self.p = protocol
        seed = os.urandom(32)
        ident = Ed25519PrivateKey.from_private_bytes(seed)
        self.ik_public = ident.public_key().public_bytes_raw()
        self.identity_x25519, self.peer_ik_x25519 = keypair()[0], keypair()[1]
        self.spk_private, self.spk_public = keypair()
        self.spk_signature = ident.sign(self.spk_public)
        self.opk_public = keypair()[1]
        self.chain_key = os.urandom(32)
        self.root_key = os.urandom(32)
        self.key_material = os.urandom(48 if protocol is Omemo2 else 32)
        self.peer_ratchet = keypair()[1]
        self.own_ratchet_private = keypair()[0]
        self.key_ct = protocol.encrypt_key(self.chain_key, self.key_material)[1]
        if protocol is Legacy:
            key, iv = os.urandom(16), b"\x00" * 12
            self.payload_key_material = key + b"\x00" * 16
            self.payload_ct = AESGCM(key).encrypt(iv, b"x" * 150, None)
        else:
            key = os.urandom(32)
            okm = hkdf(key, ZERO, b"OMEMO Payload", 80)
            self.payload_ct = cbc_encrypt(okm[:32], okm[64:], b"x" * 150)
            self.payload_key_material = key + mac(okm[32:64], self.payload_ct)[:16]

    # --- operations ------------------------------------------------------------------------

    def first_message(self) -> None:
        """Verify the signed pre-key, X3DH (ephemeral key, 4 DH, HKDF), ratchet start (key
        pair, DH, KDF_RK), then one key encryption."""
        p = self.p
        Ed25519PublicKey.from_public_bytes(self.ik_public).verify(
            self.spk_signature, self.spk_public
        )
        ek_private, _ek_public = keypair()
        dh = (
            x25519(self.identity_x25519, self.spk_public)
            + x25519(ek_private, self.peer_ik_x25519)
            + x25519(ek_private, self.spk_public)
            + x25519(ek_private, self.opk_public)
        )
        sk = hkdf(b"\xff" * 32 + dh, ZERO, p.x3dh_info, 32)
        ratchet_private, _ = keypair()
        okm = hkdf(x25519(ratchet_private, self.spk_public), sk, p.root_info, 64)
        p.encrypt_key(okm[32:], self.key_material)

    def encrypt(self, devices: int, plaintext: bytes) -> None:
        """One payload encryption, then one key encryption per device (no DH step)."""
        p = self.p
        km = p.encrypt_payload(plaintext)
        ck = self.chain_key
        for _ in range(devices):
            p.encrypt_key(ck, km)

    def decrypt(self) -> None:
        self.p.decrypt_key(self.chain_key, self.key_ct)
        self.p.decrypt_payload(self.payload_ct, self.payload_key_material)

    def alternating_message(self, plaintext: bytes) -> None:
        """A message answering the peer's last one: the sender's half of a DH ratchet step
        (key pair, DH, KDF_RK), payload + key encryption; the receiver's half (DH, KDF_RK),
        key + payload decryption."""
        p = self.p
        km = p.encrypt_payload(plaintext)
        ratchet_private, ratchet_public = keypair()
        okm = hkdf(x25519(ratchet_private, self.peer_ratchet), self.root_key, p.root_info, 64)
        p.encrypt_key(okm[32:], km)
        # receiver
        okm = hkdf(x25519(self.own_ratchet_private, ratchet_public), self.root_key, p.root_info, 64)
        p.decrypt_key(self.chain_key, self.key_ct)
        p.decrypt_payload(self.payload_ct, self.payload_key_material)
