"""One account's XMPP connection on slixmpp: TLS, SASL, stream management, roster, presence,
raw message stanzas, IQ round trips, carbons (XEP-0280) and archive queries (XEP-0313).

It builds and parses stanzas and makes no crypto, storage or trust decisions. Everything it
receives is parsed into plain dataclasses and put on one queue, drained by one task in the
service, because slixmpp does not run event handlers in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeAlias

import slixmpp
from slixmpp import JID
from slixmpp.stanza import Iq, Message, Presence
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import StanzaPath

from .errors import (
    XmppAuthError,
    XmppCertificateError,
    XmppConnectError,
    XmppError,
    XmppNotConnected,
    XmppRegistrationError,
    XmppStanzaError,
    XmppTimeout,
)
from .stanzas import NS_CLIENT, InboundMessage, parse_message, q

log = logging.getLogger(__name__)

NS_CARBONS: Final = "urn:xmpp:carbons:2"
NS_FORWARD: Final = "urn:xmpp:forward:0"
NS_MAM: Final = "urn:xmpp:mam:2"
NS_RSM: Final = "http://jabber.org/protocol/rsm"
NS_DATA: Final = "jabber:x:data"
NS_STANZAS: Final = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_PUBSUB_EVENT: Final = "http://jabber.org/protocol/pubsub#event"
NS_MUC_USER: Final = "http://jabber.org/protocol/muc#user"


@dataclass(frozen=True)
class PresenceUpdate:
    jid: str  # full JID
    type: str  # available | unavailable | subscribe(d) | unsubscribe(d) | error
    show: str = ""
    status: str = ""
    # XEP-0045 occupant data, when the presence comes from a room
    muc_jid: str | None = None  # the occupant's real JID (non-anonymous rooms)
    affiliation: str | None = None
    role: str | None = None
    muc_status: tuple[str, ...] = ()
    error: str | None = None  # the error condition of a type='error' presence


@dataclass(frozen=True)
class RosterItem:
    jid: str
    name: str
    subscription: str
    pending_out: bool = False


@dataclass(frozen=True)
class RosterUpdate:
    items: tuple[RosterItem, ...]


@dataclass(frozen=True)
class PepNotification:
    """A PEP event (e.g. a device list push), items as raw XML."""

    jid: str
    node: str
    items: tuple[ET.Element, ...]


@dataclass(frozen=True)
class SessionStarted:
    resumed: bool


@dataclass(frozen=True)
class Disconnected:
    reason: str


Inbound: TypeAlias = (
    InboundMessage | PresenceUpdate | RosterUpdate | PepNotification | SessionStarted | Disconnected
)


def parse_address(server: str | None) -> tuple[str, int, bool] | None:
    """'host[:port]' -> (host, port, direct_tls). 'tls://host:port' or port 5223 is direct TLS."""
    if not server:
        return None
    direct = server.startswith("tls://")
    server = server.removeprefix("tls://")
    host, _, port_text = server.rpartition(":") if ":" in server else (server, "", "")
    port = int(port_text) if port_text else (5223 if direct else 5222)
    return host.strip("[]"), port, direct or port == 5223


def _consume(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


class XmppClient:
    def __init__(
        self,
        jid: str,
        password: str,
        *,
        server: str | None = None,
        ca_file: Path | None = None,
        resource: str | None = None,
        pep_nodes: tuple[str, ...] = (),
    ) -> None:
        self.bare_jid = jid.split("/")[0]
        full = f"{self.bare_jid}/{resource or 'omemo-desktop-' + uuid.uuid4().hex[:6]}"
        self._x = slixmpp.ClientXMPP(full, password)
        self._address = parse_address(server)
        if self._address is not None:
            self._x.enable_direct_tls = self._address[2]
            self._x.enable_starttls = not self._address[2]
        if ca_file is not None:
            # Adds a CA; verification stays on (CERT_REQUIRED, hostname checked).
            ctx = ssl.create_default_context(cafile=str(ca_file))
            self._x.ssl_context = ctx
        self._x.whitespace_keepalive = True
        self._x.register_plugin("xep_0030")
        self._x.register_plugin("xep_0199", {"keepalive": False})
        self._x.register_plugin("xep_0198")
        if pep_nodes:
            # +notify features in entity caps make the server push these PEP nodes to us.
            self._x.register_plugin("xep_0115")
            for node in pep_nodes:
                self._x.plugin["xep_0030"].add_feature(node + "+notify")
        self._pep_nodes = pep_nodes
        self._x.client_roster.auto_authorize = None  # type: ignore[assignment]  # None = ask
        self._x.client_roster.auto_subscribe = False
        self.inbound: asyncio.Queue[Inbound] = asyncio.Queue()
        self._connected = asyncio.Event()
        self._wanted = False
        # query id -> (archive JID, page being filled)
        self._mam_queries: dict[str, tuple[str, list[InboundMessage]]] = {}
        self._reconnect_task: asyncio.Future[None] | None = None
        self._dropped = asyncio.Event()  # set (then replaced) each time the connection is lost
        self.presence_watchers: list[Callable[[PresenceUpdate], None]] = []
        self._setup_handlers()

    # ---- connection -------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def full_jid(self) -> str:
        return str(self._x.boundjid.full)

    def _setup_handlers(self) -> None:
        x = self._x
        x.add_event_handler("session_start", self._on_session_start)
        x.add_event_handler("session_resumed", self._on_session_resumed)
        x.add_event_handler("disconnected", self._on_disconnected)
        x.add_event_handler("ssl_invalid_chain", self._on_bad_cert)
        x.add_event_handler("roster_update", self._on_roster_update)
        x.register_handler(Callback("raw message", StanzaPath("message"), self._on_message))
        x.register_handler(Callback("raw presence", StanzaPath("presence"), self._on_presence))

    async def connect(self, timeout: float = 20.0, *, register: bool = False) -> None:
        """Connect, authenticate (optionally register first) and start the session.

        Raises XmppAuthError, XmppCertificateError, XmppRegistrationError or XmppConnectError.
        """
        loop = asyncio.get_running_loop()
        outcome: asyncio.Future[None] = loop.create_future()
        x = self._x

        def settle(exc: BaseException | None) -> None:
            if outcome.done():
                return
            if exc is None:
                outcome.set_result(None)
            else:
                outcome.set_exception(exc)

        def on_failed_auth(_: Any) -> None:
            settle(XmppAuthError("the server rejected the user name or password"))

        def on_conn_failed(err: Any) -> None:
            settle(_classify(err, "could not connect"))

        def on_bad_cert(err: Any) -> None:
            settle(XmppCertificateError(str(err)))

        def on_started(_: Any) -> None:
            settle(None)

        def on_disconnected(reason: Any) -> None:
            settle(_classify(reason, "the server closed the connection"))

        handlers = {
            "failed_auth": on_failed_auth,
            "connection_failed": on_conn_failed,
            "ssl_invalid_chain": on_bad_cert,
            "session_start": on_started,
            "session_resumed": on_started,
            "disconnected": on_disconnected,
        }
        for name, fn in handlers.items():
            x.add_event_handler(name, fn)
        if register:
            x.register_plugin("xep_0077")
            x.plugin["xep_0077"].force_registration = True
            x.add_event_handler("register", self._make_register_handler(settle))
        try:
            self._wanted = True
            if self._address is not None:
                x.connect(self._address[0], self._address[1])
            else:
                x.connect()
            try:
                await asyncio.wait_for(asyncio.shield(outcome), timeout)
                # The session is usable once the roster is in and presence sent.
                await asyncio.wait_for(self._connected.wait(), timeout)
            except TimeoutError as exc:
                raise XmppConnectError(f"no answer from the server within {timeout:.0f} s") from exc
        except BaseException:
            self._wanted = False
            x.cancel_connection_attempt()
            with contextlib.suppress(Exception):
                x.abort()
            raise
        finally:
            for name, fn in handlers.items():
                x.del_event_handler(name, fn)

    def _make_register_handler(self, settle: Any) -> Any:
        async def on_register(_: Any) -> None:
            iq = self._x.Iq()
            iq["type"] = "set"
            iq["register"]["username"] = self._x.boundjid.user
            iq["register"]["password"] = self._x.password
            try:
                await iq.send(timeout=15)
            except slixmpp.exceptions.IqError as exc:
                cond = exc.iq["error"]["condition"]
                text = exc.iq["error"]["text"] or ""
                msg = {
                    "conflict": "that user name is already taken on this server",
                    "not-allowed": "this server does not allow creating accounts from the app",
                    "not-acceptable": "the server did not accept this user name or password",
                }.get(cond, f"the server refused to create the account ({cond} {text})".strip())
                settle(XmppRegistrationError(msg))
                self._x.disconnect()
            except slixmpp.exceptions.IqTimeout:
                settle(XmppRegistrationError("the server did not answer the registration"))
                self._x.disconnect()

        return on_register

    async def disconnect(self) -> None:
        self._wanted = False
        self._x.cancel_connection_attempt()
        if self._connected.is_set():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._x.disconnect(wait=1.0), 3)
        self._connected.clear()

    def drop_socket(self) -> None:
        """Cut the TCP connection without a stream close (tests; simulates a network loss)."""
        transport = self._x.transport
        if transport is not None:
            transport.abort()

    async def _on_session_start(self, _: Any) -> None:
        try:
            await self._x.get_roster(timeout=15)
        except Exception as exc:  # the session is still usable without the roster
            log.warning("roster fetch failed: %s", exc)
        if self._pep_nodes:
            # slixmpp puts entity caps into presence only once they are computed; without
            # them the server never learns our +notify features and pushes no PEP events.
            try:
                await self._x.plugin["xep_0115"].update_caps(broadcast=False)
            except Exception as exc:  # still usable; device lists are fetched on demand
                log.warning("could not compute entity caps: %s", exc)
        self._x.send_presence()
        with contextlib.suppress(XmppError, XmppTimeout):
            await self.iq_set(_carbons_enable())
        self._connected.set()
        self.inbound.put_nowait(SessionStarted(resumed=False))

    def _on_session_resumed(self, _: Any) -> None:
        self._connected.set()
        self.inbound.put_nowait(SessionStarted(resumed=True))

    def _on_bad_cert(self, err: Any) -> None:
        log.error("certificate of %s did not verify: %s", self._x.boundjid.domain, err)
        self._wanted = False
        # Let connect()'s waiter see the certificate error before the disconnect.
        asyncio.get_running_loop().call_soon(self._x.disconnect)

    def _on_disconnected(self, reason: Any) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        self._dropped.set()
        self._dropped = asyncio.Event()
        if was:
            self.inbound.put_nowait(Disconnected(str(reason or "")))
        if self._wanted and was:
            self._reconnect_task = asyncio.ensure_future(self._reconnect())

    async def _reconnect(self) -> None:
        """Reconnect with exponential backoff (1, 2, 4 ... 60 s) while the user wants it."""
        delay = 1.0
        while self._wanted and not self._connected.is_set():
            await asyncio.sleep(delay)
            if not self._wanted:
                return
            try:
                await self.connect(timeout=20)
                return
            except (XmppAuthError, XmppCertificateError) as exc:
                log.error("reconnect stopped: %s", exc)
                self.inbound.put_nowait(Disconnected(str(exc)))
                self._wanted = False
                return
            except XmppConnectError as exc:
                log.info("reconnect failed (%s); next try in %.0f s", exc, delay)
                self._wanted = True
            delay = min(delay * 2, 60.0)

    async def wait_connected(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except TimeoutError as exc:
            raise XmppNotConnected("not connected") from exc

    # ---- sending ----------------------------------------------------------------------

    def send(self, element: ET.Element) -> None:
        """Send a prebuilt <message/> or <presence/> element (counted by stream management)."""
        if not self._connected.is_set():
            raise XmppNotConnected("not connected to the server")
        self._x.send(Message(self._x, xml=element))

    async def ack_barrier(self, timeout: float = 15.0) -> None:
        """Return once the server has processed everything sent before this call.

        A c2s stream is processed in order, so the answer to a ping proves the server took
        every earlier stanza.
        """
        ping = ET.Element(q(NS_CLIENT, "iq"), {"type": "get", "to": self._x.boundjid.domain})
        ET.SubElement(ping, "{urn:xmpp:ping}ping")
        # A lost connection fails the barrier at once instead of after the timeout, so the
        # caller re-queues and the next session sends again (receivers drop the copies).
        dropped = asyncio.ensure_future(self._dropped.wait())
        answer = asyncio.ensure_future(self.iq(ping, timeout=timeout))
        try:
            await asyncio.wait({answer, dropped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            dropped.cancel()
            # Whatever happens to us (even cancellation), the ping's outcome is read, so a
            # late timeout is never logged as "Task exception was never retrieved".
            answer.add_done_callback(_consume)
        if not answer.done():
            answer.cancel()
            raise XmppNotConnected("the connection was lost before the server confirmed")
        answer.result()

    async def iq(self, element: ET.Element, timeout: float = 15.0) -> ET.Element:
        """Send an IQ and return the result element; errors raise XmppStanzaError."""
        if not self._connected.is_set() and self._x.transport is None:
            raise XmppNotConnected("not connected to the server")
        iq = Iq(self._x, xml=element)
        if not iq["id"]:
            iq["id"] = uuid.uuid4().hex
        try:
            result = await iq.send(timeout=timeout)
        except slixmpp.exceptions.IqError as exc:
            raise XmppStanzaError(
                str(exc.iq["error"]["condition"]), str(exc.iq["error"]["text"] or "")
            ) from exc
        except slixmpp.exceptions.IqTimeout as exc:
            raise XmppTimeout("the server did not answer in time") from exc
        xml: ET.Element = result.xml
        return xml

    async def iq_set(self, payload: ET.Element, to: str | None = None) -> ET.Element:
        return await self.iq(_iq("set", payload, to))

    async def iq_get(self, payload: ET.Element, to: str | None = None) -> ET.Element:
        return await self.iq(_iq("get", payload, to))

    # ---- roster and presence ----------------------------------------------------------

    def roster_items(self) -> tuple[RosterItem, ...]:
        roster = self._x.client_roster
        out = []
        for jid in roster:
            if jid == self.bare_jid:
                continue
            item = roster[jid]
            out.append(
                RosterItem(
                    jid=str(jid),
                    name=str(item["name"] or ""),
                    subscription=str(item["subscription"]),
                    pending_out=bool(item["pending_out"]),
                )
            )
        return tuple(sorted(out, key=lambda i: i.jid))

    async def roster_set(self, jid: str, name: str = "") -> None:
        await self._x.update_roster(JID(jid), name=name or None)  # type: ignore[misc]

    async def roster_remove(self, jid: str) -> None:
        await self._x.del_roster_item(jid)

    def presence(self, to: str, ptype: str) -> None:
        self._x.send_presence(pto=to, ptype=ptype)  # type: ignore[arg-type]

    def _on_roster_update(self, _: Any) -> None:
        self.inbound.put_nowait(RosterUpdate(self.roster_items()))

    def send_raw_presence(self, element: ET.Element) -> None:
        if not self._connected.is_set():
            raise XmppNotConnected("not connected to the server")
        self._x.send(Presence(self._x, xml=element))

    def _on_presence(self, stanza: Any) -> None:
        xml: ET.Element = stanza.xml
        ptype = xml.get("type") or "available"
        if ptype == "probe":
            return
        if ptype not in (
            "unavailable",
            "subscribe",
            "subscribed",
            "unsubscribe",
            "unsubscribed",
            "error",
        ):
            ptype = "available"
        error = None
        if ptype == "error":
            err = xml.find(q(NS_CLIENT, "error"))
            if err is not None:
                error = next(
                    (
                        c.tag.split("}")[1]
                        for c in err
                        if c.tag.startswith(f"{{{NS_STANZAS}}}") and not c.tag.endswith("}text")
                    ),
                    None,
                )
        muc = xml.find(q(NS_MUC_USER, "x"))
        item = muc.find(q(NS_MUC_USER, "item")) if muc is not None else None
        show = xml.find(q(NS_CLIENT, "show"))
        status = xml.find(q(NS_CLIENT, "status"))
        update = PresenceUpdate(
            jid=xml.get("from", ""),
            type=ptype,
            show=(show.text or "") if show is not None else "",
            status=(status.text or "") if status is not None else "",
            muc_jid=(item.get("jid") or "").split("/")[0].lower() or None
            if item is not None
            else None,
            affiliation=item.get("affiliation") if item is not None else None,
            role=item.get("role") if item is not None else None,
            muc_status=tuple(c.get("code", "") for c in muc.findall(q(NS_MUC_USER, "status")))
            if muc is not None
            else (),
            error=error,
        )
        for watch in list(self.presence_watchers):
            watch(update)
        self.inbound.put_nowait(update)

    # ---- receiving --------------------------------------------------------------------

    def _on_message(self, stanza: Any) -> None:
        xml: ET.Element = stanza.xml
        sender = xml.get("from", "")
        from_self = sender in ("", self.bare_jid)
        try:
            for kind in ("received", "sent"):
                wrap = xml.find(f"{q(NS_CARBONS, kind)}/{q(NS_FORWARD, 'forwarded')}")
                if wrap is not None:
                    if not from_self:  # a forged carbon (XEP-0280 security considerations)
                        log.warning("ignored a carbon from %s", sender)
                        return
                    inner = wrap.find(q(NS_CLIENT, "message"))
                    if inner is not None:
                        self.inbound.put_nowait(parse_message(inner, self.bare_jid, carbon=kind))
                    return
            result = xml.find(q(NS_MAM, "result"))
            if result is not None:
                entry = self._mam_queries.get(result.get("queryid", ""))
                fwd = result.find(q(NS_FORWARD, "forwarded"))
                # Results count only from the archive we asked (ours, or a room's).
                if entry is None or fwd is None or (sender or self.bare_jid) != entry[0]:
                    return
                query = entry[1]
                inner = fwd.find(q(NS_CLIENT, "message"))
                delay = fwd.find("{urn:xmpp:delay}delay")
                if inner is not None:
                    query.append(
                        parse_message(
                            inner,
                            self.bare_jid,
                            archived=True,
                            archive_id=result.get("id"),
                            archive_time=delay.get("stamp") if delay is not None else None,
                        )
                    )
                return
            event = xml.find(q(NS_PUBSUB_EVENT, "event"))
            if event is not None:
                if "/" in sender:  # PEP services send from a bare JID; a client cannot
                    log.warning("ignored a PEP event sent by the client %s", sender)
                    return
                items = event.find(q(NS_PUBSUB_EVENT, "items"))
                if items is not None:
                    self.inbound.put_nowait(
                        PepNotification(
                            jid=sender.split("/")[0] or self.bare_jid,
                            node=items.get("node", ""),
                            items=tuple(items.findall(q(NS_PUBSUB_EVENT, "item"))),
                        )
                    )
                return
            if xml.get("type") == "error":
                return
            self.inbound.put_nowait(parse_message(xml, self.bare_jid))
        except Exception:  # a malformed stanza must never kill the connection
            log.exception("could not parse a message stanza from %s", sender)

    async def archive(
        self,
        *,
        after: str | None = None,
        start: float | None = None,
        page_size: int = 100,
        with_jid: str | None = None,
        archive_jid: str | None = None,
    ) -> AsyncIterator[list[InboundMessage]]:
        """Page through our archive (XEP-0313) oldest first, starting after archive id `after`.

        Yields one page at a time so the caller can persist progress and resume where it
        stopped.
        """
        while True:
            query_id = uuid.uuid4().hex
            query = ET.Element(q(NS_MAM, "query"), {"queryid": query_id})
            form = ET.SubElement(query, q(NS_DATA, "x"), {"type": "submit"})
            ft = ET.SubElement(form, q(NS_DATA, "field"), {"var": "FORM_TYPE", "type": "hidden"})
            ET.SubElement(ft, q(NS_DATA, "value")).text = NS_MAM
            if with_jid:
                wf = ET.SubElement(form, q(NS_DATA, "field"), {"var": "with"})
                ET.SubElement(wf, q(NS_DATA, "value")).text = with_jid
            if start is not None and not after:
                sf = ET.SubElement(form, q(NS_DATA, "field"), {"var": "start"})
                stamp = datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                ET.SubElement(sf, q(NS_DATA, "value")).text = stamp
            rsm = ET.SubElement(query, q(NS_RSM, "set"))
            ET.SubElement(rsm, q(NS_RSM, "max")).text = str(page_size)
            if after:
                ET.SubElement(rsm, q(NS_RSM, "after")).text = after
            page: list[InboundMessage] = []
            self._mam_queries[query_id] = (archive_jid or self.bare_jid, page)
            try:
                result = await self.iq_set(query, to=archive_jid)
            finally:
                self._mam_queries.pop(query_id, None)
            fin = result.find(q(NS_MAM, "fin"))
            if page:
                yield page
            if fin is None:
                return
            last = fin.find(f"{q(NS_RSM, 'set')}/{q(NS_RSM, 'last')}")
            if fin.get("complete") == "true" or last is None or not last.text or not page:
                return
            after = last.text


def _classify(reason: Any, what: str) -> XmppConnectError:
    """A certificate failure can surface as any of slixmpp's failure events: find it."""
    if isinstance(reason, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(
        reason
    ):
        return XmppCertificateError(str(reason))
    return XmppConnectError(f"{what} ({reason or 'no reason given'})")


def _iq(kind: str, payload: ET.Element, to: str | None) -> ET.Element:
    attrs = {"type": kind, "id": uuid.uuid4().hex}
    if to:
        attrs["to"] = to
    iq = ET.Element(q(NS_CLIENT, "iq"), attrs)
    iq.append(payload)
    return iq


def _carbons_enable() -> ET.Element:
    return ET.Element(q(NS_CARBONS, "enable"))
