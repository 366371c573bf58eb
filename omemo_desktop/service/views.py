"""Plain read-only views the service hands to its front ends (GUI, CLI)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MessageView:
    id: str
    account: str
    peer: str  # bare JID of the conversation
    direction: str  # "in" | "out"
    body: str
    timestamp: float
    encryption: str  # "omemo2" | "legacy" | "none"
    sender_device: int | None = None
    trust: str = "none"  # verified | trusted | untrusted | none (not encrypted)
    state: str = "received"  # pending | sent | acked | delivered | read | failed | received
    error: str | None = None
    edited: bool = False
    notice: bool = False  # a system notice (decryption failure etc.), not a user message
    encrypted_for: tuple[int, ...] = ()
    sender: str | None = None  # full JID; in a room "room@service/nick" (who wrote it)


@dataclass(frozen=True)
class ContactView:
    jid: str
    name: str
    subscription: str  # none | to | from | both
    available: bool = False
    show: str = ""
    status: str = ""
    unread: int = 0
    encryption: str = "omemo"  # omemo | plain


@dataclass(frozen=True)
class DeviceView:
    jid: str
    device_id: int
    fingerprint: str  # 64 hex chars
    namespace: str  # "omemo2" | "legacy" | "both"
    trust: str  # undecided | trusted | verified | distrusted
    label: str | None = None
    active: bool = True
    last_seen: float | None = None
    own: bool = False


@dataclass(frozen=True)
class RoomView:
    jid: str
    name: str
    nick: str
    members: tuple[str, ...]
    omemo_capable: bool  # members-only and non-anonymous (XEP-0384 §5.8)
