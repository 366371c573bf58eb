"""One account at run time: its connection, database and the two pipelines.

Receive pipeline (one task drains the connection's queue, so order is kept):
    classify -> receipts/markers/chat states -> dedupe -> decrypt -> store -> publish
Send pipeline (serialized by one lock per account):
    store in outbox -> (trust check -> encrypt) -> stanza -> server ack -> leave outbox
An outgoing message leaves the outbox only after the server has acknowledged it; after a
crash or a disconnect it is sent again with the same origin-id, and receivers drop the copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial

from omemo_desktop.storage import Database, DatabaseError, DuplicateMessage, MessageRepository
from omemo_desktop.storage.cursors import ArchiveCursorRepository
from omemo_desktop.storage.model import (
    DeliveryState,
    Direction,
    Encryption,
    Message,
    NewMessage,
    OutboxState,
    Recipient,
    TrustState,
)
from omemo_desktop.storage.outbox import OutboxRepository
from omemo_desktop.xmpp.client import (
    Disconnected,
    Inbound,
    PepNotification,
    PresenceUpdate,
    RosterUpdate,
    SessionStarted,
    XmppClient,
)
from omemo_desktop.xmpp.errors import XmppError, XmppNotConnected
from omemo_desktop.xmpp.stanzas import (
    InboundMessage,
    OutboundMessage,
    build_message,
    chat_state_message,
    displayed_marker,
    receipt,
)

from .accounts import AccountConfig
from .events import (
    ChatStateChanged,
    ConnectionStateChanged,
    ErrorOccurred,
    EventBus,
    MessageCorrected,
    MessageReceived,
    MessageStateChanged,
    MessageStored,
    PresenceChanged,
    RoomInvitationDeclined,
    RoomInvitationReceived,
    RoomMembersChanged,
    RoomRenamed,
    RosterChanged,
    SubscriptionRequested,
)
from .rooms import Room
from .rooms import refresh_info as refresh_room_info
from .views import ContactView, MessageView

log = logging.getLogger(__name__)

MESSAGES = MessageRepository()
CURSORS = ArchiveCursorRepository()
OUTBOX = OutboxRepository()
UNDECRYPTABLE = "undecryptable"
OPT_OUT = "opt-out"  # a notice: the peer asked to continue without encryption


def bare(jid: str) -> str:
    return jid.split("/", 1)[0].lower()


def to_view(
    account: str,
    m: Message,
    *,
    body: str | None = None,
    edited: bool = False,
    encrypted_for: tuple[int, ...] = (),
) -> MessageView:
    return MessageView(
        id=str(m.id),
        account=account,
        peer=m.conversation,
        direction=str(m.direction),
        body=body if body is not None else m.body,
        timestamp=m.timestamp,
        encryption=str(m.encryption),
        sender_device=m.sender_device,
        trust=str(m.trust) if m.trust is not None else "none",
        state=str(m.state),
        error=m.error,
        edited=edited,
        notice=m.error in (UNDECRYPTABLE, OPT_OUT),
        encrypted_for=encrypted_for,
        sender=m.sender,
    )


class Account:
    def __init__(
        self,
        config: AccountConfig,
        client: XmppClient,
        db: Database,
        bus: EventBus,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.jid = config.jid
        self.client = client
        self.db = db
        self.bus = bus
        self.clock = clock
        self._send_lock = asyncio.Lock()
        # Held from reading a ratchet session to committing its successor (both pipelines).
        self.ratchet_lock = asyncio.Lock()
        self._drain_task: asyncio.Task[None] | None = None
        self._flush_task: asyncio.Task[None] | None = None
        self._retry_timers: set[asyncio.TimerHandle] = set()
        self._catch_up_done = asyncio.Event()
        # Archives read up to the present in this session: only then may live messages move
        # their cursor (an offline or resumed message may be newer than one still unread).
        self._caught_up: set[str] = set()
        self._caught_up_before: set[str] = set()
        # Inbound items wait until the account is fully set up (OMEMO keys loaded), so
        # messages delivered right after login (offline storage) are never dropped.
        self.ready = asyncio.Event()
        self.rooms: dict[str, Room] = {}
        self._presence: dict[str, PresenceUpdate] = {}
        self._unread: dict[str, int] = {}

    # ---- life cycle -------------------------------------------------------------------

    async def start(self, *, register: bool = False) -> None:
        await self.db.transaction(lambda c: OUTBOX.requeue_interrupted(c, self.clock()))
        self._drain_task = asyncio.create_task(self._drain(), name=f"inbound {self.jid}")
        self.bus.publish(ConnectionStateChanged(self.jid, "connecting"))
        await self.client.connect(register=register)

    async def close(self) -> None:
        for timer in self._retry_timers:
            timer.cancel()
        await self.client.disconnect()
        for task in (self._drain_task, self._flush_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.db.close()

    async def wait_caught_up(self, timeout: float = 30.0) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._catch_up_done.wait(), timeout)

    # ---- receive pipeline -------------------------------------------------------------

    async def _drain(self) -> None:
        await self.ready.wait()
        while True:
            item = await self.client.inbound.get()
            await self._handle_until_stored(item)

    async def _handle_until_stored(self, item: Inbound) -> None:
        """Handle one item; while the disk is full or read-only, keep it and try again
        (dropping it would lose the message: the server counts it as delivered)."""
        delay = 0.5
        while True:
            try:
                await self._handle(item)
                return
            except asyncio.CancelledError:
                raise
            except DatabaseError as exc:
                if delay == 0.5:
                    log.warning("storing a received item failed, will retry: %s", exc)
                    self.bus.publish(
                        ErrorOccurred(
                            self.jid,
                            f"{exc} A message that arrived meanwhile is kept and stored as "
                            "soon as that works.",
                        )
                    )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            except Exception as exc:  # one bad stanza must not stop the pipeline
                log.exception("failed to process %s", type(item).__name__)
                self.bus.publish(ErrorOccurred(self.jid, f"A received item was dropped: {exc}"))
                return

    async def _handle(self, item: Inbound) -> None:
        if isinstance(item, InboundMessage):
            await self._on_message(item)
        elif isinstance(item, SessionStarted):
            self.bus.publish(ConnectionStateChanged(self.jid, "connected"))
            self.bus.publish(RosterChanged(self.jid, tuple(self.contacts())))
            if item.resumed:
                self._caught_up |= self._caught_up_before  # resumption lost nothing
            else:
                await self._catch_up()
            self.kick_outbox()
        elif isinstance(item, Disconnected):
            self._caught_up_before, self._caught_up = self._caught_up, set()
            self.bus.publish(ConnectionStateChanged(self.jid, "disconnected", item.reason or None))
        elif isinstance(item, PresenceUpdate):
            self._on_presence(item)
        elif isinstance(item, RosterUpdate):
            self.bus.publish(RosterChanged(self.jid, tuple(self.contacts())))
        elif isinstance(item, PepNotification):
            await self.on_pep(item)

    async def catch_up_room(self, room: str) -> None:
        """A room's history since the newest message we stored from it (XEP-0313 on the room)."""
        try:
            await self._catch_up_archive(room, room)
        except XmppError as exc:
            log.warning("room history of %s stopped: %s", room, exc)

    async def _catch_up_archive(self, archive: str, archive_jid: str | None) -> None:
        """Page through an archive from its cursor; the cursor moves after each message."""
        after = await self.db.run(partial(CURSORS.get, archive=archive))
        start = None if after is not None else await self.catch_up_start()
        if after is None and start is None:
            # No cursor and no start time: the newest stored id (a database from before
            # cursors). Not preferred: a live message stored earlier may be newer than
            # messages the archive still holds for us.
            after = await self.db.run(partial(_newest_stanza_id_in, archive, archive_jid))
        if after is None and start is None:
            self._caught_up.add(archive)
            return  # first connection: the archive's past is history, not news
        async for page in self.client.archive(after=after, start=start, archive_jid=archive_jid):
            for msg in page:
                await self._on_message(msg)
                if msg.stanza_id:
                    await self.db.transaction(
                        partial(
                            CURSORS.set, archive=archive, last_id=msg.stanza_id, now=self.clock()
                        )
                    )
        self._caught_up.add(archive)

    async def catch_up_start(self) -> float | None:
        """Where the archive catch-up starts when nothing is stored yet (None: skip it)."""
        return None

    async def on_pep(self, item: PepNotification) -> None:
        """PEP pushes (device lists); extended by the OMEMO layer."""

    def _on_presence(self, p: PresenceUpdate) -> None:
        who = bare(p.jid)
        room = self.rooms.get(who)
        if room is not None:
            if room.apply_presence(p):
                self.bus.publish(RoomMembersChanged(self.jid, who, tuple(sorted(room.members))))
            return
        if p.type == "subscribe":
            self.bus.publish(SubscriptionRequested(self.jid, who))
        elif p.type in ("available", "unavailable"):
            self._presence[who] = p
            self.bus.publish(
                PresenceChanged(self.jid, who, p.type == "available", p.show, p.status)
            )

    async def _room_config_changed(self, room: Room) -> None:
        before = room.info.name
        try:
            await refresh_room_info(self.client, room)
        except XmppError as exc:
            log.info("could not read the new configuration of %s: %s", room.jid, exc)
            return
        if room.info.name != before:
            self.bus.publish(RoomRenamed(self.jid, room.jid, room.info.name))

    async def _catch_up(self) -> None:
        """XEP-0313: page through what the archive holds after the newest id we stored."""
        try:
            await self._catch_up_archive(self.jid, None)
        except XmppError as exc:
            log.warning("archive catch-up stopped: %s", exc)
        finally:
            self._catch_up_done.set()

    async def _on_message(self, m: InboundMessage) -> None:
        if m.invite_room and m.type != "groupchat":
            # An invitation is an offer, not a chat message; an archived one is stale.
            if not m.archived and m.invite_room not in self.rooms:
                inviter = m.invite_from or bare(m.sender)
                self.bus.publish(RoomInvitationReceived(self.jid, m.invite_room, inviter))
            return
        if m.decline_from and m.type != "groupchat":
            # The room passes on an invitee's "no" (its body is a server-made text).
            if not m.archived:
                self.bus.publish(
                    RoomInvitationDeclined(
                        self.jid, bare(m.sender), m.decline_from, m.decline_reason
                    )
                )
            return
        if m.type == "groupchat":
            room = self.rooms.get(bare(m.sender))
            if room is not None and "/" not in m.sender and "104" in m.muc_status:
                await self._room_config_changed(room)  # e.g. an owner renamed it
            if room is None or "/" not in m.sender:
                return  # not a room we are in, or a message from the room itself (subject)
            outgoing = m.sender.split("/", 1)[1] == room.nick
            peer = room.jid
        else:
            outgoing = m.carbon == "sent" or (m.archived and bare(m.sender) == self.jid)
            peer = bare(m.recipient if outgoing else m.sender)
        if not peer or m.type == "error" or (m.type == "groupchat" and m.carbon):
            return
        if m.receipt_for and not outgoing:
            await self._set_state_by_origin(peer, m.receipt_for, DeliveryState.DELIVERED)
        if m.displayed_for and not outgoing:
            await self._set_state_by_origin(peer, m.displayed_for, DeliveryState.READ)
        if m.chat_state and not outgoing and not m.archived:
            self.bus.publish(ChatStateChanged(self.jid, peer, m.chat_state))
        origin_id = m.origin_id or (m.id or None)
        direction = Direction.OUT if outgoing else Direction.IN
        if await self.db.run(partial(_seen_before, peer, origin_id, m.stanza_id, direction)):
            return  # seen before (archive, carbon, resend): exactly once for the user
        # No send may read the session between decrypting and committing the new state:
        # a send persisting its older copy would roll the receiving chain back.
        async with self.ratchet_lock:
            opened = await self.decrypt(m, peer, outgoing)
            stored = await self._store_opened(m, peer, outgoing, opened, origin_id, direction)
        await self.after_decrypt(opened)
        if stored is None:
            return
        if not outgoing and m.receipt_requested and self.client.connected and m.id:
            with contextlib.suppress(XmppError):
                self.client.send(receipt(m.sender, m.id))
        self.bus.publish(MessageReceived(self.jid, to_view(self.jid, stored)))

    async def _store_opened(
        self,
        m: InboundMessage,
        peer: str,
        outgoing: bool,
        opened: Opened,
        origin_id: str | None,
        direction: Direction,
    ) -> Message | None:
        """Commit the decrypt stage's state with the message; the new message, if any."""
        if opened.body is None:
            if opened.persist is not None:
                await self.db.transaction(opened.persist)
            return None
        if m.replace_id and opened.error is None:
            await self._on_correction(peer, m, opened.body, outgoing)
            if opened.persist is not None:
                await self.db.transaction(opened.persist)
            return None
        new = NewMessage(
            conversation=peer,
            direction=direction,
            body=opened.body,
            encryption=opened.encryption,
            timestamp=m.timestamp or self.clock(),
            stored_at=self.clock(),
            state=DeliveryState.ACKED if outgoing else DeliveryState.RECEIVED,
            sender=m.sender,
            stanza_id=m.stanza_id,
            origin_id=origin_id,
            sender_device=opened.device,
            trust=opened.trust,
            error=opened.error,
        )

        archive = peer if m.type == "groupchat" else self.jid
        # live messages move the archive cursor too, once it is caught up
        move_cursor = bool(m.stanza_id) and not m.archived and archive in self._caught_up

        def store(conn: sqlite3.Connection) -> Message | None:
            # The ratchet state and the message it produced commit together.
            if opened.persist is not None:
                opened.persist(conn)
            if move_cursor and m.stanza_id:
                CURSORS.set(conn, archive, m.stanza_id, self.clock())
            try:
                return MESSAGES.add(conn, _in_arrival_order(conn, new, m.timestamp))
            except DuplicateMessage:
                return None

        return await self.db.transaction(store)

    async def decrypt(self, m: InboundMessage, peer: str, outgoing: bool) -> Opened:
        """Plaintext only here; the OMEMO layer overrides this."""
        return Opened(m.body)

    async def after_decrypt(self, opened: Opened) -> None:
        """Follow-ups once the new state is committed (OMEMO: empty replies, refills)."""

    async def _on_correction(self, peer: str, m: InboundMessage, body: str, outgoing: bool) -> None:
        direction = Direction.OUT if outgoing else Direction.IN
        assert m.replace_id is not None

        def apply(conn: sqlite3.Connection) -> Message | None:
            original = MESSAGES.find_by_origin_id(conn, peer, m.replace_id or "", direction)
            if original is None:
                return None
            try:
                MESSAGES.add(
                    conn,
                    NewMessage(
                        conversation=peer,
                        direction=direction,
                        body=body,
                        encryption=original.encryption,
                        timestamp=m.timestamp or self.clock(),
                        stored_at=self.clock(),
                        state=original.state,
                        sender=m.sender,
                        stanza_id=m.stanza_id,
                        origin_id=m.origin_id or m.id or None,
                        correction_of=original.id,
                    ),
                )
            except DuplicateMessage:
                return None
            return original

        original = await self.db.transaction(apply)
        if original is not None:
            self.bus.publish(MessageCorrected(self.jid, peer, str(original.id), body))

    async def _set_state_by_origin(self, peer: str, origin_id: str, state: DeliveryState) -> None:
        def update(conn: sqlite3.Connection) -> Message | None:
            msg = MESSAGES.find_by_origin_id(conn, peer, origin_id, Direction.OUT)
            if msg is None or msg.state == DeliveryState.READ:
                return None
            MESSAGES.set_state(conn, msg.id, state)
            return msg

        msg = await self.db.transaction(update)
        if msg is not None:
            self.bus.publish(MessageStateChanged(self.jid, peer, str(msg.id), str(state)))

    # ---- send pipeline ----------------------------------------------------------------

    async def queue_message(
        self,
        peer: str,
        text: str,
        *,
        encryption: Encryption,
        correction_of: Message | None = None,
    ) -> Message:
        """Store the message and put it into the outbox (one transaction), then kick."""
        now = self.clock()
        new = NewMessage(
            conversation=bare(peer),
            direction=Direction.OUT,
            body=text,
            encryption=encryption,
            timestamp=now,
            stored_at=now,
            state=DeliveryState.PENDING,
            sender=self.jid,
            origin_id=uuid.uuid4().hex,
            correction_of=correction_of.id if correction_of is not None else None,
        )

        def store(conn: sqlite3.Connection) -> Message:
            msg = MESSAGES.add(conn, new)
            OUTBOX.enqueue(conn, msg.id, now)
            return msg

        msg = await self.db.transaction(store)
        self.bus.publish(MessageStored(self.jid, to_view(self.jid, msg)))
        return msg

    def kick_outbox(self) -> None:
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.create_task(self.flush_outbox(), name=f"outbox {self.jid}")

    async def _wake_for_postponed(self) -> None:
        """Nothing is due now: flush again when the earliest postponed entry is (a failed
        lookup waits 10 s; nothing else would wake it up, even after a restart)."""

        def earliest(conn: sqlite3.Connection) -> float | None:
            row = conn.execute(
                "SELECT min(next_attempt_at) FROM outbox WHERE state = 'queued'"
            ).fetchone()
            return None if row[0] is None else float(row[0])

        when = await self.db.run(earliest)
        for timer in self._retry_timers:
            timer.cancel()
        self._retry_timers.clear()
        if when is None:
            return

        def fire() -> None:
            self._retry_timers.clear()
            if self._flush_task is not None and not self._flush_task.done():
                self._retry_timers.add(loop.call_later(1.0, fire))  # busy: look again soon
            else:
                self.kick_outbox()

        loop = asyncio.get_running_loop()
        self._retry_timers.add(loop.call_later(max(when - self.clock(), 0.0) + 0.05, fire))

    async def flush_outbox(self) -> None:
        """Send every due outbox entry, oldest first; stops quietly while offline."""
        async with self._send_lock:
            while self.client.connected:
                due = await self.db.run(lambda c: OUTBOX.due(c, self.clock(), 50))
                if not due:
                    await self._wake_for_postponed()
                    return
                sent: list[Message] = []
                for entry in due:
                    mid = entry.message_id
                    msg = await self.db.run(partial(MESSAGES.get, message_id=mid))
                    if msg is None:
                        await self.db.transaction(partial(OUTBOX.remove, message_id=mid))
                        continue
                    try:
                        ok = await self._send_one(msg, entry.attempts)
                    except XmppNotConnected as exc:
                        # Written earlier in this batch but never confirmed: queue them again.
                        await self.db.transaction(partial(_requeue, sent, str(exc)))
                        return
                    if ok:
                        sent.append(msg)
                if not sent:
                    continue
                try:
                    await self.client.ack_barrier()
                except XmppError as exc:
                    log.info("no ack from the server yet (%s); will resend", exc)
                    await self.db.transaction(partial(_requeue, sent, str(exc)))
                    continue  # reconnected meanwhile (its kick found us busy): send again
                sent = await self.db.transaction(partial(_acked, sent))
                for m in sent:
                    self.bus.publish(
                        MessageStateChanged(self.jid, m.conversation, str(m.id), "acked")
                    )

    async def _send_one(self, msg: Message, attempts: int) -> bool:
        """Encrypt (if asked) and write one message to the stream. False = not sent now."""
        async with self.ratchet_lock:  # see _on_message: one session update at a time
            return await self._encrypt_and_write(msg, attempts)

    async def _encrypt_and_write(self, msg: Message, attempts: int) -> bool:
        try:
            extra, body, recipients = await self.encrypt(msg)
        except SendBlocked as exc:
            blocked = exc
            failed = blocked.outbox_state == OutboxState.FAILED

            def park(conn: sqlite3.Connection) -> None:
                OUTBOX.set_state(
                    conn,
                    msg.id,
                    blocked.outbox_state,
                    error=str(blocked),
                    next_attempt_at=self.clock() + blocked.retry_after,
                )
                if failed:
                    MESSAGES.set_state(conn, msg.id, DeliveryState.FAILED, str(blocked))

            await self.db.transaction(park)
            if failed:
                self.bus.publish(
                    MessageStateChanged(
                        self.jid, msg.conversation, str(msg.id), "failed", str(blocked)
                    )
                )
            return False
        replace_id = None
        if msg.correction_of is not None:
            original = await self.db.run(lambda c: MESSAGES.get(c, msg.correction_of or 0))
            replace_id = original.origin_id if original is not None else None
        stanza = build_message(
            OutboundMessage(
                to=msg.conversation,
                type="groupchat" if msg.conversation in self.rooms else "chat",
                request_receipt=msg.conversation not in self.rooms,
                id=msg.origin_id or str(msg.id),
                body=body,
                origin_id=msg.origin_id,
                markable=True,
                chat_state="active",
                replace_id=replace_id,
                store_hint=True,
                extra=extra,
            )
        )

        def mark_sending(conn: sqlite3.Connection) -> None:
            OUTBOX.set_state(conn, msg.id, OutboxState.SENDING)
            if recipients:
                MESSAGES.add_recipients(conn, msg.id, recipients)
            self.persist_sent(conn, msg.id)

        await self.db.transaction(mark_sending)
        try:
            self.client.send(stanza)
        except XmppNotConnected:
            # The connection dropped between the check and the write: back to the queue, or
            # the entry would stay SENDING (and unsent) until the app restarts.
            await self.db.transaction(
                partial(OUTBOX.set_state, message_id=msg.id, state=OutboxState.QUEUED)
            )
            raise
        return True

    async def encrypt(
        self, msg: Message
    ) -> tuple[tuple[ET.Element, ...], str | None, tuple[Recipient, ...]]:
        """(extra elements, body, recipients). Plaintext here; the OMEMO layer overrides."""
        if msg.encryption != Encryption.NONE:
            raise SendBlocked("OMEMO is not available for this account yet.", OutboxState.FAILED, 0)
        return (), msg.body, ()

    def persist_sent(self, conn: sqlite3.Connection, message_id: int) -> None:
        """Inside the transaction that marks a message as sending (OMEMO: ratchet states)."""

    async def send_chat_state(self, peer: str, state: str) -> None:
        if self.client.connected:
            self.client.send(chat_state_message(peer, state, uuid.uuid4().hex))

    async def mark_displayed(self, peer: str, message_id: int) -> None:
        msg = await self.db.run(lambda c: MESSAGES.get(c, message_id))
        if msg is None or msg.direction != Direction.IN or not msg.origin_id:
            return
        self._unread.pop(peer, None)
        if self.client.connected and msg.sender:
            self.client.send(displayed_marker(msg.sender, msg.origin_id, uuid.uuid4().hex))

    # ---- reads ------------------------------------------------------------------------

    def contacts(self) -> list[ContactView]:
        out = []
        for item in self.client.roster_items():
            p = self._presence.get(item.jid)
            out.append(
                ContactView(
                    jid=item.jid,
                    name=item.name,
                    subscription=item.subscription,
                    available=p is not None and p.type == "available",
                    show=p.show if p else "",
                    status=p.status if p else "",
                    unread=self._unread.get(item.jid, 0),
                )
            )
        return out

    async def history(self, peer: str, limit: int, before: float | None) -> list[MessageView]:
        def read(conn: sqlite3.Connection) -> list[MessageView]:
            rows = MESSAGES.newest(
                conn, bare(peer), limit * 2, None if before is None else (before, 0)
            )
            latest: dict[int, str] = {}
            views = []
            for m in reversed(rows):  # oldest first, so later corrections win
                if m.correction_of is not None:
                    latest[m.correction_of] = m.body
            for m in reversed(rows):
                if m.correction_of is not None:
                    continue
                devices: tuple[int, ...] = ()
                if m.direction == Direction.OUT and m.encryption != Encryption.NONE:
                    devices = tuple(r.device_id for r in MESSAGES.recipients(conn, m.id))
                views.append(
                    to_view(
                        self.jid,
                        m,
                        body=latest.get(m.id),
                        edited=m.id in latest,
                        encrypted_for=devices,
                    )
                )
            return views[-limit:]

        return await self.db.run(read)


