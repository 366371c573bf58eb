"""Foreign OMEMO peers for interop tests over the real Prosody (TEST ONLY).

`ReferencePeer` is a slixmpp client whose OMEMO is Syndace's stack: python-omemo's
SessionManager with slixmpp-omemo's PEP glue (device lists and bundles with publish-options,
fetching, empty messages) and ONE protocol backend:

- "legacy": oldmemo, i.e. what a slixmpp-omemo 2.x bot speaks (it encrypts legacy only; the
  stock plugin also announces omemo:2, which it cannot read, so the bot here announces legacy
  only, like the Conversations-era clients);
- "omemo2": twomemo, with the XEP-0420 (SCE) envelope built and parsed here, independently of
  our own `omemo_desktop.omemo.sce`, so the check is real.

Trust is blind (BTBV). Everything received lands in `inbox`; failures in `errors`.
"""

from __future__ import annotations

import asyncio
import base64
import os
import ssl
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import oldmemo
import oldmemo.etree
import slixmpp
import twomemo
import twomemo.etree
from slixmpp.xmlstream.handler import CoroutineCallback
from slixmpp.xmlstream.matcher import StanzaPath
from slixmpp_omemo.base_session_manager import TrustLevel
from slixmpp_omemo.xep_0384 import _make_session_manager

from tests.helpers.reference_storage import MemoryStorage

NS_SCE = "urn:xmpp:sce:1"
NS_CLIENT = "jabber:client"
NS_EME = "urn:xmpp:eme:0"
NAMESPACES = {"legacy": oldmemo.oldmemo.NAMESPACE, "omemo2": twomemo.twomemo.NAMESPACE}


@dataclass(frozen=True)
class Received:
    sender: str  # bare JID
    device: int
    body: str | None  # None: an empty (protocol) message
    opt_out: str | None = None
    sce_to: str | None = None  # omemo:2: the envelope's <to/>


def sce_envelope(content: list[ET.Element], sender: str, recipient: str) -> bytes:
    env = ET.Element(f"{{{NS_SCE}}}envelope")
    holder = ET.SubElement(env, f"{{{NS_SCE}}}content")
    holder.extend(content)
    pad = base64.b64encode(os.urandom(12)).decode()[: 1 + os.urandom(1)[0] % 16]
    ET.SubElement(env, f"{{{NS_SCE}}}rpad").text = pad
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    ET.SubElement(env, f"{{{NS_SCE}}}time", stamp=stamp)
    ET.SubElement(env, f"{{{NS_SCE}}}to", jid=recipient)
    ET.SubElement(env, f"{{{NS_SCE}}}from", jid=sender)
    return ET.tostring(env)


def body_element(text: str) -> ET.Element:
    el = ET.Element(f"{{{NS_CLIENT}}}body")
    el.text = text
    return el


