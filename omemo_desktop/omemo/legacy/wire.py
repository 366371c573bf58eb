"""libsignal's byte formats: 0x05 keys, SignalMessage and PreKeySignalMessage (legacy-omemo.md §7).

``SignalMessage``        = 0x33 ‖ proto(SignalMessage) ‖ mac8
``PreKeySignalMessage``  = 0x33 ‖ proto(PreKeySignalMessage)   (its ``message`` is a SignalMessage)

Parsers return plain frozen dataclasses and raise MalformedMessage (or InvalidKey for a bad key)
for anything libsignal would reject.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .. import primitives
from ..errors import InvalidKey, MalformedMessage, NoPreKey
from . import proto

VERSION_BYTE: Final = 0x33
CURRENT_VERSION: Final = 3
KEY_TYPE_DJB: Final = 0x05
MAC_LENGTH: Final = 8
_VERSION: Final = bytes([VERSION_BYTE])


def encode_key(u: bytes) -> bytes:
    """32-byte Curve25519 public key -> libsignal's 33-byte 0x05 ‖ u."""
    return b"\x05" + u


def decode_key(data: bytes, what: str = "public key") -> bytes:
    """33-byte 0x05 ‖ u -> u; anything else (wrong type byte, length, u >= p) is InvalidKey."""
    if len(data) != 33 or data[0] != KEY_TYPE_DJB:
        raise InvalidKey(f"{what}: expected 33 bytes starting with 0x05, got {len(data)} bytes")
    u = data[1:]
    if int.from_bytes(u, "little") >= primitives.P:
        raise InvalidKey(f"{what}: Curve25519 coordinate is not reduced")
    return u


def _check_version(data: bytes, what: str) -> None:
    if not data:
        raise MalformedMessage(f"{what}: empty")
    version = data[0] >> 4
    if version < CURRENT_VERSION:
        raise MalformedMessage(f"{what}: legacy message version {version} is not supported")
    if version > CURRENT_VERSION:
        raise MalformedMessage(f"{what}: unknown message version {version}")


@dataclass(frozen=True, slots=True)
class ParsedSignalMessage:
    ratchet_key: bytes  # 32-byte u
    counter: int
    previous_counter: int
    ciphertext: bytes
    authenticated: bytes  # 0x33 ‖ proto: the exact bytes the MAC covers
    mac: bytes


def build_signal_message(
    ratchet_key: bytes, counter: int, previous_counter: int, ciphertext: bytes
) -> bytes:
    """0x33 ‖ proto, without the MAC (the caller appends it, see :func:`mac8`)."""
    msg = proto.SignalMessage(
        ratchetKey=encode_key(ratchet_key),
        counter=counter,
        previousCounter=previous_counter,
        ciphertext=ciphertext,
    )
    return _VERSION + proto.serialize(msg)


def mac8(mac_key: bytes, sender_ik: bytes, receiver_ik: bytes, authenticated: bytes) -> bytes:
    """libsignal's MAC: HMAC-SHA-256(macKey, IK_sender33 ‖ IK_receiver33 ‖ 0x33 ‖ proto)[:8]."""
    data = b"\x05" + sender_ik + b"\x05" + receiver_ik + authenticated
    return primitives.hmac_sha256(mac_key, data)[:MAC_LENGTH]


def parse_signal_message(data: bytes) -> ParsedSignalMessage:
    what = "SignalMessage"
    if len(data) < 1 + MAC_LENGTH:
        raise MalformedMessage(f"{what}: too short ({len(data)} bytes)")
    _check_version(data, what)
    authenticated = data[:-MAC_LENGTH]
    msg = proto.parse(proto.SignalMessage, authenticated[1:], what)
    if not (msg.HasField("ratchetKey") and msg.HasField("counter") and msg.HasField("ciphertext")):
        raise MalformedMessage(f"{what}: ratchet key, counter or ciphertext missing")
    return ParsedSignalMessage(
        ratchet_key=decode_key(msg.ratchetKey, f"{what} ratchet key"),
        counter=msg.counter,
        previous_counter=msg.previousCounter,
        ciphertext=msg.ciphertext,
        authenticated=authenticated,
        mac=data[-MAC_LENGTH:],
    )


@dataclass(frozen=True, slots=True)
class ParsedPreKeySignalMessage:
    pre_key_id: int
    signed_pre_key_id: int
    base_key: bytes  # 32-byte u
    identity_key: bytes  # 32-byte u
    registration_id: int | None
    message: bytes  # the embedded serialized SignalMessage (parsed by the ratchet)


def build_pre_key_signal_message(
    *,
    pre_key_id: int,
    signed_pre_key_id: int,
    base_key: bytes,
    identity_key: bytes,
    message: bytes,
    registration_id: int | None = None,
) -> bytes:
    msg = proto.PreKeySignalMessage(
        preKeyId=pre_key_id,
        baseKey=encode_key(base_key),
        identityKey=encode_key(identity_key),
        message=message,
        signedPreKeyId=signed_pre_key_id,
    )
    if registration_id is not None:
        msg.registrationId = registration_id
    return _VERSION + proto.serialize(msg)


def parse_pre_key_signal_message(data: bytes) -> ParsedPreKeySignalMessage:
    what = "PreKeySignalMessage"
    _check_version(data, what)
    msg = proto.parse(proto.PreKeySignalMessage, data[1:], what)
    for field in ("signedPreKeyId", "baseKey", "identityKey", "message"):
        if not msg.HasField(field):
            raise MalformedMessage(f"{what}: {field} missing")
    if not msg.HasField("preKeyId"):
        # Conversations rejects these too; OMEMO always uses a one-time pre-key.
        raise NoPreKey(f"{what}: no one-time pre-key id")
    return ParsedPreKeySignalMessage(
        pre_key_id=msg.preKeyId,
        signed_pre_key_id=msg.signedPreKeyId,
        base_key=decode_key(msg.baseKey, f"{what} base key"),
        identity_key=decode_key(msg.identityKey, f"{what} identity key"),
        registration_id=msg.registrationId if msg.HasField("registrationId") else None,
        message=msg.message,
    )