@dataclass(frozen=True)
class Opened:
    """The decrypt stage's result: what to store, plus state writes for the same transaction."""

    body: str | None
    encryption: Encryption = Encryption.NONE
    device: int | None = None
    trust: TrustState | None = None
    error: str | None = None  # set for notices (e.g. "undecryptable")
    persist: Callable[[sqlite3.Connection], None] | None = None
    followups: tuple[Callable[[], Awaitable[None]], ...] = ()


def _in_arrival_order(conn: sqlite3.Connection, new: NewMessage, stamp: float | None) -> NewMessage:
    """Archive and offline stamps (XEP-0203) have whole seconds only; such a message must not
    sort before one stored earlier within that same second (history is ordered by time)."""
    if stamp is None or stamp != int(stamp):
        return new
    row = conn.execute(
        "SELECT MAX(timestamp) FROM messages WHERE conversation = ? AND timestamp >= ?"
        " AND timestamp < ?",
        (new.conversation, stamp, stamp + 1),
    ).fetchone()
    return new if row[0] is None else replace(new, timestamp=float(row[0]))


def _seen_before(
    peer: str,
    origin_id: str | None,
    stanza_id: str | None,
    direction: Direction,
    conn: sqlite3.Connection,
) -> bool:
    if origin_id:
        existing = MESSAGES.find_by_origin_id(conn, peer, origin_id, direction)
        if existing is not None:
            if stanza_id and existing.stanza_id is None:
                MESSAGES.set_stanza_id(conn, existing.id, stanza_id)
            return True
    return bool(stanza_id and MESSAGES.find_by_stanza_id(conn, peer, stanza_id))


