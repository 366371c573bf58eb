"""OMEMO 2 protobuf wire format (XEP-0384 §5, proto2) and a thin typed wrapper.

The schema below is the normative one (field numbers and types)::

    syntax = "proto2";
    message OMEMOMessage {
        required uint32 n = 1;
        required uint32 pn = 2;
        required bytes dh_pub = 3;
        optional bytes ciphertext = 4;
    }
    message OMEMOAuthenticatedMessage {
        required bytes mac = 1;
        required bytes message = 2;   // a serialized OMEMOMessage
    }
    message OMEMOKeyExchange {
        required uint32 pk_id = 1;
        required uint32 spk_id = 2;
        required bytes ik = 3;
        required bytes ek = 4;
        required OMEMOAuthenticatedMessage message = 5;
    }

The message classes are built at import time from a ``FileDescriptorProto`` assembled in Python
in a private descriptor pool, so no ``protoc`` output (and no gencode/runtime version check) is
involved; this works with any protobuf >= 4.25. The classes are dynamic (typed ``Any``); only
the typed functions of this module touch them, and every parse failure becomes
:class:`MalformedMessage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

from ..errors import MalformedMessage

_F = descriptor_pb2.FieldDescriptorProto
_REQ: Final = _F.LABEL_REQUIRED
_OPT: Final = _F.LABEL_OPTIONAL
_PACKAGE: Final = "omemo_desktop.twomemo"

_SCHEMA: Final = (
    (
        "OMEMOMessage",
        (
            ("n", 1, _REQ, _F.TYPE_UINT32, ""),
            ("pn", 2, _REQ, _F.TYPE_UINT32, ""),
            ("dh_pub", 3, _REQ, _F.TYPE_BYTES, ""),
            ("ciphertext", 4, _OPT, _F.TYPE_BYTES, ""),
        ),
    ),
    (
        "OMEMOAuthenticatedMessage",
        (
            ("mac", 1, _REQ, _F.TYPE_BYTES, ""),
            ("message", 2, _REQ, _F.TYPE_BYTES, ""),
        ),
    ),
    (
        "OMEMOKeyExchange",
        (
            ("pk_id", 1, _REQ, _F.TYPE_UINT32, ""),
            ("spk_id", 2, _REQ, _F.TYPE_UINT32, ""),
            ("ik", 3, _REQ, _F.TYPE_BYTES, ""),
            ("ek", 4, _REQ, _F.TYPE_BYTES, ""),
            (
                "message",
                5,
                _REQ,
                _F.TYPE_MESSAGE,
                ".omemo_desktop.twomemo.OMEMOAuthenticatedMessage",
            ),
        ),
    ),
)


def _build() -> dict[str, Any]:
    file_proto = descriptor_pb2.FileDescriptorProto(
        name="omemo_desktop/twomemo.proto", package=_PACKAGE, syntax="proto2"
    )
    for message_name, fields in _SCHEMA:
        msg = file_proto.message_type.add(name=message_name)
        for name, number, label, ftype, type_name in fields:
            field = msg.field.add(name=name, number=number, label=label, type=ftype)
            if type_name:
                field.type_name = type_name
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file_proto)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))
        for name, _ in _SCHEMA
    }


_CLASSES: Final = _build()
OMEMOMessage: Final[Any] = _CLASSES["OMEMOMessage"]
OMEMOAuthenticatedMessage: Final[Any] = _CLASSES["OMEMOAuthenticatedMessage"]
OMEMOKeyExchange: Final[Any] = _CLASSES["OMEMOKeyExchange"]


def _parse(cls: Any, data: bytes, what: str) -> Any:
    msg = cls()
    try:
        msg.ParseFromString(data)
    except (DecodeError, ValueError, TypeError, RuntimeError) as exc:
        raise MalformedMessage(f"{what} is not valid protobuf: {exc}") from exc
    if not msg.IsInitialized():
        raise MalformedMessage(f"{what} lacks required fields")
    return msg


@dataclass(frozen=True, slots=True)
class Message:
    n: int
    pn: int
    dh_pub: bytes
    ciphertext: bytes


@dataclass(frozen=True, slots=True)
class AuthenticatedMessage:
    mac: bytes
    message: bytes


@dataclass(frozen=True, slots=True)
class KeyExchange:
    pk_id: int
    spk_id: int
    ik: bytes
    ek: bytes
    message: AuthenticatedMessage


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _len_field(tag: int, data: bytes) -> bytes:
    return bytes((tag,)) + _varint(len(data)) + data


def encode_message(n: int, pn: int, dh_pub: bytes, ciphertext: bytes | None) -> bytes:
    """Serialize an OMEMOMessage exactly as protobuf does (fields in number order).

    Hand-written because it is on the hot path; a test checks it against the protobuf classes.
    """
    out = b"\x08" + _varint(n) + b"\x10" + _varint(pn) + _len_field(0x1A, dh_pub)
    if ciphertext is not None:
        out += _len_field(0x22, ciphertext)
    return out


def encode_authenticated(mac: bytes, message: bytes) -> bytes:
    return _len_field(0x0A, mac) + _len_field(0x12, message)


def encode_key_exchange(
    pk_id: int, spk_id: int, ik: bytes, ek: bytes, authenticated: bytes
) -> bytes:
    """``authenticated`` is a serialized OMEMOAuthenticatedMessage (wire-identical embedding)."""
    return (
        b"\x08"
        + _varint(pk_id)
        + b"\x10"
        + _varint(spk_id)
        + _len_field(0x1A, ik)
        + _len_field(0x22, ek)
        + _len_field(0x2A, authenticated)
    )


def parse_message(data: bytes) -> Message:
    msg = _parse(OMEMOMessage, data, "OMEMOMessage")
    if len(msg.dh_pub) != 32:
        raise MalformedMessage("OMEMOMessage.dh_pub must be 32 bytes")
    return Message(msg.n, msg.pn, msg.dh_pub, msg.ciphertext)


def parse_authenticated(data: bytes) -> AuthenticatedMessage:
    msg = _parse(OMEMOAuthenticatedMessage, data, "OMEMOAuthenticatedMessage")
    if len(msg.mac) != 16:
        raise MalformedMessage("OMEMOAuthenticatedMessage.mac must be 16 bytes")
    return AuthenticatedMessage(msg.mac, msg.message)


def parse_key_exchange(data: bytes) -> KeyExchange:
    msg = _parse(OMEMOKeyExchange, data, "OMEMOKeyExchange")
    if len(msg.ik) != 32 or len(msg.ek) != 32:
        raise MalformedMessage("OMEMOKeyExchange.ik and .ek must be 32 bytes")
    if len(msg.message.mac) != 16:
        raise MalformedMessage("OMEMOAuthenticatedMessage.mac must be 16 bytes")
    inner = AuthenticatedMessage(msg.message.mac, msg.message.message)
    return KeyExchange(msg.pk_id, msg.spk_id, msg.ik, msg.ek, inner)
