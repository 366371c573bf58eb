"""Fixtures of the reliability suite (helpers live in support.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from omemo_desktop.service.messenger import Messenger
from omemo_desktop.storage.secrets import SecretStore
from tests.helpers.memory_keyring import MemoryKeyring
from tests.helpers.prosody import ProsodyServer
from tests.reliability.support import PASSWORD, MakePeer, Peer


@pytest.fixture
async def peers(prosody: ProsodyServer, tmp_path: Path) -> AsyncIterator[MakePeer]:
    """make(name) -> a connected Peer with blind trust; call again after close() to restart."""
    made: list[Messenger] = []
    keyring = MemoryKeyring()
    registered: set[str] = set()

    async def make(name: str, *, keyring_backend: Any = None, password: str = PASSWORD) -> Peer:
        if name not in registered:
            prosody.register(name, password)
            registered.add(name)
        m = Messenger(
            data_dir=tmp_path / name,
            ca_file=prosody.ca_file,
            secrets=SecretStore(keyring_backend or keyring),
        )
        made.append(m)
        jid = f"{name}@localhost"
        peer = Peer(m, jid)  # subscribed before connecting: nothing delivered at login is missed
        if jid in m.accounts():
            await m.connect(jid)
        else:
            await m.add_account(jid, password, server=prosody.address)
        await m.set_trust_policy(jid, "blind")
        return peer

    make.keyring = keyring  # type: ignore[attr-defined]
    yield make
    for m in made:
        await m.close()
