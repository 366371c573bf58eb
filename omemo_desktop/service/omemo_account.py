"""OMEMO over XMPP for one account: devices and bundles on PEP, trust (XEP-0384 §8),
encrypting sends and decrypting receipts in both namespaces.

Nothing is ever encrypted to a device without a trust decision: undecided devices park the
message in the outbox (AWAITING_TRUST) and raise `TrustDecisionNeeded`; distrusted devices
are skipped. Empty messages (session completion, heartbeats, resets) carry no content and are
exempt, as the XEP allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

from omemo_desktop.omemo.errors import DuplicateMessage as OmemoDuplicate
from omemo_desktop.omemo.errors import OmemoError
from omemo_desktop.omemo.fingerprint import fingerprint_of_curve
from omemo_desktop.omemo.keys import IdentityKeyPair
from omemo_desktop.omemo.twomemo import labels
from omemo_desktop.omemo.twomemo.x3dh import generate_device_id
from omemo_desktop.storage.devices import DeviceRepository
from omemo_desktop.storage.model import (
    Bundle,
    DeliveryState,
    DeviceStatus,
    Encryption,
    Message,
    Namespace,
    OutboxState,
    OwnDevice,
    OwnPreKeys,
    Recipient,
    Session,
    TrustDecision,
    TrustMethod,
    TrustState,
)
from omemo_desktop.storage.own_keys import OwnDeviceRepository
from omemo_desktop.storage.sessions import SessionRepository
from omemo_desktop.storage.trust import TrustRepository
from omemo_desktop.xmpp import muc, pep
from omemo_desktop.xmpp import omemo_xml as ox
from omemo_desktop.xmpp.client import PepNotification
from omemo_desktop.xmpp.errors import XmppError, XmppStanzaError
from omemo_desktop.xmpp.stanzas import NS_EME, InboundMessage, OutboundMessage, build_message

from .account import OPT_OUT, OUTBOX, UNDECRYPTABLE, Account, Opened, SendBlocked, bare
from .events import DecryptionFailed, OptOutReceived, TrustChanged, TrustDecisionNeeded
from .omemo_backends import BACKENDS, Backend, KeyIn, OptOut
from .rooms import MEMBER_AFFILIATIONS, Room
from .views import DeviceView

log = logging.getLogger(__name__)

DEVICES = DeviceRepository()
SESSIONS = SessionRepository()
TRUST = TrustRepository()
OWN = OwnDeviceRepository()
FALLBACK_BODY: Final = (
    "This message is encrypted with OMEMO, which your client does not seem to support. "
    "Use a client with OMEMO to read it."
)
PUBLISH_DEVICES: Final = {"pubsub#access_model": "open"}
PUBLISH_BUNDLE: Final = {"pubsub#access_model": "open", "pubsub#max_items": "max"}
NS_SHORT: Final = {Namespace.OMEMO2: "omemo2", Namespace.LEGACY: "legacy"}
TRUST_WAIT: Final = 365 * 24 * 3600.0  # parked until a decision requeues it
MAX_ARCHIVED: Final = 5  # previous sessions kept per device, for decryption only


@dataclass(frozen=True)
class Target:
    """One device a message will be encrypted for."""

    jid: str
    device_id: int
    identity: bytes  # Curve25519 form
    session: Any | None
    bundle: Any | None


class OmemoAccount(Account):
    """An account with OMEMO: both namespaces side by side, one identity and device id."""

    identity: IdentityKeyPair
    device_id: int

    def __init__(
        self, *args: Any, random_bytes: Callable[[int], bytes] = os.urandom, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.rnd = random_bytes
        self._prekeys: dict[Namespace, Any] = {}
        self._fetched: set[tuple[Namespace, str]] = set()
        self._pending_sessions: dict[int, list[tuple[Namespace, str, int, bytes]]] = {}
        self.blind_once: set[int] = set()
        # Peers who sent an opt-out: reason, and whether the user confirmed plaintext. The
        # opt-out itself is read back from the stored notice after a restart; a confirmation
        # is not kept, so the user confirms again (the cautious side).
        self.opt_outs: dict[str, tuple[str, bool]] = {}
        self._opt_out_loaded: set[str] = set()
        self.omemo_disabled = False
        self._went_plain: set[int] = set()
        # labelsig of each listed omemo:2 device, checked against its key before display
        self._labelsigs: dict[tuple[str, int], str | None] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.label = f"omemo-desktop on {socket.gethostname()}"[:50]

    # ---- set-up -----------------------------------------------------------------------

    async def catch_up_start(self) -> float | None:
        # Messages since this device was set up, even if another device took them from
        # the server's offline store.
        own = await self.db.run(OWN.get)
        return None if own is None else own.created_at

    async def stored_device_id(self) -> int | None:
        own = await self.db.run(OWN.get)
        return None if own is None else own.device_id

    async def setup_omemo(self, seed: bytes | None) -> bytes:
        """Load or create the identity, device and pre-keys; publish both namespaces.

        Returns the identity seed (the caller keeps it in the keyring)."""
        own = await self.db.run(OWN.get)
        if seed is None:
            self.identity = IdentityKeyPair.generate(self.rnd)
            own = None  # a new identity needs a new device id and new pre-keys
        else:
            self.identity = IdentityKeyPair.from_seed(seed)
        now = self.clock()
        if own is None:
            taken = await self._listed_own_ids()
            own = OwnDevice(generate_device_id(self.rnd, taken), self.label, now)
            prekeys = {
                ns: b.new_prekeys(self.identity, self.rnd, int(now)) for ns, b in BACKENDS.items()
            }

            def save(conn: sqlite3.Connection) -> None:
                OWN.save(conn, own)
                for ns, pk in prekeys.items():
                    OWN.save_prekeys(conn, OwnPreKeys(ns, BACKENDS[ns].dump_prekeys(pk), now))

            await self.db.transaction(save)
        self.device_id = own.device_id
        for ns, backend in BACKENDS.items():
            stored = await self.db.run(partial(OWN.prekeys, namespace=ns))
            if stored is None:
                pk = backend.new_prekeys(self.identity, self.rnd, int(now))
                await self.db.transaction(
                    partial(_save_prekeys, OwnPreKeys(ns, backend.dump_prekeys(pk), now))
                )
            else:
                pk = backend.load_prekeys(stored.state)
            self._prekeys[ns] = pk
        await self._rotate_if_due(int(now))
        await self.publish_all()
        return self.identity.seed

    async def _rotate_if_due(self, now: int) -> None:
        """Weekly signed pre-key rotation; the old key stays usable for one more period.

        The omemo:2 key's age decides for both namespaces (legacy keys carry no date)."""
        if not self._prekeys[Namespace.OMEMO2].rotation_due(now):
            return
        rotated = {
            Namespace.OMEMO2: self._prekeys[Namespace.OMEMO2].rotate_signed_prekey(
                self.identity, self.rnd, now
            ),
            Namespace.LEGACY: self._prekeys[Namespace.LEGACY].rotate_signed_pre_key(
                self.identity, self.rnd
            ),
        }

        def save(conn: sqlite3.Connection) -> None:
            for ns, pk in rotated.items():
                OWN.save_prekeys(conn, OwnPreKeys(ns, BACKENDS[ns].dump_prekeys(pk), now))

        await self.db.transaction(save)
        self._prekeys.update(rotated)

    async def _listed_own_ids(self) -> set[int]:
        ids: set[int] = set()
        for backend in BACKENDS.values():
            try:
                ids |= {d.id for d in await self._fetch_device_list(backend, self.jid)}
            except XmppError:
                continue
        return ids

    async def publish_all(self) -> None:
        for ns in BACKENDS:
            try:
                await self._announce(ns)
                await self._publish_bundle(ns)
            except XmppError as exc:
                log.warning("could not publish %s keys: %s", NS_SHORT[ns], exc)

    async def _announce(self, ns: Namespace, listed: list[ox.DeviceEntry] | None = None) -> None:
        backend = BACKENDS[ns]
        if listed is None:
            listed = await self._fetch_device_list(backend, self.jid)
        if any(d.id == self.device_id for d in listed):
            return
        label = self.label if ns == Namespace.OMEMO2 else None
        me = ox.DeviceEntry(
            self.device_id, label, labels.sign_label(self.identity, label) if label else None
        )
        element = ox.build_device_list(ns, [*listed, me])
        await pep.publish(self.client, backend.devices_node, "current", element, PUBLISH_DEVICES)

    async def _publish_bundle(self, ns: Namespace) -> None:
        backend = BACKENDS[ns]
        element = ox.build_bundle(backend.own_bundle(self.identity, self._prekeys[ns]))
        await pep.publish(
            self.client,
            backend.bundle_node(self.device_id),
            backend.bundle_item(self.device_id),
            element,
            PUBLISH_BUNDLE if ns == Namespace.OMEMO2 else PUBLISH_DEVICES,
        )

    async def disable_omemo(self) -> None:
        """Remove our device from both lists and delete our bundles."""
        self.omemo_disabled = True  # or the push of our own new list re-announces us
        for ns, backend in BACKENDS.items():
            listed = await self._fetch_device_list(backend, self.jid)
            rest = [d for d in listed if d.id != self.device_id]
            await pep.publish(
                self.client,
                backend.devices_node,
                "current",
                ox.build_device_list(ns, rest),
                PUBLISH_DEVICES,
            )
            if ns == Namespace.OMEMO2:
                await pep.retract(
                    self.client, backend.bundle_node(self.device_id), str(self.device_id)
                )
            else:
                await pep.delete_node(self.client, backend.bundle_node(self.device_id))

    async def remove_own_device(self, device_id: int) -> None:
        """Drop one of our other (dead) devices from both published lists."""
        for ns, backend in BACKENDS.items():
            listed = await self._fetch_device_list(backend, self.jid)
            rest = [d for d in listed if d.id != device_id]
            if len(rest) != len(listed):
                element = ox.build_device_list(ns, rest)
                await pep.publish(
                    self.client, backend.devices_node, "current", element, PUBLISH_DEVICES
                )
            await self._apply_device_list(ns, self.jid, rest)

    # ---- device lists -----------------------------------------------------------------

    async def _fetch_device_list(self, backend: Backend, jid: str) -> list[ox.DeviceEntry]:
        items = await pep.fetch(self.client, jid, backend.devices_node)
        if not items:
            return []
        try:
            return ox.parse_device_list(backend.namespace, items[-1])
        except ox.OmemoXmlError as exc:
            log.warning("ignored a malformed device list of %s: %s", jid, exc)
            return []

    async def refresh_devices(self, jid: str) -> None:
        for ns, backend in BACKENDS.items():
            try:
                listed = await self._fetch_device_list(backend, jid)
            except XmppStanzaError as exc:
                log.info("no %s device list for %s (%s)", NS_SHORT[ns], jid, exc.condition)
                listed = []
            await self._apply_device_list(ns, jid, listed)
            self._fetched.add((ns, jid))

    async def _apply_device_list(
        self, ns: Namespace, jid: str, listed: list[ox.DeviceEntry]
    ) -> None:
        entries = {d.id: d.label for d in listed}
        if ns == Namespace.OMEMO2:
            self._labelsigs.update({(jid, d.id): d.labelsig for d in listed})
        if jid == self.jid:
            entries.pop(self.device_id, None)
        await self.db.transaction(
            lambda c: DEVICES.apply_device_list(c, ns, jid, entries, self.clock())
        )
        dropped = not any(d.id == self.device_id for d in listed)
        if jid == self.jid and ns in self._prekeys and dropped and not self.omemo_disabled:
            # Someone dropped us: announce again, on the list as it is NOW (a push can be
            # stale by the time it is handled; writing it back would undo later changes,
            # e.g. re-add a device that was removed meanwhile).
            await self._announce(ns)

    async def on_pep(self, item: PepNotification) -> None:
        for ns, backend in BACKENDS.items():
            if item.node != backend.devices_node:
                continue
            jid = bare(item.jid)
            listed: list[ox.DeviceEntry] = []
            for it in item.items[-1:]:
                for child in it:
                    try:
                        listed = ox.parse_device_list(ns, child)
                    except ox.OmemoXmlError as exc:
                        log.warning("ignored a malformed device list push: %s", exc)
                        return
            # A push is only trusted for the JID it comes from (own PEP service).
            await self._apply_device_list(ns, jid, listed)
            self._fetched.add((ns, jid))

    async def _ensure_devices(self, jid: str) -> None:
        if any((ns, jid) not in self._fetched for ns in BACKENDS):
            await self.refresh_devices(jid)

    # ---- bundles, sessions and trust ----------------------------------------------------

    async def _bundle(self, backend: Backend, jid: str, device_id: int) -> Any:
        items = await pep.fetch(
            self.client, jid, backend.bundle_node(device_id), backend.bundle_item(device_id)
        )
        if not items:
            raise OmemoError(f"device {device_id} of {jid} has published no keys")
        xml = ox.parse_bundle(backend.namespace, items[0])
        bundle = backend.peer_bundle(xml)  # checks the signature
        raw = ET.tostring(items[0])
        await self.db.transaction(
            lambda c: DEVICES.save_bundle(
                c, Bundle(backend.namespace, jid, device_id, raw, self.clock())
            )
        )
        return bundle

    async def _targets(
        self, backend: Backend, jid: str, devices: list[int]
    ) -> tuple[list[Target], list[str]]:
        """Sessions or bundles for each device; problems are returned as sentences."""
        targets: list[Target] = []
        problems: list[str] = []
        for device_id in devices:
            blob = await self.db.run(
                partial(SESSIONS.get, namespace=backend.namespace, jid=jid, device_id=device_id)
            )
            if blob is not None:
                session = backend.load_session(blob.state)
                targets.append(
                    Target(jid, device_id, backend.session_identity(session), session, None)
                )
                continue
            try:
                bundle = await self._bundle(backend, jid, device_id)
            except XmppStanzaError as exc:
                if exc.condition == "forbidden":
                    problems.append(
                        f"{jid} only shares keys with contacts: add them to your contacts "
                        "and wait for them to accept"
                    )
                else:
                    problems.append(f"device {device_id} of {jid}: {exc}")
                continue
            except (OmemoError, ox.OmemoXmlError) as exc:
                problems.append(f"device {device_id} of {jid} has unusable keys ({exc})")
                continue
            targets.append(Target(jid, device_id, backend.bundle_identity(bundle), None, bundle))
        return targets, problems

    async def _trust_of(self, jid: str, identity: bytes) -> TrustState:
        return await self.db.run(lambda c: TRUST.state(c, jid, identity))

    async def _decide_by_policy(
        self, jid: str, identity: bytes, *, blind: bool = False
    ) -> TrustState:
        """Apply the account's policy to an undecided key; returns the resulting state."""
        policy = "blind" if blind else self.config.trust_policy
        if policy == "blind":
            method = TrustMethod.BLIND
        elif policy == "tofu":
            known = await self.db.run(lambda c: TRUST.for_jid(c, jid))
            if any(d.state != TrustState.UNDECIDED for d in known):
                return TrustState.UNDECIDED  # first keys only: later ones need a decision
            method = TrustMethod.TOFU
        else:
            return TrustState.UNDECIDED
        decision = TrustDecision(jid, identity, TrustState.TRUSTED, method, self.clock())
        await self.db.transaction(lambda c: TRUST.set(c, decision))
        return TrustState.TRUSTED

    # ---- send ---------------------------------------------------------------------------

    async def encrypt(
        self, msg: Message
    ) -> tuple[tuple[ET.Element, ...], str | None, tuple[Recipient, ...]]:
        opted = await self._opt_out_of(msg.conversation)
        if opted is not None:
            reason, confirmed = opted
            if not confirmed:  # XEP-0384: blocked until the user confirms plaintext
                raise SendBlocked(
                    f"{msg.conversation} asked to continue without encryption"
                    f"{': ' + reason if reason else ''}. The message waits until you confirm "
                    "sending unencrypted.",
                    OutboxState.AWAITING_TRUST,
                    TRUST_WAIT,
                )
            if msg.encryption != Encryption.NONE:
                self._went_plain.add(msg.id)
            return (), msg.body, ()
        if msg.encryption == Encryption.NONE:
            return (), msg.body, ()
        peer = msg.conversation
        room = self.rooms.get(peer)
        if room is not None and not room.info.omemo_capable:
            raise SendBlocked(
                f"OMEMO works only in members-only rooms where members can see each other's "
                f"addresses; {peer} is not such a room. Ask its owner to change that, or send "
                "unencrypted.",
                OutboxState.FAILED,
                0.0,
            )
        # XEP-0384 §5.8: in a room, every member's devices (offline members included).
        if room is not None:
            await self.refresh_members(peer)  # a removed member gets no keys from now on
        people = [j for j in room.members if j != self.jid] if room is not None else [peer]
        try:
            for jid in [*people, self.jid]:
                await self._ensure_devices(jid)
        except XmppError as exc:
            raise SendBlocked(
                f"Could not look up {peer}'s devices: {exc}", OutboxState.QUEUED, 10.0
            ) from exc
        backend = await self._choose_backend_for(people)
        if backend is None:
            raise SendBlocked(
                f"{peer} has no OMEMO devices, so the message cannot be encrypted. They may "
                "use a client without OMEMO; you can send it unencrypted instead."
                if room is None
                else f"No member of {peer} has OMEMO devices yet.",
                OutboxState.FAILED,
                0.0,
            )
        ns = backend.namespace
        targets: list[Target] = []
        problems: list[str] = []
        for jid in people:
            found, trouble = await self._targets(backend, jid, await self._active_ids(ns, jid))
            targets += found
            problems += trouble
        own_ids = [d for d in await self._active_ids(ns, self.jid) if d != self.device_id]
        own_targets, _ = await self._targets(backend, self.jid, own_ids)
        undecided: list[Target] = []
        trusted: list[Target] = []
        blind = msg.id in self.blind_once
        key_changed = False
        for t in [*targets, *own_targets]:
            state = await self._trust_of(t.jid, t.identity)
            if state == TrustState.UNDECIDED:
                state = await self._decide_by_policy(t.jid, t.identity, blind=blind)
                if state == TrustState.UNDECIDED:
                    known = await self.db.run(partial(TRUST.for_jid, jid=t.jid))
                    key_changed |= any(d.state != TrustState.UNDECIDED for d in known)
            if state == TrustState.UNDECIDED:
                undecided.append(t)
            elif state in (TrustState.TRUSTED, TrustState.VERIFIED):
                trusted.append(t)
        if undecided:
            views = tuple(self._device_view(t, ns) for t in undecided)
            self.bus.publish(TrustDecisionNeeded(self.jid, peer, views, key_changed))
            names = ", ".join(f"{v.jid} device {v.device_id}" for v in views)
            raise SendBlocked(
                f"Waiting for your decision about new devices ({names}). Compare their "
                "fingerprints, then trust or distrust them.",
                OutboxState.AWAITING_TRUST,
                TRUST_WAIT,
            )
        if not any(t.jid in people for t in trusted):
            why = "; ".join(problems) if problems else "none of their devices is trusted"
            raise SendBlocked(f"The message was not sent: {why}.", OutboxState.FAILED, 0.0)
        sealed = backend.seal(
            msg.body, self.rnd, sender=self.jid, recipient=peer, now=int(msg.timestamp)
        )  # the SCE <to/> is the room for group messages, the contact otherwise
        keys: list[ox.KeyXml] = []
        new_sessions: list[tuple[Namespace, str, int, bytes]] = []
        for t in trusted:
            try:
                session = t.session or backend.initiate(self.identity, t.bundle, self.rnd)
                session, key = backend.encrypt_key(session, sealed.key_material, self.rnd)
            except OmemoError as exc:
                problems.append(f"device {t.device_id} of {t.jid}: {exc}")
                continue
            keys.append(ox.KeyXml(t.jid, t.device_id, key.kex, key.data))
            new_sessions.append((ns, t.jid, t.device_id, backend.dump_session(session)))
        if not any(k.jid in people for k in keys):
            raise SendBlocked(
                f"The message was not sent: {'; '.join(problems)}.", OutboxState.FAILED, 0.0
            )
        self._pending_sessions[msg.id] = new_sessions
        element = ox.build_encrypted(
            ox.EncryptedXml(ns, self.device_id, tuple(keys), sealed.payload, sealed.iv)
        )
        recipients = tuple(Recipient(ns, k.jid or peer, k.rid) for k in keys)
        return (element, _eme(ns)), FALLBACK_BODY, recipients

    async def _opt_out_of(self, peer: str) -> tuple[str, bool] | None:
        if peer not in self._opt_out_loaded:
            self._opt_out_loaded.add(peer)
            row = await self.db.run(partial(_last_encrypted_in, peer))
            if row is not None and row == OPT_OUT:
                self.opt_outs.setdefault(peer, ("", False))
        return self.opt_outs.get(peer)

    def persist_sent(self, conn: sqlite3.Connection, message_id: int) -> None:
        if message_id in self._went_plain:  # the user confirmed plaintext after an opt-out
            self._went_plain.discard(message_id)
            conn.execute(
                "UPDATE messages SET encryption = ? WHERE id = ?", (Encryption.NONE, message_id)
            )
        for ns, jid, device_id, blob in self._pending_sessions.pop(message_id, []):
            SESSIONS.save(conn, Session(ns, jid, device_id, blob, self.clock()))

    async def _choose_backend_for(self, people: list[str]) -> Backend | None:
        """omemo:2 when everyone with OMEMO announces it, legacy otherwise."""
        with_two = [j for j in people if await self._active_ids(Namespace.OMEMO2, j)]
        with_legacy = [j for j in people if await self._active_ids(Namespace.LEGACY, j)]
        if with_two and len(with_two) >= len(with_legacy):
            return BACKENDS[Namespace.OMEMO2]
        if with_legacy:
            return BACKENDS[Namespace.LEGACY]
        return None

    async def _active_ids(self, ns: Namespace, jid: str) -> list[int]:
        devices = await self.db.run(lambda c: DEVICES.for_jid(c, jid, ns, active_only=True))
        return [d.device_id for d in devices]

    async def send_empty(self, ns: Namespace, jid: str, device_id: int) -> None:
        """A content-free message: completes a session, answers a heartbeat, or resets."""
        async with self.ratchet_lock:
            await self._send_empty(ns, jid, device_id)

    async def _send_empty(self, ns: Namespace, jid: str, device_id: int) -> None:
        backend = BACKENDS[ns]
        stored = await self.db.run(lambda c: SESSIONS.get(c, ns, jid, device_id))
        if stored is not None:
            session = backend.load_session(stored.state)
        else:
            session = backend.initiate(
                self.identity, await self._bundle(backend, jid, device_id), self.rnd
            )
        sealed = backend.empty(self.rnd)
        session, key = backend.encrypt_key(session, sealed.key_material, self.rnd)
        element = ox.build_encrypted(
            ox.EncryptedXml(
                ns, self.device_id, (ox.KeyXml(jid, device_id, key.kex, key.data),), None, sealed.iv
            )
        )
        blob = backend.dump_session(session)
        await self.db.transaction(
            lambda c: SESSIONS.save(c, Session(ns, jid, device_id, blob, self.clock()))
        )
        stanza = build_message(
            OutboundMessage(
                to=jid, id=os.urandom(8).hex(), body=None, store_hint=True, extra=(element,)
            )
        )
        self.client.send(stanza)

    # ---- receive ----------------------------------------------------------------------

    async def decrypt(self, m: InboundMessage, peer: str, outgoing: bool) -> Opened:
        if m.encrypted is None:
            return Opened(m.body)
        try:
            enc = ox.parse_encrypted(m.encrypted)
        except ox.OmemoXmlError as exc:
            return self._notice(peer, 0, Encryption.NONE, f"the message was malformed ({exc})")
        backend = BACKENDS[Namespace(enc.namespace)]
        room = self.rooms.get(peer) if m.type == "groupchat" else None
        if room is not None:
            nick = m.sender.split("/", 1)[1]
            real = self.jid if outgoing else (m.muc_real_jid or room.real_jid(nick))
            if real is None:
                return self._notice(
                    peer,
                    enc.sid,
                    backend.encryption,
                    f"the room did not tell who {nick} is, so their keys cannot be found",
                )
            sender = real
        else:
            sender = self.jid if outgoing else bare(m.sender)
        mine = [k for k in enc.keys if k.rid == self.device_id and k.jid in (None, self.jid)]
        if sender == self.jid and enc.sid == self.device_id:
            return Opened(None)  # our own message reflected back
        if not mine:
            if enc.payload is None:
                return Opened(None)  # an empty message for another device
            return self._notice(
                peer,
                enc.sid,
                backend.encryption,
                "this message was not encrypted for this device. The sender's app may not "
                "know this device yet; ask them to send it again",
            )
        key = mine[0]
        ns = backend.namespace
        stored, archived = await self.db.run(  # one hop to the database thread for both
            lambda c: (
                SESSIONS.get(c, ns, sender, enc.sid),
                SESSIONS.archive(c, ns, sender, enc.sid),
            )
        )
        opt_out: str | None = None
        try:
            result, archive = self._decrypt_key_any(
                backend, stored.state if stored is not None else None, archived, key
            )
            try:
                body = backend.open(
                    enc.payload,
                    enc.iv,
                    result.key_material,
                    sender=sender,
                    expected_to=peer if room is not None or outgoing else self.jid,
                )
            except OptOut as exc:
                body, opt_out = None, exc.reason
        except OmemoDuplicate:
            return Opened(None)  # seen before: ignored silently (XEP-0384)
        except OmemoError as exc:
            return self._notice(peer, enc.sid, backend.encryption, str(exc))
        identity = backend.session_identity(result.session)
        trust = await self._trust_of(sender, identity)
        if trust == TrustState.UNDECIDED:
            trust = await self._decide_by_policy(sender, identity)
        blob = backend.dump_session(result.session)
        prekeys = self._prekeys[ns]
        if result.used_prekey_id is not None:
            prekeys = backend.refill(
                backend.without_prekey(prekeys, result.used_prekey_id), self.rnd
            )
        prekey_blob = backend.dump_prekeys(prekeys) if result.used_prekey_id is not None else None
        now = self.clock()
        known = await self.db.run(lambda c: DEVICES.get(c, ns, sender, enc.sid))

        def persist(conn: sqlite3.Connection) -> None:
            SESSIONS.save(conn, Session(ns, sender, enc.sid, blob, now))
            if archive != archived:
                SESSIONS.set_archive(conn, ns, sender, enc.sid, archive, now)
            if prekey_blob is not None:
                OWN.save_prekeys(conn, OwnPreKeys(ns, prekey_blob, now))
            DEVICES.mark_seen(conn, ns, sender, enc.sid, now)

        followups: list[Callable[[], Any]] = []
        if result.used_prekey_id is not None:
            # only once stored: if the store fails (disk full) the message is retried and
            # needs the pre-key again
            followups.append(partial(self._use_prekeys, ns, prekeys))
            followups.append(partial(self._publish_bundle, ns))
        if result.send_empty_back or result.heartbeat_due:
            followups.append(partial(self.send_empty, ns, sender, enc.sid))
        if known is None:
            followups.append(partial(self.refresh_devices, sender))  # unknown device
        if room is None and not outgoing:
            self._opt_out_loaded.add(peer)  # this message decides, not the stored past
            if opt_out is not None:
                self.opt_outs[peer] = (opt_out, False)
                self.bus.publish(OptOutReceived(self.jid, peer, opt_out))
                body = (
                    f"{peer} asked to continue without encryption"
                    f"{': ' + opt_out if opt_out else ''}. Your messages to them wait until "
                    "you confirm sending unencrypted."
                )
                return Opened(
                    body,
                    backend.encryption,
                    enc.sid,
                    trust,
                    error=OPT_OUT,
                    persist=persist,
                    followups=tuple(followups),
                )
            if body is not None:
                self.opt_outs.pop(peer, None)  # they are back on OMEMO
        return Opened(
            body,
            backend.encryption,
            enc.sid,
            trust,
            persist=persist,
            followups=tuple(followups),
        )

    def _decrypt_key_any(
        self,
        backend: Backend,
        current: bytes | None,
        archived: tuple[bytes, ...],
        key: ox.KeyXml,
    ) -> tuple[KeyIn, tuple[bytes, ...]]:
        """Decrypt our key with the current session, else with an archived one.

        Returns the result (whose session becomes current) and the archive to store. When
        both sides start a session at once, each builds one from the other's key exchange
        while the other's messages still come on the session it replaced; keeping previous
        sessions (as libsignal does) lets both ends read each other until they settle on one.
        Nothing here writes: the caller stores the outcome with the message."""
        ns = backend.namespace
        prekeys = self._prekeys[ns]
        try:
            session = backend.load_session(current) if current is not None else None
            result = backend.decrypt_key(self.identity, prekeys, session, key.data, key.kex)
        except OmemoDuplicate:
            raise
        except OmemoError as first:
            # the message may belong to a previous session (kex: a repeated key exchange
            # of one); the first one that decrypts becomes current
            for i, blob in enumerate(archived):
                try:
                    old = backend.load_session(blob)
                    result = backend.decrypt_key(self.identity, prekeys, old, key.data, key.kex)
                except OmemoDuplicate:
                    raise
                except OmemoError:
                    continue
                if result.used_prekey_id is not None:
                    continue  # not this session's: new ones are only built from the current
                rest = archived[:i] + archived[i + 1 :]
                kept = (current, *rest) if current is not None else rest
                return result, kept[:MAX_ARCHIVED]
            raise first
        if current is not None and result.used_prekey_id is not None:
            # a key exchange built a new session: the one it replaces may still get messages
            return result, (current, *archived)[:MAX_ARCHIVED]
        return result, archived

    async def _use_prekeys(self, ns: Namespace, prekeys: Any) -> None:
        self._prekeys[ns] = prekeys

    async def after_decrypt(self, opened: Opened) -> None:
        for follow in opened.followups:
            try:
                await follow()
            except (XmppError, OmemoError) as exc:
                log.warning("follow-up after decryption failed: %s", exc)

    def _notice(self, peer: str, device_id: int, encryption: Encryption, reason: str) -> Opened:
        self.bus.publish(DecryptionFailed(self.jid, peer, device_id, reason))
        text = (
            f"A message from device {device_id} could not be decrypted: {reason}. "
            "If this keeps happening, reset the session with that device."
        )
        return Opened(text, encryption, device_id or None, None, error=UNDECRYPTABLE)

    # ---- rooms ----------------------------------------------------------------------------

    async def join_room(self, room_jid: str, nick: str, *, name: str = "") -> Room:
        room_jid = bare(room_jid)
        # Registered before joining, so the occupants' presences (real JIDs) are tracked.
        room = self.rooms.get(room_jid) or Room(
            room_jid, nick, muc.RoomInfo(room_jid, False, False)
        )
        room.nick = nick
        self.rooms[room_jid] = room
        try:
            created, own = await muc.join(self.client, room_jid, nick)
        except XmppError:
            if not room.joined or room.nick != nick:
                self.rooms.pop(room_jid, None)
            raise
        if created:
            await muc.configure_for_omemo(self.client, room_jid, name)
        info = await muc.room_info(self.client, room_jid)
        room.info, room.joined = info, True
        room.members.update(await self._affiliated(room_jid))
        if own.affiliation in MEMBER_AFFILIATIONS:
            room.members[self.jid] = own.affiliation or "member"
        with contextlib.suppress(XmppError):
            await muc.publish_bookmark(
                self.client, muc.Bookmark(room_jid, name or info.name, nick, True)
            )
        await self.catch_up_room(room_jid)
        return room

    async def _affiliated(self, room_jid: str) -> dict[str, str]:
        try:
            return await muc.affiliated(self.client, room_jid)
        except XmppError as exc:
            log.info("could not read the member lists of %s: %s", room_jid, exc)
            return {}

    async def refresh_members(self, room_jid: str) -> None:
        """Re-read the affiliation lists (kept current from presence in between)."""
        room = self.rooms[room_jid]
        fresh = await self._affiliated(room_jid)
        if fresh:
            fresh.setdefault(self.jid, room.members.get(self.jid, "member"))
            room.members = fresh

    async def autojoin(self) -> None:
        for b in await muc.bookmarks(self.client):
            if b.autojoin and b.room not in self.rooms:
                try:
                    await self.join_room(b.room, b.nick or self.jid.split("@")[0])
                except XmppError as exc:
                    log.warning("could not rejoin %s: %s", b.room, exc)

    # ---- trust and devices (front-end calls) ----------------------------------------------

    def _device_view(self, t: Target, ns: Namespace, trust: str = "undecided") -> DeviceView:
        return DeviceView(
            jid=t.jid,
            device_id=t.device_id,
            fingerprint=fingerprint_of_curve(t.identity),
            namespace=NS_SHORT[ns],
            trust=trust,
        )

    async def device_views(self, jid: str) -> list[DeviceView]:
        jid = bare(jid)
        await self.refresh_devices(jid)
        merged: dict[int, DeviceView] = {}
        for ns, backend in BACKENDS.items():
            devices = await self.db.run(partial(DEVICES.for_jid, jid=jid, namespace=ns))
            for d in devices:
                if jid == self.jid and d.device_id == self.device_id:
                    continue
                targets, _ = await self._targets(backend, jid, [d.device_id])
                if not targets:
                    continue
                t = targets[0]
                state = await self._trust_of(jid, t.identity)
                label = self._verified_label(ns, t, d.label)
                view = DeviceView(
                    jid=jid,
                    device_id=d.device_id,
                    fingerprint=fingerprint_of_curve(t.identity),
                    namespace=NS_SHORT[ns],
                    trust=str(state),
                    label=label,
                    active=d.status == DeviceStatus.ACTIVE,
                    last_seen=d.last_seen,
                )
                if d.device_id in merged and merged[d.device_id].fingerprint == view.fingerprint:
                    view = DeviceView(**{**merged[d.device_id].__dict__, "namespace": "both"})
                merged[d.device_id] = view
        return sorted(merged.values(), key=lambda v: v.device_id)

    def _verified_label(self, ns: Namespace, t: Target, label: str | None) -> str | None:
        """A label is shown only with a labelsig made by the device's own identity key
        (legacy lists carry no signatures, so their labels are never shown)."""
        if ns != Namespace.OMEMO2 or label is None:
            return None
        source: Any = t.session if t.session is not None else t.bundle
        ed_key = source.peer_identity if t.session is not None else source.ik
        return labels.verified_label(label, self._labelsigs.get((t.jid, t.device_id)), ed_key)

    async def set_trust(
        self, jid: str, device_id: int, state: TrustState, method: TrustMethod
    ) -> list[DeviceView]:
        views = [v for v in await self.device_views(jid) if v.device_id == device_id]
        if not views:
            raise OmemoError(f"{jid} has no device {device_id}")
        identity = bytes.fromhex(views[0].fingerprint)
        decision = TrustDecision(bare(jid), identity, state, method, self.clock())
        await self.db.transaction(lambda c: TRUST.set(c, decision))
        self.bus.publish(TrustChanged(self.jid, bare(jid), device_id, str(state)))
        await self.db.transaction(partial(_requeue_awaiting_trust, self.clock()))
        self.kick_outbox()
        return views

    async def confirm_plaintext(self, peer: str) -> None:
        """After an opt-out: the user agrees to send to `peer` unencrypted."""
        reason, _ = self.opt_outs.get(peer, ("", False))
        self.opt_outs[peer] = (reason, True)
        await self.db.transaction(partial(_requeue_awaiting_trust, self.clock()))
        self.kick_outbox()

    async def reset_contact_sessions(self, jid: str) -> list[int]:
        """Reset the sessions with all of `jid`'s devices (also those whose session we lost);
        returns the device ids reset."""
        await self.refresh_devices(jid)
        ids: set[int] = set()
        for ns in BACKENDS:
            ids |= set(await self._active_ids(ns, jid))
            stored = await self.db.run(partial(SESSIONS.for_jid, namespace=ns, jid=jid))
            ids |= {s.device_id for s in stored}
        if jid == self.jid:
            ids.discard(self.device_id)
        for device_id in sorted(ids):
            await self.reset_session(jid, device_id)
        return sorted(ids)

    async def reset_session(self, jid: str, device_id: int) -> None:
        """Drop the session and start a new one with an empty key-exchange message.

        With no session at all (ours was lost, which is what makes their messages fail),
        one is started in the namespace the device announces, omemo:2 first."""
        had_any = False
        for ns in BACKENDS:
            had = await self.db.run(
                partial(SESSIONS.get, namespace=ns, jid=jid, device_id=device_id)
            )
            if had is None:
                continue
            had_any = True
            await self.db.transaction(
                partial(SESSIONS.delete, namespace=ns, jid=jid, device_id=device_id)
            )
            await self.send_empty(ns, jid, device_id)
        if had_any:
            return
        await self.refresh_devices(jid)
        for ns in BACKENDS:
            if device_id in await self._active_ids(ns, jid):
                await self.send_empty(ns, jid, device_id)
                return
        raise OmemoError(f"{jid} has no device {device_id} to start a new session with")


