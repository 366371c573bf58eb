"""An in-memory MessengerApi for GUI tests and screenshots: records every call, lets a test
publish events, and can be told to fail or to wait."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from omemo_desktop.service.api import (
    AccountError,
    ContactView,
    DeviceView,
    Event,
    EventBus,
    MessageCorrected,
    MessageStateChanged,
    MessageStored,
    MessageView,
    RoomMembersChanged,
    RoomView,
    RosterChanged,
    ServiceError,
    TransferCancelled,
    TransferProgress,
    TrustChanged,
)


def fake_aesgcm_url(name: str) -> str:
    """A well-formed aesgcm:// link (XEP-0454) for a file called `name`."""
    return f"aesgcm://files.example.org/slot/{name}#" + "ab" * 44


URI_PAIR = re.compile(r"(omemo2?)-sid-(\d+)=([0-9a-fA-F]{64})")


@dataclass
class Call:
    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)


class FakeMessenger:
    """Implements omemo_desktop.service.api.MessengerApi in memory."""

    def __init__(self) -> None:
        self._events = EventBus()
        self.calls: list[Call] = []
        self._accounts: list[str] = []
        self._contacts: dict[str, dict[str, ContactView]] = {}
        self.messages: dict[tuple[str, str], list[MessageView]] = {}
        self.device_map: dict[tuple[str, str], list[DeviceView]] = {}
        self.fingerprints: dict[str, str] = {}
        self.fail: dict[str, BaseException] = {}  # method name -> error to raise
        self.gate: asyncio.Event | None = None  # when set, add_account waits for it
        self.room_map: dict[tuple[str, str], RoomView] = {}  # joined rooms
        self.existing_rooms: dict[str, RoomView] = {}  # rooms on the "server", not joined yet
        self.removed_devices: list[tuple[str, int]] = []
        self.shared: dict[str, bytes] = {}  # message id -> the file a download writes
        self.upload_gate: asyncio.Event | None = None  # when set, send_file pauses at 50 %
        self._counter = 0

    # -- helpers for tests ------------------------------------------------------------
    def emit(self, event: Event) -> None:
        self.events.publish(event)

    def called(self, name: str) -> list[Call]:
        return [c for c in self.calls if c.name == name]

    def add_account_now(self, jid: str, fingerprint: str | None = None) -> None:
        if jid not in self._accounts:
            self._accounts.append(jid)
            self._contacts[jid] = {}
        self.fingerprints[jid] = fingerprint or ("ab12cd34" * 8)

    def set_contacts(self, account: str, contacts: list[ContactView]) -> None:
        self._contacts[account] = {c.jid: c for c in contacts}

    def add_message(self, message: MessageView) -> None:
        self.messages.setdefault((message.account, message.peer), []).append(message)

    def set_devices(self, account: str, jid: str, devices: list[DeviceView]) -> None:
        self.device_map[(account, jid)] = devices

    def add_room(self, account: str, room: RoomView) -> None:
        """A room the account has already joined (as after autojoin from bookmarks)."""
        self.room_map[(account, room.jid)] = room

    def _record(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.calls.append(Call(name, args, kwargs))
        error = self.fail.get(name)
        if error is not None:
            raise error

    def _next_id(self) -> str:
        self._counter += 1
        return f"msg-{self._counter}"

    # -- MessengerApi -----------------------------------------------------------------
    @property
    def events(self) -> EventBus:
        return self._events

    def accounts(self) -> list[str]:
        return list(self._accounts)

    async def start(self) -> None:
        self._record("start")

    async def add_account(
        self, jid: str, password: str, *, server: str | None = None, register: bool = False
    ) -> None:
        if self.gate is not None:
            await self.gate.wait()
        self._record("add_account", jid, password, server=server, register=register)
        if jid in self._accounts:
            raise AccountError(f"The account {jid} is already set up here.")
        self.add_account_now(jid)

    async def connect(self, account: str) -> None:
        self._record("connect", account)

    async def disconnect(self, account: str) -> None:
        self._record("disconnect", account)

    async def send_message(
        self, account: str, peer: str, text: str, *, encrypt: bool = True
    ) -> MessageView:
        self._record("send_message", account, peer, text, encrypt=encrypt)
        devices = self.device_map.get((account, peer), [])
        message = MessageView(
            id=self._next_id(),
            account=account,
            peer=peer,
            direction="out",
            body=text,
            timestamp=time.time(),
            encryption="omemo2" if encrypt else "none",
            trust="trusted" if encrypt else "none",
            state="pending",
            encrypted_for=tuple(d.device_id for d in devices),
        )
        self.add_message(message)
        self.emit(MessageStored(account, message))
        return message

    async def correct_last_message(self, account: str, peer: str, text: str) -> None:
        self._record("correct_last_message", account, peer, text)
        history = self.messages.get((account, peer), [])
        for index in range(len(history) - 1, -1, -1):
            if history[index].direction == "out":
                history[index] = replace(history[index], body=text, edited=True)
                self.emit(MessageCorrected(account, peer, history[index].id, text))
                return
        raise ServiceError("There is no message of yours to correct in this conversation.")

    async def retry_message(self, account: str, message_id: str) -> None:
        self._record("retry_message", account, message_id)
        for (acc, peer), history in self.messages.items():
            for m in history:
                if acc == account and m.id == message_id:
                    self.emit(MessageStateChanged(account, peer, message_id, "sent"))
                    return

    async def history(
        self, account: str, peer: str, *, limit: int = 50, before: float | None = None
    ) -> list[MessageView]:
        self._record("history", account, peer, limit=limit, before=before)
        items = [
            m
            for m in self.messages.get((account, peer), [])
            if before is None or m.timestamp < before
        ]
        return sorted(items, key=lambda m: m.timestamp)[-limit:]

    async def search(self, account: str, query: str, *, limit: int = 50) -> list[MessageView]:
        self._record("search", account, query, limit=limit)
        found = [
            m
            for (acc, _), history in self.messages.items()
            if acc == account
            for m in history
            if query.lower() in m.body.lower()
        ]
        return found[:limit]

    def contacts(self, account: str) -> list[ContactView]:
        return list(self._contacts.get(account, {}).values())

    async def add_contact(self, account: str, jid: str, name: str = "") -> None:
        self._record("add_contact", account, jid, name)
        self._contacts.setdefault(account, {})[jid] = ContactView(jid, name, "none")
        self.emit(RosterChanged(account, tuple(self.contacts(account))))

    async def remove_contact(self, account: str, jid: str) -> None:
        self._record("remove_contact", account, jid)
        self._contacts.get(account, {}).pop(jid, None)
        self.emit(RosterChanged(account, tuple(self.contacts(account))))

    async def rename_contact(self, account: str, jid: str, name: str) -> None:
        self._record("rename_contact", account, jid, name)

    async def answer_subscription(self, account: str, jid: str, approve: bool) -> None:
        self._record("answer_subscription", account, jid, approve)

    async def send_chat_state(self, account: str, peer: str, state: str) -> None:
        self._record("send_chat_state", account, peer, state)

    async def mark_displayed(self, account: str, peer: str, message_id: str) -> None:
        self._record("mark_displayed", account, peer, message_id)

    async def devices(self, account: str, jid: str) -> list[DeviceView]:
        self._record("devices", account, jid)
        return list(self.device_map.get((account, jid), []))

    async def set_trust(self, account: str, jid: str, device_id: int, trust: str) -> None:
        self._record("set_trust", account, jid, device_id, trust)
        devices = self.device_map.get((account, jid), [])
        self.device_map[(account, jid)] = [
            replace(d, trust=trust) if d.device_id == device_id else d for d in devices
        ]
        self.emit(TrustChanged(account, jid, device_id, trust))

    async def own_fingerprint(self, account: str) -> tuple[str, str]:
        self._record("own_fingerprint", account)
        fingerprint = self.fingerprints.get(account, "ab12cd34" * 8)
        return fingerprint, f"xmpp:{account}?omemo2-sid-1001={fingerprint}"

    async def apply_verification_uri(self, account: str, uri: str) -> list[DeviceView]:
        """Matching fingerprints become verified; a mismatch comes back not verified."""
        self._record("apply_verification_uri", account, uri)
        jid = uri.removeprefix("xmpp:").split("?", 1)[0]
        known = {d.device_id: d for d in self.device_map.get((account, jid), [])}
        result: list[DeviceView] = []
        for _ns, sid, fingerprint in URI_PAIR.findall(uri):
            device = known.get(int(sid))
            if device is None:
                continue
            if device.fingerprint.lower() == fingerprint.lower():
                device = replace(device, trust="verified")
                await self.set_trust(account, jid, device.device_id, "verified")
            result.append(device)
        return result

    async def reset_session(self, account: str, jid: str, device_id: int) -> None:
        self._record("reset_session", account, jid, device_id)

    async def remove_device(self, account: str, device_id: int) -> None:
        self._record("remove_device", account, device_id)
        self.removed_devices.append((account, device_id))
        self.device_map[(account, account)] = [
            d for d in self.device_map.get((account, account), []) if d.device_id != device_id
        ]

    async def set_trust_policy(self, account: str, policy: str) -> None:
        self._record("set_trust_policy", account, policy)

    async def confirm_plaintext(self, account: str, peer: str) -> None:
        self._record("confirm_plaintext", account, peer)

    def connection_state(self, account: str) -> str:
        return "connected"

    # -- rooms ------------------------------------------------------------------------
    async def join_room(self, account: str, room: str, nick: str | None = None) -> RoomView:
        if self.gate is not None:
            await self.gate.wait()
        self._record("join_room", account, room, nick)
        nick = nick or account.split("@")[0]
        known = self.existing_rooms.get(room)
        if known is not None:
            view = replace(known, nick=nick, members=tuple(sorted({*known.members, account})))
        else:  # created: members-only and non-anonymous, we are its owner
            view = RoomView(room, room.split("@")[0], nick, (account,), True)
        self.room_map[(account, room)] = view
        return view

    async def leave_room(self, account: str, room: str) -> None:
        self._record("leave_room", account, room)
        self.room_map.pop((account, room), None)

    async def invite_to_room(self, account: str, room: str, jid: str) -> RoomView:
        self._record("invite_to_room", account, room, jid)
        view = self.room_map.get((account, room))
        if view is None:
            raise ServiceError(f"Join {room} first.")
        view = replace(view, members=tuple(sorted({*view.members, jid})))
        self.room_map[(account, room)] = view
        self.emit(RoomMembersChanged(account, room, view.members))
        return view

    async def remove_from_room(self, account: str, room: str, jid: str) -> RoomView:
        self._record("remove_from_room", account, room, jid)
        view = self.room_map.get((account, room))
        if view is None:
            raise ServiceError(f"Join {room} first.")
        view = replace(view, members=tuple(m for m in view.members if m != jid))
        self.room_map[(account, room)] = view
        self.emit(RoomMembersChanged(account, room, view.members))
        return view

    async def decline_invitation(
        self, account: str, room: str, inviter: str, reason: str = ""
    ) -> None:
        self._record("decline_invitation", account, room, inviter, reason)

    async def rename_room(self, account: str, room: str, name: str) -> RoomView:
        self._record("rename_room", account, room, name)
        view = self.room_map.get((account, room))
        if view is None:
            raise ServiceError(f"Join {room} first.")
        view = replace(view, name=name.strip())
        self.room_map[(account, room)] = view
        return view

    def rooms(self, account: str) -> list[RoomView]:
        return [v for (acc, _), v in self.room_map.items() if acc == account]

    async def send_file(
        self,
        account: str,
        peer: str,
        path: Path,
        *,
        progress: Callable[[TransferProgress], None] | None = None,
        cancel: asyncio.Event | None = None,
    ) -> MessageView:
        self._record("send_file", account, peer, path)
        data = Path(path).read_bytes()

        def step(done: int, state: str = "running") -> None:
            if progress is not None:
                progress(
                    TransferProgress(
                        account, "t1", peer, "upload", path.name, done, len(data), state
                    )
                )

        step(0)
        if self.upload_gate is not None:
            step(len(data) // 2)
            waits = [asyncio.ensure_future(self.upload_gate.wait())]
            if cancel is not None:
                waits.append(asyncio.ensure_future(cancel.wait()))
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for w in waits:
                w.cancel()
        if cancel is not None and cancel.is_set():
            step(len(data) // 2, "cancelled")
            raise TransferCancelled("The transfer was cancelled.")
        step(len(data), "finished")
        message = MessageView(
            id=self._next_id(),
            account=account,
            peer=peer,
            direction="out",
            body=fake_aesgcm_url(path.name),
            timestamp=time.time(),
            encryption="omemo2",
            trust="trusted",
            state="pending",
        )
        self.shared[message.id] = data
        self.add_message(message)
        self.emit(MessageStored(account, message))
        return message

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
        self._record("download", account, source, dest, overwrite=overwrite)
        data = self.shared[source]
        if progress is not None:
            progress(TransferProgress(account, "t2", "", "download", dest.name, 0, len(data)))
        await asyncio.sleep(0)
        if cancel is not None and cancel.is_set():
            self.calls[-1].kwargs["cancelled"] = True
            raise TransferCancelled("The transfer was cancelled.")
        Path(dest).write_bytes(data)
        return Path(dest)

    async def close(self) -> None:
        self._record("close")
