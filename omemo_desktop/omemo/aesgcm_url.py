"""XEP-0454 `aesgcm://` URLs and file keys: layout and parsing only.

Kept apart from the cipher (filecrypt.py) so front ends can recognise shared files in message
bodies without loading `cryptography`. Pure: no I/O, randomness only through the caller.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote, urlsplit, urlunsplit

from .errors import OmemoError

KEY_SIZE: Final = 32
IV_SIZE: Final = 12
LEGACY_IV_SIZE: Final = 16  # early Conversations; receivers still accept it
TAG_SIZE: Final = 16
SCHEME: Final = "aesgcm"
_FRAGMENT: Final = re.compile(r"(?:[0-9a-fA-F]{88}|[0-9a-fA-F]{96})")
# XEP-0454 §3: a body is a shared file only if it is exactly one URL, optionally followed by
# one line with a JPEG thumbnail as a data: URI. Anything else is text.
_BODY: Final = re.compile(r"(aesgcm://\S+)(?:\ndata:image/jpeg;base64,[A-Za-z0-9+/=]+)?")


class FileCryptoError(OmemoError):
    """A file key, URL or ciphertext is unusable."""


class BadAesgcmUrl(FileCryptoError):
    """The string is not a well-formed aesgcm:// URL."""


@dataclass(frozen=True)
class FileKey:
    iv: bytes
    key: bytes

    def __post_init__(self) -> None:
        if len(self.key) != KEY_SIZE:
            raise FileCryptoError(f"a file key has {KEY_SIZE} bytes, not {len(self.key)}")
        if len(self.iv) not in (IV_SIZE, LEGACY_IV_SIZE):
            raise FileCryptoError(f"a file IV has 12 (or 16) bytes, not {len(self.iv)}")

    @property
    def fragment(self) -> str:
        return (self.iv + self.key).hex()

    def __repr__(self) -> str:  # keys never end up in logs or tracebacks
        return f"FileKey(iv={len(self.iv)} bytes, key=<hidden>)"


def new_file_key(random_bytes: Callable[[int], bytes]) -> FileKey:
    """A fresh key and IV for one file (pass os.urandom; never reuse one for two files)."""
    material = random_bytes(IV_SIZE + KEY_SIZE)
    return FileKey(material[:IV_SIZE], material[IV_SIZE:])


def encrypted_size(plain_size: int) -> int:
    """What is uploaded: GCM adds no padding, only the appended tag."""
    return plain_size + TAG_SIZE


def make_aesgcm_url(https_url: str, key: FileKey) -> str:
    """The slot's HTTPS GET URL with its scheme swapped and the key as fragment."""
    parts = urlsplit(https_url)
    if parts.scheme.lower() != "https":
        raise BadAesgcmUrl(
            "only https:// download links may carry a file key (XEP-0454); the upload "
            f"service gave {parts.scheme or 'no scheme'}://"
        )
    if not parts.netloc:
        raise BadAesgcmUrl("the download link has no host")
    return urlunsplit((SCHEME, parts.netloc, parts.path, parts.query, key.fragment))


def parse_aesgcm_url(url: str) -> tuple[str, FileKey]:
    """aesgcm://host/path#ivkey -> (https URL without fragment, key)."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != SCHEME or not parts.netloc:
        raise BadAesgcmUrl("not an aesgcm:// link")
    if not _FRAGMENT.fullmatch(parts.fragment):
        raise BadAesgcmUrl(
            "the link's key part is damaged (expected 88 or 96 hex characters after '#')"
        )
    raw = bytes.fromhex(parts.fragment)
    iv_len = len(raw) - KEY_SIZE
    return urlunsplit(("https", parts.netloc, parts.path, parts.query, "")), FileKey(
        raw[:iv_len], raw[iv_len:]
    )


def aesgcm_url_of_body(body: str | None) -> str | None:
    """The aesgcm URL if the whole message body is a shared file (strict), else None."""
    if not body:
        return None
    m = _BODY.fullmatch(body)
    if m is None:
        return None
    try:
        parse_aesgcm_url(m.group(1))
    except BadAesgcmUrl:
        return None
    return m.group(1)


def file_name_of_url(url: str) -> str:
    """The last path segment, decoded, made safe as a file name ('file' if none)."""
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    name = re.sub(r"[\x00-\x1f/\\:]", "_", name).strip(". ")
    return name[:200] or "file"
