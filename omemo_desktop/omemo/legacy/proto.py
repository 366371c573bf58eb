"""Protobuf (proto2) classes of the legacy OMEMO wire format and of our persisted state.

libsignal's ``WhisperTextProtocol.proto`` (SignalMessage, PreKeySignalMessage) and our own
state messages are built at import time from a ``FileDescriptorProto`` assembled in Python, in
a private descriptor pool.  No ``protoc`` output is checked in, so no gencode/runtime version
mismatch can happen and nothing clashes with other users of the default pool.

The generated classes are dynamically typed; :func:`parse` is the only place that turns bytes
into one of them, and it wraps every failure in
:class:`~omemo_desktop.omemo.errors.MalformedMessage`.
"""

from __future__ import annotations

from typing import Any, Final

from google.protobuf import descriptor_pb2, descriptor_pool, message, message_factory

from ..errors import MalformedMessage

_PACKAGE: Final = "omemo_desktop.legacy"

_T = descriptor_pb2.FieldDescriptorProto
_OPTIONAL: Final = _T.LABEL_OPTIONAL
_REPEATED: Final = _T.LABEL_REPEATED
_REQUIRED: Final = _T.LABEL_REQUIRED
_BYTES: Final = _T.TYPE_BYTES
_UINT32: Final = _T.TYPE_UINT32
_BOOL: Final = _T.TYPE_BOOL
_MESSAGE: Final = _T.TYPE_MESSAGE

# (message name, [(field name, number, label, type, message type name or "")])
_Field = tuple[str, int, int, int, str]
_SCHEMA: Final[list[tuple[str, list[_Field]]]] = [
    # libsignal WhisperTextProtocol.proto; every field is optional on the wire.
    (
        "SignalMessage",
        [
            ("ratchetKey", 1, _OPTIONAL, _BYTES, ""),
            ("counter", 2, _OPTIONAL, _UINT32, ""),
            ("previousCounter", 3, _OPTIONAL, _UINT32, ""),
            ("ciphertext", 4, _OPTIONAL, _BYTES, ""),
        ],
    ),
    (
        "PreKeySignalMessage",
        [
            ("preKeyId", 1, _OPTIONAL, _UINT32, ""),
            ("baseKey", 2, _OPTIONAL, _BYTES, ""),
            ("identityKey", 3, _OPTIONAL, _BYTES, ""),
            ("message", 4, _OPTIONAL, _BYTES, ""),
            ("registrationId", 5, _OPTIONAL, _UINT32, ""),
            ("signedPreKeyId", 6, _OPTIONAL, _UINT32, ""),
        ],
    ),
    # ---- our persisted state (never sent over the network) ----
    ("SkippedKey", [
        ("ratchet_key", 1, _REQUIRED, _BYTES, ""),
        ("counter", 2, _REQUIRED, _UINT32, ""),
        ("message_key", 3, _REQUIRED, _BYTES, ""),
    ]),
    ("RatchetState", [
        ("root_key", 1, _REQUIRED, _BYTES, ""),
        ("dhs_private", 2, _REQUIRED, _BYTES, ""),
        ("dhs_public", 3, _REQUIRED, _BYTES, ""),
        ("dhr", 4, _OPTIONAL, _BYTES, ""),
        ("cks", 5, _OPTIONAL, _BYTES, ""),
        ("ckr", 6, _OPTIONAL, _BYTES, ""),
        ("ns", 7, _REQUIRED, _UINT32, ""),
        ("nr", 8, _REQUIRED, _UINT32, ""),
        ("pn", 9, _REQUIRED, _UINT32, ""),
        ("skipped", 10, _REPEATED, _MESSAGE, "SkippedKey"),
        ("previous_dhr", 11, _REPEATED, _BYTES, ""),
        # since session version 2: keys derived only for libsignal's previousCounter quirk
        ("speculative", 12, _REPEATED, _MESSAGE, "SkippedKey"),
    ]),
    ("PendingPreKey", [
        ("pre_key_id", 1, _REQUIRED, _UINT32, ""),
        ("signed_pre_key_id", 2, _REQUIRED, _UINT32, ""),
        ("registration_id", 3, _OPTIONAL, _UINT32, ""),
    ]),
    ("SessionRecord", [
        ("own_identity_key", 1, _REQUIRED, _BYTES, ""),
        ("peer_identity_key", 2, _REQUIRED, _BYTES, ""),
        ("base_key", 3, _REQUIRED, _BYTES, ""),
        ("ratchet", 4, _REQUIRED, _MESSAGE, "RatchetState"),
        ("pending", 5, _OPTIONAL, _MESSAGE, "PendingPreKey"),
        ("received_since_sent", 6, _REQUIRED, _UINT32, ""),
        ("initiator", 7, _REQUIRED, _BOOL, ""),
    ]),
    ("SessionBlob", [
        ("current", 1, _REQUIRED, _MESSAGE, "SessionRecord"),
        ("archived", 2, _REPEATED, _MESSAGE, "SessionRecord"),
    ]),
    ("OwnPreKey", [
        ("id", 1, _REQUIRED, _UINT32, ""),
        ("private", 2, _REQUIRED, _BYTES, ""),
    ]),
    ("OwnSignedPreKey", [
        ("id", 1, _REQUIRED, _UINT32, ""),
        ("private", 2, _REQUIRED, _BYTES, ""),
        ("signature", 3, _REQUIRED, _BYTES, ""),
    ]),
    ("OwnPreKeysBlob", [
        ("signed_pre_key", 1, _REQUIRED, _MESSAGE, "OwnSignedPreKey"),
        ("old_signed_pre_key", 2, _OPTIONAL, _MESSAGE, "OwnSignedPreKey"),
        ("pre_keys", 3, _REPEATED, _MESSAGE, "OwnPreKey"),
        ("next_pre_key_id", 4, _REQUIRED, _UINT32, ""),
    ]),
]  # fmt: skip


