"""The service object: every account of one data directory, behind `MessengerApi`.

Front ends (GUI, CLI) only call these async methods and listen to `events`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from omemo_desktop import paths
from omemo_desktop.omemo.errors import OmemoError
from omemo_desktop.omemo.fingerprint import fingerprint_of_curve
from omemo_desktop.storage import (
    AnotherInstanceRunning,
    Database,
    DatabaseError,
    InstanceLock,
    MessageRepository,
    SecretsError,
    StorageError,
)
from omemo_desktop.storage.errors import KeyringUnavailable as StorageKeyringUnavailable
from omemo_desktop.storage.model import (
    DeliveryState,
    Direction,
    Encryption,
    Message,
    OutboxState,
    TrustMethod,
    TrustState,
)
from omemo_desktop.storage.outbox import OutboxRepository
from omemo_desktop.storage.secrets import SecretStore
from omemo_desktop.xmpp.client import XmppClient
from omemo_desktop.xmpp.errors import (
    XmppAuthError,
    XmppCertificateError,
    XmppError,
    XmppRegistrationError,
    XmppStanzaError,
)
from omemo_desktop.xmpp.muc import MucError
from omemo_desktop.xmpp.muc import decline as muc_decline
from omemo_desktop.xmpp.muc import invite as muc_invite
from omemo_desktop.xmpp.muc import leave as muc_leave
from omemo_desktop.xmpp.muc import set_affiliation as muc_set_affiliation

from .account import Account, bare, to_view
from .accounts import AccountConfig, AccountRegistry
from .errors import (
    AccountError,
    AuthenticationError,
    CertificateError,
    ConnectionFailed,
    KeyringUnavailable,
    ServiceError,
    TrustRequired,
    VerificationMismatch,
)
from .events import ConnectionStateChanged, EventBus, TransferProgress
from .files import FileTransfers, wait_until_sent
from .omemo_account import OmemoAccount
from .omemo_backends import BACKENDS
from .rooms import Room, forget_bookmark
from .rooms import rename as rename_room
from .verification import parse_verification_uri, verification_uri
from .views import ContactView, DeviceView, MessageView, RoomView

log = logging.getLogger(__name__)
MESSAGES = MessageRepository()
OUTBOX = OutboxRepository()


def explain_connect_error(jid: str, server: str | None, exc: XmppError) -> ServiceError:
    """Turn a low-level failure into a sentence a person can act on."""
    where = server or jid.split("@")[-1]
    if isinstance(exc, XmppAuthError):
        return AuthenticationError(
            f"The server rejected the password for {jid}. Check the address and password."
        )
    if isinstance(exc, XmppCertificateError):
        return CertificateError(
            f"The certificate of {where} could not be verified, so the connection was not "
            "made. If this is your own server, install a valid certificate (or pass its CA "
            "with --ca-file)."
        )
    if isinstance(exc, XmppRegistrationError):
        return AccountError(f"Could not create {jid}: {exc}.")
    return ConnectionFailed(
        f"Could not connect to {where}: {exc}. Check the server address and your network."
    )


class Messenger:
    def __init__(
        self,
        *,
        data_dir: Path,
        ca_file: Path | None = None,
        bus: EventBus | None = None,
        secrets: SecretStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.data_dir = data_dir
        self.ca_file = ca_file
        try:
            data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise ServiceError(
                f"Cannot create the data folder {data_dir}: {exc.strerror}. Choose a folder you "
                "can write to (--data-dir)."
            ) from exc
        self._bus = bus or EventBus()
        self._registry = AccountRegistry(data_dir)
        self._secrets = secrets
        self._accounts: dict[str, Account] = {}
        self._clock = clock
        self._starting: list[asyncio.Future[None]] = []
        self._files: FileTransfers | None = None
        self._lock = InstanceLock(data_dir)
        try:
            self._lock.acquire()
        except (AnotherInstanceRunning, StorageError) as exc:  # e.g. a read-only folder
            raise ServiceError(str(exc)) from exc

    @property
    def events(self) -> EventBus:
        return self._bus

    def accounts(self) -> list[str]:
        return [a.jid for a in self._registry.load() if a.enabled]

    async def _secret_store(self) -> SecretStore:
        if self._secrets is None:
            try:
                self._secrets = await SecretStore.open()
            except StorageKeyringUnavailable as exc:
                raise KeyringUnavailable(str(exc)) from exc
            except SecretsError as exc:
                raise KeyringUnavailable(str(exc)) from exc
        return self._secrets

    async def start(self) -> None:
        self._starting = [asyncio.ensure_future(self._connect_quietly(j)) for j in self.accounts()]

    async def _connect_quietly(self, jid: str) -> None:
        try:
            await self.connect(jid)
        except ServiceError as exc:
            self._bus.publish(ConnectionStateChanged(jid, "failed", str(exc)))

    async def add_account(
        self, jid: str, password: str, *, server: str | None = None, register: bool = False
    ) -> None:
        jid = bare(jid)
        if "@" not in jid:
            raise AccountError(f"{jid!r} is not an XMPP address; it looks like name@server.")
        secrets = await self._secret_store()
        config = AccountConfig(jid=jid, server=server)
        account = await self._open(config, password, register=register)
        try:
            await secrets.store_password(jid, password)
        except SecretsError as exc:
            await account.close()
            raise KeyringUnavailable(str(exc)) from exc
        self._registry.upsert(config)
        self._accounts[jid] = account
        await self.on_account_ready(account, password, new=True)
        account.ready.set()
        assert isinstance(account, OmemoAccount)
        await account.autojoin()

    async def on_account_ready(self, account: Account, password: str, *, new: bool) -> None:
        """Set up OMEMO: identity from the keyring (created on first use), device, bundles."""
        assert isinstance(account, OmemoAccount)
        secrets = await self._secret_store()
        try:
            device = await account.stored_device_id()
            seed = None
            if device is not None:
                seed = await secrets.load_identity_seed(account.jid, device)
                if seed is None:
                    log.warning("no identity key in the keyring for %s: new device", account.jid)
            created = await account.setup_omemo(seed)
            if seed is None:
                await secrets.store_identity_seed(account.jid, created, account.device_id)
        except SecretsError as exc:
            raise KeyringUnavailable(str(exc)) from exc

    async def _open(self, config: AccountConfig, password: str, *, register: bool) -> Account:
        folder = paths.account_dir(self.data_dir, config.jid)
        try:
            db = await Database.open(folder / "messages.sqlite3")
        except DatabaseError as exc:
            raise AccountError(str(exc)) from exc
        client = XmppClient(
            config.jid,
            password,
            server=config.server,
            ca_file=self.ca_file,
            pep_nodes=tuple(b.devices_node for b in BACKENDS.values()),
        )
        account = self.make_account(config, client, db)
        try:
            await account.start(register=register)
        except XmppError as exc:
            with contextlib.suppress(Exception):
                await account.close()
            error = explain_connect_error(config.jid, config.server, exc)
            self._bus.publish(ConnectionStateChanged(config.jid, "failed", str(error)))
            raise error from exc
        return account

    def make_account(self, config: AccountConfig, client: XmppClient, db: Database) -> Account:
        return OmemoAccount(config, client, db, self._bus, clock=self._clock)

    def _omemo(self, jid: str) -> OmemoAccount:
        acc = self._account(jid)
        assert isinstance(acc, OmemoAccount)
        return acc

    async def connect(self, account: str) -> None:
        if account in self._accounts:
            return
        config = self._registry.get(account)
        secrets = await self._secret_store()
        try:
            password = await secrets.load_password(account)
        except SecretsError as exc:
            raise KeyringUnavailable(str(exc)) from exc
        if password is None:
            raise AccountError(
                f"The password of {account} is not in the keyring any more. Add the account "
                "again to store it."
            )
        acc = await self._open(config, password, register=False)
        self._accounts[account] = acc
        try:
            await self.on_account_ready(acc, password, new=False)
        except BaseException:
            self._accounts.pop(account, None)
            await acc.close()
            raise
        acc.ready.set()
        assert isinstance(acc, OmemoAccount)
        await acc.autojoin()

    def _account(self, jid: str) -> Account:
        try:
            return self._accounts[jid]
        except KeyError:
            raise AccountError(f"The account {jid} is not connected.") from None

    async def disconnect(self, account: str) -> None:
        acc = self._accounts.pop(account, None)
        if acc is not None:
            await acc.close()

    def connection_state(self, account: str) -> str:
        acc = self._accounts.get(account)
        if acc is None:
            return "disconnected"
        return "connected" if acc.client.connected else "connecting"

    async def set_trust_policy(self, account: str, policy: str) -> None:
        if policy not in ("manual", "blind", "tofu"):
            raise ServiceError(f"Unknown trust policy {policy!r}.")
        config = replace(self._registry.get(account), trust_policy=policy)
        self._registry.upsert(config)
        acc = self._accounts.get(account)
        if acc is not None:
            acc.config = config

    async def remove_device(self, account: str, device_id: int) -> None:
        acc = self._omemo(account)
        if device_id == acc.device_id:
            raise ServiceError("This is the device you are using; it cannot be removed here.")
        try:
            await acc.remove_own_device(device_id)
        except XmppError as exc:
            raise ServiceError(f"Could not remove the device: {exc}") from exc

    async def catch_up(self, account: str) -> None:
        await self._account(account).wait_caught_up()

    async def send_message(
        self, account: str, peer: str, text: str, *, encrypt: bool = True
    ) -> MessageView:
        acc = self._account(account)
        try:
            msg = await acc.queue_message(
                peer, text, encryption=Encryption.OMEMO2 if encrypt else Encryption.NONE
            )
        except DatabaseError as exc:  # a full disk or read-only folder: nothing was stored
            raise ServiceError(f"The message was not sent. {exc}") from exc
        acc.kick_outbox()
        return to_view(account, msg)

    async def send_message_cli(
        self, account: str, peer: str, text: str, *, encrypt: bool, trust_new: str | None
    ) -> None:
        """Send and wait until the server accepted it (or the send cannot proceed)."""
        acc = self._omemo(account)
        try:
            msg = await acc.queue_message(
                peer, text, encryption=Encryption.OMEMO2 if encrypt else Encryption.NONE
            )
        except DatabaseError as exc:
            raise ServiceError(f"The message was not sent. {exc}") from exc
        if trust_new == "blind":
            acc.blind_once.add(msg.id)
        await acc.flush_outbox()
        stored = await acc.db.run(lambda c: MESSAGES.get(c, msg.id))
        entry = await acc.db.run(lambda c: OUTBOX.get(c, msg.id))
        if entry is not None and entry.state == OutboxState.AWAITING_TRUST:
            raise TrustRequired(
                f"{entry.last_error} The message waits in the outbox and goes out once you "
                f"decide (omemo-desktop-cli trust {bare(peer)} FINGERPRINT --as trusted), or "
                "send again with --trust-new blind."
            )
        if stored is None or str(stored.state) not in ("acked", "delivered", "read"):
            reason = (stored.error if stored is not None and stored.error else None) or (
                entry.last_error if entry is not None else None
            )
            raise ConnectionFailed(
                f"The message was not accepted by the server: {reason or 'not connected'}"
            )

    async def correct_last_message(self, account: str, peer: str, text: str) -> None:
        acc = self._account(account)

        def last(conn: sqlite3.Connection) -> Message | None:
            for m in MESSAGES.newest(conn, bare(peer), 20):
                if m.direction == Direction.OUT and m.correction_of is None:
                    return m
            return None

        original = await acc.db.run(last)
        if original is None:
            raise ServiceError("There is no message of yours to correct in this chat.")
        await acc.queue_message(peer, text, encryption=original.encryption, correction_of=original)
        acc.kick_outbox()

    async def retry_message(self, account: str, message_id: str) -> None:
        acc = self._account(account)

        def requeue(conn: sqlite3.Connection) -> None:
            mid = int(message_id)
            OUTBOX.set_state(conn, mid, OutboxState.QUEUED, next_attempt_at=self._clock())
            MESSAGES.set_state(conn, mid, DeliveryState.PENDING)

        await acc.db.transaction(requeue)
        acc.kick_outbox()

    async def history(
        self, account: str, peer: str, *, limit: int = 50, before: float | None = None
    ) -> list[MessageView]:
        return await self._account(account).history(peer, limit, before)

    async def search(self, account: str, query: str, *, limit: int = 50) -> list[MessageView]:
        acc = self._account(account)
        rows = await acc.db.run(lambda c: MESSAGES.search(c, query, limit))
        return [to_view(account, m) for m in rows]

    def contacts(self, account: str) -> list[ContactView]:
        acc = self._accounts.get(account)
        return acc.contacts() if acc is not None else []

    async def add_contact(self, account: str, jid: str, name: str = "") -> None:
        acc = self._account(account)
        jid = bare(jid)
        try:
            await acc.client.roster_set(jid, name)
        except XmppError as exc:
            raise ServiceError(f"Could not add {jid} to your contacts: {exc}") from exc
        acc.client.presence(jid, "subscribe")
        acc.client.presence(jid, "subscribed")  # pre-approve / approve their request

    async def remove_contact(self, account: str, jid: str) -> None:
        try:
            await self._account(account).client.roster_remove(bare(jid))
        except XmppError as exc:
            raise ServiceError(f"Could not remove {jid}: {exc}") from exc

    async def rename_contact(self, account: str, jid: str, name: str) -> None:
        try:
            await self._account(account).client.roster_set(bare(jid), name)
        except XmppError as exc:
            raise ServiceError(f"Could not rename {jid}: {exc}") from exc

    async def answer_subscription(self, account: str, jid: str, approve: bool) -> None:
        acc = self._account(account)
        acc.client.presence(bare(jid), "subscribed" if approve else "unsubscribed")
        if approve:
            acc.client.presence(bare(jid), "subscribe")

    async def send_chat_state(self, account: str, peer: str, state: str) -> None:
        await self._account(account).send_chat_state(bare(peer), state)

    async def mark_displayed(self, account: str, peer: str, message_id: str) -> None:
        await self._account(account).mark_displayed(bare(peer), int(message_id))

    async def devices(self, account: str, jid: str) -> list[DeviceView]:
        try:
            return await self._omemo(account).device_views(jid)
        except XmppError as exc:
            raise ServiceError(f"Could not fetch the devices of {jid}: {exc}") from exc

    async def set_trust(self, account: str, jid: str, device_id: int, trust: str) -> None:
        state = TrustState(trust)
        acc = self._omemo(account)
        try:
            await acc.set_trust(jid, device_id, state, TrustMethod.MANUAL)
            await acc.flush_outbox()  # a send that waited for this decision goes out now
        except (OmemoError, XmppError) as exc:
            raise ServiceError(f"Could not change the trust of {jid}: {exc}") from exc

    async def own_fingerprint(self, account: str) -> tuple[str, str]:
        acc = self._omemo(account)
        fp = fingerprint_of_curve(acc.identity.x25519_public)
        return fp, verification_uri(acc.jid, [(acc.device_id, fp)])

    async def apply_verification_uri(self, account: str, uri: str) -> list[DeviceView]:
        """Mark the devices named in the URI verified; a fingerprint mismatch is an error."""
        if uri.partition("?")[2].lower().startswith("trust-message"):
            return await self._apply_trust_message(account, uri)
        jid, pairs = parse_verification_uri(uri)
        acc = self._omemo(account)
        views = {v.device_id: v for v in await acc.device_views(jid)}
        done: list[DeviceView] = []
        for device_id, fp in pairs:
            view = views.get(device_id)
            if view is None:
                raise ServiceError(f"{jid} has no device {device_id} (yet); nothing was marked.")
            if view.fingerprint != fp:
                raise VerificationMismatch(
                    f"WARNING: the fingerprint of {jid}'s device {device_id} does NOT match "
                    "the code you scanned. Someone may be intercepting your messages. Nothing "
                    "was marked verified; do not trust this device."
                )
        for device_id, _ in pairs:
            done += await acc.set_trust(jid, device_id, TrustState.VERIFIED, TrustMethod.URI)
        return done

    async def reset_sessions(self, account: str, jid: str) -> list[int]:
        try:
            return await self._omemo(account).reset_contact_sessions(bare(jid))
        except (OmemoError, XmppError) as exc:
            raise ServiceError(f"Could not reset the sessions with {jid}: {exc}") from exc

    async def confirm_plaintext(self, account: str, peer: str) -> None:
        await self._omemo(account).confirm_plaintext(bare(peer))

    async def _apply_trust_message(self, account: str, uri: str) -> list[DeviceView]:
        """XEP-0434 (Kaidan): identity keys to trust (as verified) and to distrust."""
        from .uri import parse_xmpp_uri

        link = parse_xmpp_uri(uri)
        acc = self._omemo(account)
        views = await acc.device_views(link.jid)
        known = {v.fingerprint for v in views}
        missing = [fp for fp in (*link.trust, *link.distrust) if fp not in known]
        if missing:
            raise ServiceError(
                f"{link.jid} has no device with the key {missing[0][:8]}… (yet); "
                "nothing was marked."
            )
        done: list[DeviceView] = []
        for view in views:
            if view.fingerprint in link.trust:
                state = TrustState.VERIFIED
            elif view.fingerprint in link.distrust:
                state = TrustState.DISTRUSTED
            else:
                continue
            done += await acc.set_trust(link.jid, view.device_id, state, TrustMethod.URI)
        return done

    async def reset_session(self, account: str, jid: str, device_id: int) -> None:
        try:
            await self._omemo(account).reset_session(bare(jid), device_id)
        except (OmemoError, XmppError) as exc:
            raise ServiceError(f"Could not reset the session: {exc}") from exc

    # ---- rooms ----------------------------------------------------------------------------

    def _room_view(self, room: Room) -> RoomView:
        return RoomView(
            room.jid,
            room.info.name,
            room.nick,
            tuple(sorted(room.members)),
            room.info.omemo_capable,
        )

    async def join_room(self, account: str, room: str, nick: str | None = None) -> RoomView:
        acc = self._omemo(account)
        try:
            joined = await acc.join_room(room, nick or account.split("@")[0])
        except MucError as exc:
            raise ServiceError(f"Could not join {room}: {exc}.") from exc
        except XmppError as exc:
            raise ServiceError(f"Could not join {room}: {exc}") from exc
        return self._room_view(joined)

    async def leave_room(self, account: str, room: str) -> None:
        acc = self._omemo(account)
        r = acc.rooms.get(bare(room))
        if r is None:
            return
        if not acc.client.connected:  # the bookmark would bring it back at the next start
            raise ServiceError(f"You are offline; leave {room} once you are connected again.")
        acc.rooms.pop(r.jid, None)
        muc_leave(acc.client, r.jid, r.nick)
        try:
            await forget_bookmark(acc.client, r)
        except XmppError as exc:
            raise ServiceError(
                f"You left {room}, but its bookmark could not be updated ({exc}): your "
                "devices may join it again when they start."
            ) from exc

    async def decline_invitation(
        self, account: str, room: str, inviter: str, reason: str = ""
    ) -> None:
        try:
            muc_decline(self._account(account).client, bare(room), bare(inviter), reason)
        except XmppError as exc:
            raise ServiceError(f"Could not decline the invitation to {room}: {exc}") from exc

    @staticmethod
    def _joined(acc: OmemoAccount, room: str) -> Room:
        r = acc.rooms.get(bare(room))
        if r is None:
            raise ServiceError(f"Join {room} first.")
        return r

    async def rename_room(self, account: str, room: str, name: str) -> RoomView:
        acc = self._omemo(account)
        r = self._joined(acc, room)
        try:
            await rename_room(acc.client, r, name.strip())
        except XmppStanzaError as exc:
            if exc.condition in ("forbidden", "not-allowed"):
                raise ServiceError(
                    f"Only an owner of {room} can rename it; ask one of its owners."
                ) from exc
            raise ServiceError(f"Could not rename {room}: {exc}") from exc
        except XmppError as exc:
            raise ServiceError(f"Could not rename {room}: {exc}") from exc
        return self._room_view(r)

    async def invite_to_room(self, account: str, room: str, jid: str) -> RoomView:
        acc = self._omemo(account)
        r = self._joined(acc, room)
        try:
            await muc_set_affiliation(acc.client, r.jid, bare(jid), "member")
            muc_invite(acc.client, r.jid, bare(jid))
        except XmppError as exc:
            raise ServiceError(f"Could not invite {jid}: {exc}") from exc
        r.members[bare(jid)] = "member"
        return self._room_view(r)

    async def remove_from_room(self, account: str, room: str, jid: str) -> RoomView:
        acc = self._omemo(account)
        r = self._joined(acc, room)
        try:
            await muc_set_affiliation(acc.client, r.jid, bare(jid), "none")
        except XmppError as exc:
            raise ServiceError(f"Could not remove {jid}: {exc}") from exc
        r.members.pop(bare(jid), None)
        return self._room_view(r)

    def rooms(self, account: str) -> list[RoomView]:
        acc = self._accounts.get(account)
        return [self._room_view(r) for r in acc.rooms.values()] if acc is not None else []

    # ---- files (service/files.py) ---------------------------------------------------------

    def _transfers(self) -> FileTransfers:
        if self._files is None:
            self._files = FileTransfers(self._bus, self.ca_file)
        return self._files

    async def send_file(
        self,
        account: str,
        peer: str,
        path: Path,
        *,
        progress: Callable[[TransferProgress], None] | None = None,
        cancel: asyncio.Event | None = None,
    ) -> MessageView:
        acc = self._account(account)
        msg = await self._transfers().send_file(
            acc, peer, Path(path), progress=progress, cancel=cancel
        )
        return to_view(account, msg)

    async def send_file_cli(
        self, account: str, peer: str, path: Path, *, trust_new: str | None
    ) -> MessageView:
        """Upload, send, and wait until the server accepted the message."""
        acc = self._omemo(account)
        msg = await self._transfers().send_file(acc, peer, Path(path), kick=False)
        if trust_new == "blind":
            acc.blind_once.add(msg.id)
        state = await wait_until_sent(acc, msg.id)
        entry = await acc.db.run(lambda c: OUTBOX.get(c, msg.id))
        if entry is not None and entry.state == OutboxState.AWAITING_TRUST:
            raise TrustRequired(
                f"{entry.last_error} The file was uploaded; its message waits in the outbox."
            )
        if state not in ("acked", "delivered", "read"):
            reason = entry.last_error if entry is not None else None
            raise ConnectionFailed(
                "The file was uploaded but its message was not accepted by the server: "
                f"{reason or 'not connected'}"
            )
        return to_view(account, msg)

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
        return await self._transfers().download(
            self._account(account),
            source,
            Path(dest),
            progress=progress,
            cancel=cancel,
            overwrite=overwrite,
        )

    async def close(self) -> None:
        for jid in list(self._accounts):
            await self.disconnect(jid)
        if self._secrets is not None:
            self._secrets.close()
        self._lock.release()
