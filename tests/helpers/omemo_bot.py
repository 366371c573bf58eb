"""A test-only OMEMO peer built on Syndace's slixmpp-omemo (the reference implementation).

It logs into the test Prosody, publishes its own keys, trusts blindly (BTBV) and can join rooms,
so tests can check that what we send decrypts in someone else's code and the other way round.
slixmpp-omemo 2.2 speaks legacy OMEMO only (see PLATFORM-NOTES). Never imported by the app.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
from typing import Any

import omemo
from omemo.types import DeviceInformation
from slixmpp import JID, ClientXMPP
from slixmpp.plugins import register_plugin
from slixmpp.stanza import Message
from slixmpp_omemo import XEP_0384

from tests.helpers.reference_storage import MemoryStorage

TWOMEMO_DEVICES = "urn:xmpp:omemo:2:devices"


class XEP_0384Bot(XEP_0384):  # slixmpp's plugin naming
    default_config = {"fallback_message": "This message is OMEMO encrypted."}  # noqa: RUF012

    def plugin_init(self) -> None:
        self._storage = MemoryStorage()
        super().plugin_init()

    @property
    def storage(self) -> omemo.Storage:
        return self._storage

    @property
    def _btbv_enabled(self) -> bool:
        return True

    async def _devices_blindly_trusted(
        self, blindly_trusted: frozenset[DeviceInformation], identifier: str | None
    ) -> None:
        return None

    async def _prompt_manual_trust(
        self, manually_trusted: frozenset[DeviceInformation], identifier: str | None
    ) -> None:
        manager = await self.get_session_manager()
        for device in manually_trusted:
            await manager.set_trust(device.bare_jid, device.identity_key, "BLINDLY_TRUSTED")


register_plugin(XEP_0384Bot, name="xep_0384")


class OmemoBot(ClientXMPP):  # type: ignore[misc]
    """Received plaintexts land in `inbox` as (room or sender bare JID, body)."""

    def __init__(self, jid: str, password: str, ca_file: str) -> None:
        super().__init__(jid, password)
        self.enable_direct_tls = False
        self.ssl_context = ssl.create_default_context(cafile=ca_file)
        self.inbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self.ready = asyncio.Event()
        self.nicks: dict[str, str] = {}
        for plugin in ("xep_0030", "xep_0045", "xep_0060", "xep_0199", "xep_0280", "xep_0334"):
            self.register_plugin(plugin)
        self.register_plugin("xep_0384", module=sys.modules[__name__])
        self.add_event_handler("session_start", self._started)
        self.add_event_handler("omemo_initialized", lambda _: self.ready.set())
        self.add_event_handler("message", self._on_message)  # groupchat ones included

    async def _started(self, _: Any) -> None:
        self.send_presence()
        await self.get_roster()

    async def _on_message(self, stanza: Message) -> None:
        plugin = self.plugin["xep_0384"]
        if not plugin.is_encrypted(stanza):
            return
        if stanza["type"] == "groupchat" and stanza["from"].resource == self.nicks.get(
            stanza["from"].bare
        ):
            return  # our own message reflected by the room
        decrypted, _device = await plugin.decrypt_message(stanza)
        if decrypted["body"]:
            self.inbox.put_nowait((stanza["from"].bare, decrypted["body"]))

    async def join_room(self, room: str, nick: str, *, create: bool = False) -> None:
        """Join; with `create`, a new room is unlocked with the server's default settings."""
        self.nicks[room] = nick
        muc = self.plugin["xep_0045"]
        await muc.join_muc_wait(JID(room), nick, maxstanzas=0, timeout=20)
        if create:
            form = self.plugin["xep_0004"].make_form(ftype="submit")  # an instant room
            await muc.set_room_config(JID(room), form)

    async def send_encrypted(self, to: str, body: str, members: set[str] | None = None) -> None:
        """1:1 when `members` is None, else a groupchat message encrypted for those members."""
        mtype = "chat" if members is None else "groupchat"
        stanza = self.make_message(mto=JID(to), mtype=mtype)
        stanza["body"] = body
        recipients = {JID(to)} if members is None else {JID(j) for j in members}
        plugin = self.plugin["xep_0384"]
        await plugin.refresh_device_lists(recipients, force_download=True)
        encrypted, errors = await plugin.encrypt_message(stanza, recipients)
        if encrypted is None:
            raise RuntimeError(f"slixmpp-omemo could not encrypt: {errors}")
        encrypted.send()

    async def start(self, address: tuple[str, int], *, legacy_only: bool = True) -> None:
        self.connect(host=address[0], port=address[1])
        await asyncio.wait_for(self.ready.wait(), 30)
        if legacy_only:
            # slixmpp-omemo announces omemo:2 but cannot read SCE envelopes; withdrawing the
            # omemo:2 device list makes it look like the legacy-only clients most people use.
            await self.plugin["xep_0060"].delete_node(self.boundjid.bare, TWOMEMO_DEVICES)

    async def stop(self) -> None:
        self.disconnect()
        await asyncio.sleep(0.1)
