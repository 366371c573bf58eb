"""In-process clients of ours (a `Messenger` each, own data dir, one shared in-memory keyring)
for fast integration tests against the real Prosody.

`Client` records every event the service publishes, so a test can wait for a condition on
them (no fixed sleeps) and afterwards count that something happened exactly once.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from omemo_desktop.service.api import Event, MessageReceived
from omemo_desktop.service.messenger import Messenger
from omemo_desktop.service.omemo_account import OmemoAccount
from omemo_desktop.storage.secrets import SecretStore
from tests.helpers.memory_keyring import MemoryKeyring
from tests.helpers.prosody import ProsodyServer

E = TypeVar("E")
PASSWORD = "pw"


class Client:
    def __init__(self, messenger: Messenger, jid: str) -> None:
        self.m, self.jid = messenger, jid
        self.events: list[Event] = []
        self._changed = asyncio.Event()
        self.wire: list[ET.Element] = []  # stanzas written by this client (see capture_wire)
        self._taken = 0  # MessageReceived events already handed out by next_received
        messenger.events.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    @property
    def acc(self) -> OmemoAccount:
        return self.m._omemo(self.jid)

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    def received(self, peer: str | None = None) -> list[MessageReceived]:
        return [
            e
            for e in self.of(MessageReceived)
            if peer is None or (e.message.peer == peer and not e.message.notice)
        ]

    def bodies(self, peer: str | None = None) -> list[str]:
        return [e.message.body for e in self.received(peer)]

    async def until(self, cond: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
        """Wait until `cond()` holds; it is re-checked after every event."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self._changed.clear()
            if cond():
                return
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what or cond}; events: {self.events}")
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                continue

    async def wait_event(
        self, kind: type[E], pred: Callable[[E], bool] = lambda e: True, timeout: float = 20.0
    ) -> E:
        await self.until(lambda: any(pred(e) for e in self.of(kind)), timeout, kind.__name__)
        return next(e for e in self.of(kind) if pred(e))

    async def wait_bodies(self, peer: str, count: int, timeout: float = 20.0) -> list[str]:
        await self.until(lambda: len(self.bodies(peer)) >= count, timeout, f"{count} messages")
        return self.bodies(peer)

    async def next_received(self, timeout: float = 20.0) -> MessageReceived:
        """The next message event not yet handed out by this method, in arrival order."""
        await self.until(lambda: len(self.of(MessageReceived)) > self._taken, timeout, "a message")
        self._taken += 1
        return self.of(MessageReceived)[self._taken - 1]

    async def next_body(self, timeout: float = 20.0) -> tuple[str, str]:
        """(body, encryption) of the next message event."""
        message = (await self.next_received(timeout)).message
        return message.body, message.encryption

    def capture_wire(self) -> None:
        """Record every stanza our XMPP layer writes (to assert on what went on the wire)."""
        client = self.acc.client
        original = client.send

        def send(element: ET.Element) -> None:
            self.wire.append(element)
            original(element)

        client.send = send  # type: ignore[method-assign]


async def eventually(
    cond: Callable[[], Awaitable[bool]], timeout: float = 20.0, what: str = ""
) -> None:
    """Poll an async condition (for state that publishes no event: a device list, history)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await cond():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or cond}")
        await asyncio.sleep(0.05)


class Clients:
    """Makes (and closes) in-process clients; several data dirs may share one account."""

    def __init__(self, prosody: ProsodyServer, root: Path) -> None:
        self.prosody = prosody
        self.root = root
        self.keyring = MemoryKeyring()
        self.made: list[Messenger] = []
        self._registered: set[str] = set()

    def register(self, user: str) -> str:
        if user not in self._registered:
            self.prosody.register(user, PASSWORD)
            self._registered.add(user)
        return f"{user}@localhost"

    async def make(
        self,
        user: str,
        data: str | None = None,
        *,
        policy: str = "blind",
        messenger: type[Messenger] = Messenger,
    ) -> Client:
        jid = self.register(user)
        m = messenger(
            data_dir=self.root / (data or user),
            ca_file=self.prosody.ca_file,
            secrets=SecretStore(self.keyring),
        )
        self.made.append(m)
        client = Client(m, jid)  # subscribed before connecting: nothing published is missed
        if jid in m.accounts():
            await m.connect(jid)
        else:
            await m.add_account(jid, PASSWORD, server=self.prosody.address)
        await m.set_trust_policy(jid, policy)
        return client

    async def close(self, client: Client) -> None:
        await client.m.close()
        self.made.remove(client.m)

    async def close_all(self) -> None:
        for m in list(self.made):
            await m.close()
        self.made.clear()
