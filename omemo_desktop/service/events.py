"""Typed events the service publishes; the GUI bridge and the CLI subscribe to them.

Events are frozen dataclasses and past-tense facts. The bus is passed in (no globals).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

from .views import ContactView, DeviceView, MessageView

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionStateChanged:
    account: str
    state: str  # "connecting" | "connected" | "disconnected" | "failed"
    error: str | None = None


@dataclass(frozen=True)
class MessageReceived:
    account: str
    message: MessageView


@dataclass(frozen=True)
class MessageStored:
    """An outgoing message was stored in the outbox (it shows at once, pending)."""

    account: str
    message: MessageView


@dataclass(frozen=True)
class MessageStateChanged:
    account: str
    peer: str
    message_id: str
    state: str  # pending | sent | acked | delivered | read | failed
    error: str | None = None


@dataclass(frozen=True)
class MessageCorrected:
    account: str
    peer: str
    message_id: str
    body: str


@dataclass(frozen=True)
class ChatStateChanged:
    account: str
    peer: str
    state: str  # active | composing | paused | inactive | gone


@dataclass(frozen=True)
class PresenceChanged:
    account: str
    jid: str
    available: bool
    show: str = ""
    status: str = ""


@dataclass(frozen=True)
class SubscriptionRequested:
    account: str
    jid: str


@dataclass(frozen=True)
class RosterChanged:
    account: str
    contacts: tuple[ContactView, ...]


@dataclass(frozen=True)
class TrustDecisionNeeded:
    """A send waits in the outbox until the user decides about these devices."""

    account: str
    peer: str
    devices: tuple[DeviceView, ...]
    key_changed: bool = False


@dataclass(frozen=True)
class TrustChanged:
    account: str
    peer: str
    device_id: int
    trust: str


@dataclass(frozen=True)
class DecryptionFailed:
    account: str
    peer: str
    device_id: int
    reason: str


@dataclass(frozen=True)
class OptOutReceived:
    """The peer asked to continue without encryption; sends to them wait for the user
    (MessengerApi.confirm_plaintext)."""

    account: str
    peer: str
    reason: str


@dataclass(frozen=True)
class RoomMembersChanged:
    """A room's member list changed: from the next message on, keys go to these JIDs."""

    account: str
    room: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class RoomInvitationReceived:
    account: str
    room: str
    inviter: str


@dataclass(frozen=True)
class RoomInvitationDeclined:
    """Someone we invited said no (XEP-0045 mediated decline, passed on by the room)."""

    account: str
    room: str
    invitee: str
    reason: str = ""


@dataclass(frozen=True)
class RoomRenamed:
    """The room's name changed (by an owner, on any device or client)."""

    account: str
    room: str
    name: str


@dataclass(frozen=True)
class ErrorOccurred:
    account: str
    text: str


@dataclass(frozen=True)
class TransferProgress:
    """A file upload or download moved on (throttled to about a hundred steps), or ended."""

    account: str
    transfer_id: str
    peer: str  # the conversation ("" for a download by URL)
    direction: str  # "upload" | "download"
    name: str  # the file name shown to the person
    done: int  # bytes of the file (plaintext) so far
    total: int | None  # None while the size is unknown
    state: str = "running"  # running | finished | failed | cancelled
    error: str | None = None


Event: TypeAlias = (
    ConnectionStateChanged
    | MessageReceived
    | MessageStored
    | MessageStateChanged
    | MessageCorrected
    | ChatStateChanged
    | PresenceChanged
    | SubscriptionRequested
    | RosterChanged
    | TrustDecisionNeeded
    | TrustChanged
    | DecryptionFailed
    | OptOutReceived
    | RoomMembersChanged
    | RoomInvitationReceived
    | RoomInvitationDeclined
    | RoomRenamed
    | ErrorOccurred
    | TransferProgress
)

Listener: TypeAlias = Callable[[Event], None]


class EventBus:
    """Synchronous fan-out; a failing listener is logged and does not stop the others."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def publish(self, event: Event) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a listener bug must not break the pipeline
                log.exception("event listener failed on %s", type(event).__name__)