class ReferencePeer:
    def __init__(self, jid: str, password: str, address: str, ca_file: Path, version: str) -> None:
        self.jid = jid
        self.ns = NAMESPACES[version]
        self.version = version
        self.xmpp = slixmpp.ClientXMPP(f"{jid}/reference-{version}", password)
        self.xmpp.ssl_context = ssl.create_default_context(cafile=str(ca_file))
        self.xmpp.enable_direct_tls = False
        host, port = address.rsplit(":", 1)
        self._address = (host, int(port))
        for plugin in ("xep_0004", "xep_0030", "xep_0060", "xep_0334", "xep_0199"):
            self.xmpp.register_plugin(plugin)
        self.inbox: asyncio.Queue[Received] = asyncio.Queue()
        self.plain: asyncio.Queue[str] = asyncio.Queue()  # unencrypted bodies received
        self.errors: list[BaseException] = []
        self.sm: Any = None
        self.storage = MemoryStorage()  # the peer's whole OMEMO state, in memory
        self.xmpp.register_handler(
            CoroutineCallback("omemo in", StanzaPath("message"), self._on_message)
        )

    # Hooks slixmpp-omemo's session manager calls on "the plugin".
    _btbv_enabled = True

    async def _devices_blindly_trusted(self, devices: Any, identifier: Any) -> None:
        return None

    async def _prompt_manual_trust(self, devices: Any, identifier: Any) -> None:
        for d in devices:
            await self.sm.set_trust(d.bare_jid, d.identity_key, TrustLevel.TRUSTED.value)

    async def start(self) -> None:
        started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.xmpp.add_event_handler(
            "session_start", lambda _: started.done() or started.set_result(None)
        )
        self.xmpp.connect(*self._address)
        await asyncio.wait_for(started, 20)
        await self.xmpp.get_roster()
        self.xmpp.send_presence()
        backend = (oldmemo.Oldmemo if self.version == "legacy" else twomemo.Twomemo)(self.storage)
        impl = _make_session_manager(self.xmpp, self)  # type: ignore[arg-type]
        self.sm = await impl.create(
            [backend],
            self.storage,
            self.jid,
            initial_own_label=None,
            undecided_trust_level_name=TrustLevel.UNDECIDED.value,
        )
        await self.sm.after_history_sync()

    async def device_id(self) -> int:
        own, _ = await self.sm.get_own_device_information()
        return int(own.device_id)

    async def close(self) -> None:
        if self.sm is not None:
            await self.sm.shutdown()
        self.xmpp.disconnect()
        await asyncio.sleep(0)

    # ---- sending ------------------------------------------------------------------------

    async def send(
        self, to: str, text: str | None, *, content: list[ET.Element] | None = None
    ) -> None:
        """Encrypt `text` (or, omemo:2 only, arbitrary SCE content) for every device of `to`."""
        await self.sm.refresh_device_list(self.ns, to)
        if self.version == "legacy":
            assert text is not None
            plaintext = text.encode()
        else:
            plaintext = sce_envelope(content or [body_element(text or "")], self.jid, to)
        messages, errors = await self.sm.encrypt(
            frozenset([to]), {self.ns: plaintext}, backend_priority_order=[self.ns]
        )
        assert not errors, errors
        for message in messages:
            serialize = (
                oldmemo.etree.serialize_message
                if self.version == "legacy"
                else twomemo.etree.serialize_message
            )
            stanza = self.xmpp.make_message(mto=to, mtype="chat", mbody="[encrypted]")
            stanza.append(serialize(message))
            stanza.append(ET.Element(f"{{{NS_EME}}}encryption", namespace=self.ns))
            stanza.enable("store")
            stanza.send()

    # ---- receiving ----------------------------------------------------------------------

    async def _on_message(self, stanza: Any) -> None:
        xml: ET.Element = stanza.xml
        enc = xml.find(f"{{{self.ns}}}encrypted")
        if enc is None:
            body = xml.find(f"{{{NS_CLIENT}}}body")
            if body is not None and stanza["type"] != "error":
                self.plain.put_nowait(body.text or "")
            return
        sender = stanza["from"].bare
        try:
            await self.sm.refresh_device_list(self.ns, sender)
            if self.version == "legacy":
                message = await oldmemo.etree.parse_message(enc, sender, self.jid, self.sm)
            else:
                message = twomemo.etree.parse_message(enc, sender)
            plaintext, device, _ = await self.sm.decrypt(message)
        except Exception as exc:  # recorded for the test to assert on
            self.errors.append(exc)
            return
        if plaintext is None:
            self.inbox.put_nowait(Received(sender, device.device_id, None))
        elif self.version == "legacy":
            self.inbox.put_nowait(Received(sender, device.device_id, plaintext.decode()))
        else:
            self.inbox.put_nowait(self._open_envelope(sender, device.device_id, plaintext))

    def _open_envelope(self, sender: str, device: int, data: bytes) -> Received:
        env = ET.fromstring(data)
        assert env.tag == f"{{{NS_SCE}}}envelope", env.tag
        content = env.find(f"{{{NS_SCE}}}content")
        assert content is not None
        frm, to = env.find(f"{{{NS_SCE}}}from"), env.find(f"{{{NS_SCE}}}to")
        assert frm is not None and frm.get("jid", "").split("/")[0] == sender
        body = content.find(f"{{{NS_CLIENT}}}body")
        return Received(
            sender,
            device,
            body.text or "" if body is not None else None,
            sce_to=to.get("jid") if to is not None else None,
        )

    async def next(self, timeout: float = 20.0, *, skip_empty: bool = True) -> Received:
        while True:
            got = await asyncio.wait_for(self.inbox.get(), timeout)
            if got.body is not None or not skip_empty:
                return got
