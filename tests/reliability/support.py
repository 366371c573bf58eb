"""Shared pieces for the reliability suite: in-process peers on the real Prosody, event
collection, and snapshots of the state a hostile stanza must never change."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from omemo_desktop.service.api import Event, MessageReceived
from omemo_desktop.service.events import DecryptionFailed
from omemo_desktop.service.messenger import Messenger
from omemo_desktop.service.omemo_account import OmemoAccount

PASSWORD = "pw-reliability"


class Peer:
    """One of our clients (a Messenger with one account) and everything it published."""

    def __init__(self, messenger: Messenger, jid: str) -> None:
        self.m, self.jid = messenger, jid
        self.events: list[Event] = []
        self._changed = asyncio.Event()
        messenger.events.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    @property
    def acc(self) -> OmemoAccount:
        return self.m._omemo(self.jid)

    def received(self) -> list[MessageReceived]:
        return [e for e in self.events if isinstance(e, MessageReceived)]

    def bodies(self) -> list[str]:
        return [e.message.body for e in self.received() if not e.message.notice]

    def notices(self) -> list[MessageReceived]:
        return [e for e in self.received() if e.message.notice]

    def failures(self) -> list[DecryptionFailed]:
        return [e for e in self.events if isinstance(e, DecryptionFailed)]

    async def wait_for(self, what: Callable[[], bool], timeout: float = 30.0) -> None:
        async def loop() -> None:
            while not what():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(loop(), timeout)

    async def wait_bodies(self, wanted: list[str], timeout: float = 30.0) -> None:
        """Until every body in `wanted` was received at least once."""
        try:
            await self.wait_for(lambda: set(wanted) <= set(self.bodies()), timeout)
        except TimeoutError:
            missing = [b for b in wanted if b not in self.bodies()]
            raise AssertionError(f"{self.jid} never received {missing}") from None


MakePeer = Callable[..., Awaitable[Peer]]


async def session_state(acc: OmemoAccount) -> dict[str, list[tuple[Any, ...]]]:
    """Every row a decryption may change: ratchet sessions (current and archived) and our
    own pre-keys."""

    def read(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
        return {
            "sessions": conn.execute(
                "SELECT namespace, jid, device_id, state FROM sessions ORDER BY 1, 2, 3"
            ).fetchall(),
            "session_archive": conn.execute(
                "SELECT namespace, jid, device_id, slot, state FROM session_archive"
                " ORDER BY 1, 2, 3, 4"
            ).fetchall(),
            "own_prekeys": conn.execute(
                "SELECT namespace, state FROM own_prekeys ORDER BY 1"
            ).fetchall(),
        }

    return await acc.db.run(read)


async def stored_bodies(acc: OmemoAccount, peer: str) -> list[str]:
    """Bodies of the received (not notice) messages of one conversation, oldest first."""
    rows = await acc.db.run(
        lambda c: c.execute(
            "SELECT body FROM messages WHERE conversation = ? AND direction = 'in'"
            " AND (error IS NULL OR error != 'undecryptable') ORDER BY id",
            (peer,),
        ).fetchall()
    )
    return [r[0] for r in rows]


def exactly_once(bodies: list[str], wanted: list[str]) -> None:
    missing = [b for b in wanted if b not in bodies]
    doubled = sorted({b for b in bodies if bodies.count(b) > 1})
    assert not missing and not doubled, f"lost {missing}, duplicated {doubled}"