class SendBlocked(Exception):
    """The send pipeline cannot continue now (trust needed, no devices, ...)."""

    def __init__(self, message: str, outbox_state: OutboxState, retry_after: float) -> None:
        super().__init__(message)
        self.outbox_state = outbox_state
        self.retry_after = retry_after


def _requeue(sent: list[Message], error: str, conn: sqlite3.Connection) -> None:
    for m in sent:
        OUTBOX.set_state(conn, m.id, OutboxState.QUEUED, error=error)


def _acked(sent: list[Message], conn: sqlite3.Connection) -> list[Message]:
    """Leave the outbox; returns the messages whose state moved to ACKED (a receipt that
    overtook the server's confirmation must not be downgraded from DELIVERED or READ)."""
    moved = []
    for m in sent:
        OUTBOX.remove(conn, m.id)
        current = MESSAGES.get(conn, m.id)
        if current is not None and current.state in (DeliveryState.PENDING, DeliveryState.SENT):
            MESSAGES.set_state(conn, m.id, DeliveryState.ACKED)
            moved.append(m)
    return moved


def _newest_stanza_id_in(archive: str, room: str | None, conn: sqlite3.Connection) -> str | None:
    """Before any cursor exists: the newest stanza-id stored from that archive."""
    if room is not None:
        sql, args = "conversation = ?", (room,)
    else:
        sql, args = (
            "conversation NOT IN (SELECT archive FROM archive_cursors WHERE archive != ?)",
            (archive,),
        )
    row = conn.execute(
        f"SELECT stanza_id FROM messages WHERE stanza_id IS NOT NULL AND {sql}"
        " ORDER BY id DESC LIMIT 1",
        args,
    ).fetchone()
    return None if row is None else str(row[0])


__all__ = ["Account", "SendBlocked", "bare", "to_view"]
