"""Plain frozen dataclasses and enums that go in and out of the repositories.

Every enum's values are the exact strings stored in the database (and checked there by
``CHECK`` constraints). Times are POSIX seconds as floats, always passed in by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = [
    "LEGACY_NS",
    "OMEMO2_NS",
    "Bundle",
    "DeliveryState",
    "Device",
    "DeviceStatus",
    "Direction",
    "Encryption",
    "Message",
    "Namespace",
    "NewMessage",
    "OutboxEntry",
    "OutboxState",
    "OwnDevice",
    "OwnPreKeys",
    "Recipient",
    "Session",
    "TrustDecision",
    "TrustMethod",
    "TrustState",
]


class Namespace(StrEnum):
    OMEMO2 = "urn:xmpp:omemo:2"
    LEGACY = "eu.siacs.conversations.axolotl"


OMEMO2_NS: Final = Namespace.OMEMO2
LEGACY_NS: Final = Namespace.LEGACY


class DeviceStatus(StrEnum):
    ACTIVE = "active"  # listed in the peer's current device list
    INACTIVE = "inactive"  # dropped from the list (kept for history and trust)
    STALE = "stale"  # listed, but silent for a long time


class TrustState(StrEnum):
    UNDECIDED = "undecided"
    TRUSTED = "trusted"
    VERIFIED = "verified"
    DISTRUSTED = "distrusted"


class TrustMethod(StrEnum):
    NONE = "none"  # no decision yet (state is undecided)
    MANUAL = "manual"
    BLIND = "blind"  # blind trust before verification
    TOFU = "tofu"
    URI = "uri"  # scanned an xmpp: verification URI


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class Encryption(StrEnum):
    NONE = "none"
    OMEMO2 = "omemo2"
    LEGACY = "legacy"


class DeliveryState(StrEnum):
    RECEIVED = "received"  # incoming messages
    PENDING = "pending"  # outgoing, in the outbox
    SENT = "sent"  # written to the stream
    ACKED = "acked"  # the server acknowledged it (XEP-0198)
    DELIVERED = "delivered"  # receipt (XEP-0184) or marker
    READ = "read"  # displayed marker (XEP-0333)
    FAILED = "failed"  # gave up; see `Message.error`


class OutboxState(StrEnum):
    QUEUED = "queued"  # ready to send at `next_attempt_at`
    AWAITING_TRUST = "awaiting_trust"  # blocked until the user decides on new devices
    SENDING = "sending"  # handed to the network, waiting for the server's ack
    FAILED = "failed"  # gave up; the user may retry


@dataclass(frozen=True)
class OwnDevice:
    device_id: int
    label: str | None
    created_at: float


@dataclass(frozen=True)
class OwnPreKeys:
    """Own signed and one-time pre-keys for one namespace: an opaque, versioned blob."""

    namespace: Namespace
    state: bytes
    updated_at: float


@dataclass(frozen=True)
class Device:
    namespace: Namespace
    jid: str
    device_id: int
    label: str | None
    first_seen: float
    last_seen: float
    status: DeviceStatus


@dataclass(frozen=True)
class Bundle:
    namespace: Namespace
    jid: str
    device_id: int
    bundle: bytes
    fetched_at: float


@dataclass(frozen=True)
class Session:
    """A peer device's ratchet session: an opaque, versioned blob from the protocol core."""

    namespace: Namespace
    jid: str
    device_id: int
    state: bytes
    updated_at: float


@dataclass(frozen=True)
class TrustDecision:
    jid: str
    identity_key: bytes
    state: TrustState
    method: TrustMethod
    decided_at: float


@dataclass(frozen=True)
class Recipient:
    """One device an outgoing message was encrypted for."""

    namespace: Namespace
    jid: str
    device_id: int


@dataclass(frozen=True)
class NewMessage:
    """A message to store; the database assigns `Message.id`."""

    conversation: str  # bare JID of the conversation
    direction: Direction
    body: str
    encryption: Encryption
    timestamp: float  # when it was sent (delayed delivery stamp if any)
    stored_at: float  # when we stored it
    state: DeliveryState
    sender: str | None = None  # full JID or MUC occupant, when known
    stanza_id: str | None = None  # XEP-0359 stanza-id given by our server
    origin_id: str | None = None  # XEP-0359 origin-id given by the sender
    sender_device: int | None = None
    trust: TrustState | None = None  # trust in the sending device when received
    error: str | None = None
    correction_of: int | None = None  # id of the message this one corrects (XEP-0308)
    recipients: tuple[Recipient, ...] = ()  # devices an outgoing message was encrypted for


@dataclass(frozen=True)
class Message:
    id: int
    conversation: str
    direction: Direction
    body: str
    encryption: Encryption
    timestamp: float
    stored_at: float
    state: DeliveryState
    sender: str | None
    stanza_id: str | None
    origin_id: str | None
    sender_device: int | None
    trust: TrustState | None
    error: str | None
    correction_of: int | None


@dataclass(frozen=True)
class OutboxEntry:
    message_id: int
    state: OutboxState
    attempts: int
    last_error: str | None
    next_attempt_at: float
    created_at: float
