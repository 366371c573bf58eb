"""The only names the GUI and the CLI import from the service layer.

`MessengerApi` is the contract; `omemo_desktop.service.messenger.Messenger` implements it on
a real server, and GUI tests may use a fake with the same shape.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .errors import (
    AccountError,
    AuthenticationError,
    CertificateError,
    ConnectionFailed,
    FileIntegrityError,
    FileTooLarge,
    KeyringUnavailable,
    ServiceError,
    TransferCancelled,
    TransferError,
    TrustRequired,
    VerificationMismatch,
)
from .events import (
    ChatStateChanged,
    ConnectionStateChanged,
    DecryptionFailed,
    ErrorOccurred,
    Event,
    EventBus,
    Listener,
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
    TransferProgress,
    TrustChanged,
    TrustDecisionNeeded,
)
from .sharing import SharedFile, human_size, shared_file
from .uri import XmppUri, parse_xmpp_uri
from .views import ContactView, DeviceView, MessageView, RoomView

__all__ = [
    "AccountError",
    "AccountSettings",
    "AuthenticationError",
    "CertificateError",
    "ChatStateChanged",
    "ConnectionFailed",
    "ConnectionStateChanged",
    "ContactView",
    "DecryptionFailed",
    "DeviceView",
    "ErrorOccurred",
    "Event",
    "EventBus",
    "FileIntegrityError",
    "FileTooLarge",
    "KeyringUnavailable",
    "Listener",
    "MessageCorrected",
    "MessageReceived",
    "MessageStateChanged",
    "MessageStored",
    "MessageView",
    "MessengerApi",
    "OptOutReceived",
    "PresenceChanged",
    "RoomInvitationDeclined",
    "RoomInvitationReceived",
    "RoomMembersChanged",
    "RoomRenamed",
    "RoomView",
    "RosterChanged",
    "ServiceError",
    "SharedFile",
    "SubscriptionRequested",
    "TransferCancelled",
    "TransferError",
    "TransferProgress",
    "TrustChanged",
    "TrustDecisionNeeded",
    "TrustRequired",
    "VerificationMismatch",
    "XmppUri",
    "create_messenger",
    "human_size",
    "parse_xmpp_uri",
    "shared_file",
]


@dataclass(frozen=True)
class AccountSettings:
    jid: str
    server: str | None = None  # "host[:port]"; None = DNS
    trust_policy: str = "manual"  # manual | blind | tofu


class MessengerApi(Protocol):
    """What a front end may ask of the service. All I/O is async; reads are cheap."""

    @property
    def events(self) -> EventBus: ...

    def accounts(self) -> list[str]: ...

    async def start(self) -> None:
        """Open every stored account and connect it in the background."""
        ...

    async def add_account(
        self, jid: str, password: str, *, server: str | None = None, register: bool = False
    ) -> None: ...

    async def connect(self, account: str) -> None: ...

    async def disconnect(self, account: str) -> None: ...

    def connection_state(self, account: str) -> str:
        """connected | connecting | disconnected"""
        ...

    async def set_trust_policy(self, account: str, policy: str) -> None:
        """manual | blind | tofu"""
        ...

    async def remove_device(self, account: str, device_id: int) -> None:
        """Remove one of our own (dead) devices from our published device lists."""
        ...

    async def send_message(
        self, account: str, peer: str, text: str, *, encrypt: bool = True
    ) -> MessageView: ...

    async def correct_last_message(self, account: str, peer: str, text: str) -> None: ...

    async def retry_message(self, account: str, message_id: str) -> None: ...

    async def history(
        self, account: str, peer: str, *, limit: int = 50, before: float | None = None
    ) -> list[MessageView]: ...

    async def search(self, account: str, query: str, *, limit: int = 50) -> list[MessageView]: ...

    def contacts(self, account: str) -> list[ContactView]: ...

    async def add_contact(self, account: str, jid: str, name: str = "") -> None: ...

    async def remove_contact(self, account: str, jid: str) -> None: ...

    async def rename_contact(self, account: str, jid: str, name: str) -> None: ...

    async def answer_subscription(self, account: str, jid: str, approve: bool) -> None: ...

    async def send_chat_state(self, account: str, peer: str, state: str) -> None: ...

    async def mark_displayed(self, account: str, peer: str, message_id: str) -> None: ...

    async def devices(self, account: str, jid: str) -> list[DeviceView]: ...

    async def set_trust(self, account: str, jid: str, device_id: int, trust: str) -> None: ...

    async def own_fingerprint(self, account: str) -> tuple[str, str]:
        """(fingerprint hex, xmpp: verification URI)"""
        ...

    async def apply_verification_uri(self, account: str, uri: str) -> list[DeviceView]: ...

    async def reset_session(self, account: str, jid: str, device_id: int) -> None: ...

    async def reset_sessions(self, account: str, jid: str) -> list[int]:
        """Reset the sessions with every device of a contact; returns the device ids."""
        ...

    async def confirm_plaintext(self, account: str, peer: str) -> None:
        """After OptOutReceived: send to `peer` unencrypted (the waiting messages too)."""
        ...

    async def join_room(self, account: str, room: str, nick: str | None = None) -> RoomView:
        """Join (creating it members-only and non-anonymous if it does not exist)."""
        ...

    async def leave_room(self, account: str, room: str) -> None:
        """Leave and turn the bookmark's autojoin off (no device rejoins at its next start)."""
        ...

    async def decline_invitation(
        self, account: str, room: str, inviter: str, reason: str = ""
    ) -> None:
        """Tell the inviter no, through the room (RoomInvitationDeclined on their side)."""
        ...

    async def rename_room(self, account: str, room: str, name: str) -> RoomView:
        """The room's name for every member (owners only) and in our synced bookmark."""
        ...

    async def invite_to_room(self, account: str, room: str, jid: str) -> RoomView:
        """Make `jid` a member and invite them."""
        ...

    async def remove_from_room(self, account: str, room: str, jid: str) -> RoomView: ...

    def rooms(self, account: str) -> list[RoomView]: ...

    async def send_file(
        self,
        account: str,
        peer: str,
        path: Path,
        *,
        progress: Callable[[TransferProgress], None] | None = None,
        cancel: asyncio.Event | None = None,
    ) -> MessageView:
        """Upload `path` encrypted (XEP-0454) and send its aesgcm:// link with OMEMO.

        Raises FileTooLarge before uploading anything, TransferCancelled when `cancel` is set
        (then no message exists), TransferError on network failures."""
        ...

    async def download(
        self,
        account: str,
        source: str,
        dest: Path,
        *,
        progress: Callable[[TransferProgress], None] | None = None,
        cancel: asyncio.Event | None = None,
        overwrite: bool = False,
    ) -> Path:
        """Fetch a shared file (message id or aesgcm:// link) into `dest` (a file or a
        folder), verified; returns the final path. FileIntegrityError on a bad tag."""
        ...

    async def close(self) -> None: ...


def create_messenger(data_dir: Path, ca_file: Path | None = None) -> MessengerApi:
    """The real service. Imported lazily so the GUI can paint before slixmpp loads."""
    from .messenger import Messenger

    return Messenger(data_dir=data_dir, ca_file=ca_file)
