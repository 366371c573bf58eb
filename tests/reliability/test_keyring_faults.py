"""The keyring absent or locked, at the service level against the real server: one clear,
actionable sentence, nothing half-set-up, and once the keyring is back every message that
arrived meanwhile is delivered exactly once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keyring.errors
import pytest

from omemo_desktop.service.api import ConnectionStateChanged, Event, KeyringUnavailable
from omemo_desktop.service.messenger import Messenger
from omemo_desktop.storage.secrets import SecretStore
from tests.helpers.memory_keyring import MemoryKeyring
from tests.helpers.prosody import ProsodyServer
from tests.reliability.support import PASSWORD, MakePeer, exactly_once, stored_bodies


class LockableKeyring(MemoryKeyring):
    """A keyring whose owner can lock it, as the Secret Service does after a timeout."""

    locked = False

    def _check(self) -> None:
        if self.locked:
            raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    def get_password(self, service: str, username: str) -> str | None:
        self._check()
        return super().get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self._check()
        super().set_password(service, username, password)


async def test_no_keyring_is_explained_and_nothing_is_set_up(
    prosody: ProsodyServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    prosody.register("carol", PASSWORD)
    m = Messenger(data_dir=tmp_path / "carol", ca_file=prosody.ca_file)
    try:
        with pytest.raises(KeyringUnavailable, match="GNOME Keyring or KWallet"):
            await m.add_account("carol@localhost", PASSWORD, server=prosody.address)
        assert m.accounts() == []
    finally:
        await m.close()
    leftovers = [p.name for p in (tmp_path / "carol").rglob("*") if p.is_file()]
    assert set(leftovers) <= {"omemo-desktop.lock"}, leftovers


async def test_locked_keyring_is_explained_and_messages_wait_until_it_is_unlocked(
    peers: MakePeer, prosody: ProsodyServer, tmp_path: Path
) -> None:
    vault = LockableKeyring()
    alice, bob = await peers("alice"), await peers("bob", keyring_backend=vault)
    await alice.m.send_message(alice.jid, bob.jid, "before")
    await bob.wait_bodies(["before"])
    await bob.m.close()

    wanted = [f"while locked {i}" for i in range(3)]
    for text in wanted:
        await alice.m.send_message(alice.jid, bob.jid, text)

    vault.locked = True
    events: list[Event] = []
    m = Messenger(data_dir=tmp_path / "bob", ca_file=prosody.ca_file, secrets=SecretStore(vault))
    m.events.subscribe(events.append)
    try:
        with pytest.raises(KeyringUnavailable, match=r"locked.*Unlock it"):
            await m.connect(bob.jid)
        assert m.connection_state(bob.jid) == "disconnected"
        # The GUI's start-up path reports the same sentence as an event, and keeps running.
        await m.start()
        for task in m._starting:
            await task
        failed: list[Any] = [
            e for e in events if isinstance(e, ConnectionStateChanged) and e.state == "failed"
        ]
        assert failed and "Unlock it" in (failed[-1].error or "")
    finally:
        await m.close()

    # A locked keyring while adding an account: refused, nothing registered.
    prosody.register("dave", PASSWORD)
    m = Messenger(data_dir=tmp_path / "dave", ca_file=prosody.ca_file, secrets=SecretStore(vault))
    try:
        with pytest.raises(KeyringUnavailable, match="locked"):
            await m.add_account("dave@localhost", PASSWORD, server=prosody.address)
        assert m.accounts() == []
    finally:
        await m.close()

    vault.locked = False
    bob = await peers("bob", keyring_backend=vault)
    await bob.wait_bodies(wanted)
    exactly_once(await stored_bodies(bob.acc, alice.jid), ["before", *wanted])
