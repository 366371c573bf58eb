"""The one QObject that turns service events into Qt signals (past-tense facts)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, SignalInstance

from omemo_desktop.service.api import (
    ChatStateChanged,
    ConnectionStateChanged,
    DecryptionFailed,
    ErrorOccurred,
    Event,
    EventBus,
    MessageCorrected,
    MessageReceived,
    MessageStateChanged,
    MessageStored,
    OptOutReceived,
    PresenceChanged,
    RoomInvitationDeclined,
    RoomInvitationReceived,
    RoomMembersChanged,
    RoomRenamed,
    RosterChanged,
    SubscriptionRequested,
    TrustChanged,
    TrustDecisionNeeded,
)

from .qt_compat import emit


class EventBridge(QObject):
    """Subscribes to the service's bus; each event type becomes one signal.

    Events arrive on the asyncio loop's thread. With qasync that is the GUI thread; if a
    service ever publishes from another thread, Qt's automatic connection queues the signal.
    """

    connection_state_changed = Signal(object)
    message_received = Signal(object)
    message_stored = Signal(object)
    message_state_changed = Signal(object)
    message_corrected = Signal(object)
    chat_state_changed = Signal(object)
    presence_changed = Signal(object)
    subscription_requested = Signal(object)
    roster_changed = Signal(object)
    trust_decision_needed = Signal(object)
    trust_changed = Signal(object)
    decryption_failed = Signal(object)
    error_occurred = Signal(object)
    room_members_changed = Signal(object)
    room_invitation_received = Signal(object)
    room_invitation_declined = Signal(object)
    room_renamed = Signal(object)
    opt_out_received = Signal(object)

    def __init__(self, bus: EventBus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._routes: dict[type, SignalInstance] = {
            ConnectionStateChanged: self.connection_state_changed,
            MessageReceived: self.message_received,
            MessageStored: self.message_stored,
            MessageStateChanged: self.message_state_changed,
            MessageCorrected: self.message_corrected,
            ChatStateChanged: self.chat_state_changed,
            PresenceChanged: self.presence_changed,
            SubscriptionRequested: self.subscription_requested,
            RosterChanged: self.roster_changed,
            TrustDecisionNeeded: self.trust_decision_needed,
            TrustChanged: self.trust_changed,
            DecryptionFailed: self.decryption_failed,
            ErrorOccurred: self.error_occurred,
            RoomMembersChanged: self.room_members_changed,
            RoomInvitationReceived: self.room_invitation_received,
            RoomInvitationDeclined: self.room_invitation_declined,
            RoomRenamed: self.room_renamed,
            OptOutReceived: self.opt_out_received,
        }
        self._unsubscribe: Callable[[], None] | None = bus.subscribe(self._on_bus_event)

    def _on_bus_event(self, event: Event) -> None:
        signal = self._routes.get(type(event))
        if signal is not None:
            emit(signal, event)

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