def _build() -> dict[str, Any]:
    fdp = descriptor_pb2.FileDescriptorProto(
        name="omemo_desktop_legacy.proto", package=_PACKAGE, syntax="proto2"
    )
    for msg_name, fields in _SCHEMA:
        msg = fdp.message_type.add(name=msg_name)
        for name, number, label, ftype, type_name in fields:
            field = msg.field.add(name=name, number=number, label=label, type=ftype)
            if type_name:
                field.type_name = f".{_PACKAGE}.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))
        for name, _ in _SCHEMA
    }


_CLASSES: Final = _build()

SignalMessage: Final[Any] = _CLASSES["SignalMessage"]
PreKeySignalMessage: Final[Any] = _CLASSES["PreKeySignalMessage"]
SkippedKey: Final[Any] = _CLASSES["SkippedKey"]
RatchetState: Final[Any] = _CLASSES["RatchetState"]
PendingPreKey: Final[Any] = _CLASSES["PendingPreKey"]
SessionRecord: Final[Any] = _CLASSES["SessionRecord"]
SessionBlob: Final[Any] = _CLASSES["SessionBlob"]
OwnPreKey: Final[Any] = _CLASSES["OwnPreKey"]
OwnSignedPreKey: Final[Any] = _CLASSES["OwnSignedPreKey"]
OwnPreKeysBlob: Final[Any] = _CLASSES["OwnPreKeysBlob"]


def serialize(msg: Any) -> bytes:
    out: bytes = msg.SerializeToString()
    return out


def parse(cls: Any, data: bytes, what: str) -> Any:
    """Parse ``data`` as ``cls``; every failure (also missing fields) is MalformedMessage."""
    msg = cls()
    try:
        msg.ParseFromString(data)
    except (message.DecodeError, ValueError, TypeError, RuntimeError) as exc:
        raise MalformedMessage(f"{what}: not a valid protobuf message") from exc
    if not msg.IsInitialized():
        raise MalformedMessage(f"{what}: required fields are missing")
    return msg
