"""XEP-0454 (OMEMO media sharing): AES-256-GCM file encryption (URLs: aesgcm_url.py).

The uploaded file is ciphertext followed by the 16-byte GCM tag; the key and IV travel only
inside the OMEMO-encrypted message body, as the URL fragment `#<iv hex><key hex>`.

Pure: no I/O, randomness only through the caller. Files are streamed: `FileEncryptor` and
`FileDecryptor` take chunks of any size, so a file is never held whole in memory.
The decryptor holds back the last 16 bytes it has seen (they may be the tag) and verifies
the tag in `finalize()`; callers must not show plaintext to a person before that returns.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .aesgcm_url import (
    IV_SIZE,
    KEY_SIZE,
    TAG_SIZE,
    BadAesgcmUrl,
    FileCryptoError,
    FileKey,
    aesgcm_url_of_body,
    encrypted_size,
    file_name_of_url,
    make_aesgcm_url,
    new_file_key,
    parse_aesgcm_url,
)
from .errors import AuthenticationFailed


class FileTagMismatch(AuthenticationFailed, FileCryptoError):
    """The file's GCM tag did not verify: it was changed, truncated or is not this key's."""


class FileEncryptor:
    """update(chunk) -> ciphertext chunk; finalize() -> the remaining bytes and the tag."""

    def __init__(self, key: FileKey) -> None:
        self._ctx = Cipher(algorithms.AES(key.key), modes.GCM(key.iv)).encryptor()

    def update(self, chunk: bytes) -> bytes:
        return self._ctx.update(chunk)

    def finalize(self) -> bytes:
        tail = self._ctx.finalize()
        return tail + self._ctx.tag


class FileDecryptor:
    """Feed ciphertext‖tag in chunks of any size; the last 16 bytes are treated as the tag.

    `update` returns plaintext that is NOT yet authenticated; `finalize` raises
    `FileTagMismatch` if the file was tampered with (then discard everything).
    """

    def __init__(self, key: FileKey) -> None:
        self._ctx = Cipher(algorithms.AES(key.key), modes.GCM(key.iv)).decryptor()
        self._held = b""

    def update(self, chunk: bytes) -> bytes:
        data = self._held + chunk
        if len(data) <= TAG_SIZE:
            self._held = data
            return b""
        self._held = data[-TAG_SIZE:]
        return self._ctx.update(data[:-TAG_SIZE])

    def finalize(self) -> bytes:
        if len(self._held) < TAG_SIZE:
            raise FileTagMismatch("the file is shorter than its authentication tag")
        try:
            return self._ctx.finalize_with_tag(self._held)
        except InvalidTag as exc:
            raise FileTagMismatch(
                "the file failed its integrity check: it was changed or damaged"
            ) from exc


__all__ = [
    "IV_SIZE",
    "KEY_SIZE",
    "TAG_SIZE",
    "BadAesgcmUrl",
    "FileCryptoError",
    "FileDecryptor",
    "FileEncryptor",
    "FileKey",
    "FileTagMismatch",
    "aesgcm_url_of_body",
    "encrypted_size",
    "file_name_of_url",
    "make_aesgcm_url",
    "new_file_key",
    "parse_aesgcm_url",
]
