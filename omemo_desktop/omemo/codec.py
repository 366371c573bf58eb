"""Versioned binary state blobs: a 4-byte magic, a version byte, then length-prefixed fields.

Small and dependency-free on purpose: ``Writer`` appends, ``Reader`` consumes and raises
:class:`StateVersionError` on anything unexpected (wrong magic, unknown version, truncation,
trailing bytes). Each state type owns its field layout and bumps its version when it changes.
"""

from __future__ import annotations

import struct
from typing import Final

from .errors import StateVersionError

_U32: Final = struct.Struct(">I")
_U64: Final = struct.Struct(">Q")


class Writer:
    def __init__(self, magic: bytes, version: int) -> None:
        self._parts: list[bytes] = [magic, bytes((version,))]

    def u32(self, value: int) -> Writer:
        self._parts.append(_U32.pack(value))
        return self

    def u64(self, value: int) -> Writer:
        self._parts.append(_U64.pack(value))
        return self

    def flag(self, value: bool) -> Writer:
        self._parts.append(b"\x01" if value else b"\x00")
        return self

    def blob(self, value: bytes) -> Writer:
        self._parts.append(_U32.pack(len(value)))
        self._parts.append(value)
        return self

    def optional_blob(self, value: bytes | None) -> Writer:
        self.flag(value is not None)
        if value is not None:
            self.blob(value)
        return self

    def raw(self, value: bytes) -> Writer:
        """Bytes as they are (a layout the caller packed itself, e.g. with ``struct``)."""
        self._parts.append(value)
        return self

    def to_bytes(self) -> bytes:
        return b"".join(self._parts)


class Reader:
    def __init__(self, data: bytes, magic: bytes, versions: tuple[int, ...]) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise StateVersionError("state blobs are bytes")
        data = bytes(data)
        if len(data) < len(magic) + 1 or data[: len(magic)] != magic:
            raise StateVersionError("not a state blob of the expected kind")
        self.version = data[len(magic)]
        if self.version not in versions:
            raise StateVersionError(f"unknown state version {self.version}")
        self._data = data
        self._pos = len(magic) + 1

    def _take(self, n: int) -> bytes:
        end = self._pos + n
        if end > len(self._data):
            raise StateVersionError("state blob is truncated")
        out = self._data[self._pos : end]
        self._pos = end
        return out

    def u32(self) -> int:
        value: int = _U32.unpack(self._take(4))[0]
        return value

    def u64(self) -> int:
        value: int = _U64.unpack(self._take(8))[0]
        return value

    def flag(self) -> bool:
        byte = self._take(1)
        if byte not in (b"\x00", b"\x01"):
            raise StateVersionError("state blob is corrupt (bad flag)")
        return byte == b"\x01"

    def blob(self, length: int | None = None) -> bytes:
        value = self._take(self.u32())
        if length is not None and len(value) != length:
            raise StateVersionError("state blob is corrupt (bad field length)")
        return value

    def optional_blob(self, length: int | None = None) -> bytes | None:
        return self.blob(length) if self.flag() else None

    def raw(self, length: int) -> bytes:
        """The next ``length`` bytes as they are (truncation raises)."""
        return self._take(length)

    def end(self) -> None:
        if self._pos != len(self._data):
            raise StateVersionError("state blob has trailing bytes")