def _eme(ns: Namespace) -> ET.Element:
    name = "OMEMO" if ns == Namespace.OMEMO2 else "OMEMO (legacy)"
    return ET.Element(f"{{{NS_EME}}}encryption", {"namespace": str(ns), "name": name})


def _save_prekeys(prekeys: OwnPreKeys, conn: sqlite3.Connection) -> None:
    OWN.save_prekeys(conn, prekeys)


def _last_encrypted_in(peer: str, conn: sqlite3.Connection) -> str | None:
    """The error mark of the newest encrypted message from `peer` ("" if none): "opt-out"
    means they asked to continue without encryption and have not come back since."""
    row = conn.execute(
        "SELECT coalesce(error, '') FROM messages WHERE conversation = ? AND direction = 'in'"
        " AND encryption != 'none' AND (error IS NULL OR error = ?) ORDER BY id DESC LIMIT 1",
        (peer, OPT_OUT),
    ).fetchone()
    return None if row is None else str(row[0])


def _requeue_awaiting_trust(now: float, conn: sqlite3.Connection) -> None:
    for entry in OUTBOX.all(conn):
        if entry.state == OutboxState.AWAITING_TRUST:
            OUTBOX.set_state(conn, entry.message_id, OutboxState.QUEUED, next_attempt_at=now)


__all__ = ["DeliveryState", "OmemoAccount"]
