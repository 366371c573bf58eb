"""Secrets go to the keyring only: after a scripted session, no file in the data directory
contains the password or the identity seed, raw or base64."""

from __future__ import annotations

import base64
import logging
import os
import sqlite3
import time
from pathlib import Path

import pytest

from omemo_desktop.storage import (
    Database,
    DeliveryState,
    DeviceRepository,
    Direction,
    Encryption,
    InstanceLock,
    MessageRepository,
    Namespace,
    NewMessage,
    OutboxRepository,
    OwnDevice,
    OwnDeviceRepository,
    OwnPreKeys,
    Recipient,
    SecretStore,
    Session,
    SessionRepository,
    TrustDecision,
    TrustMethod,
    TrustRepository,
    TrustState,
)
from tests.helpers.memory_keyring import MemoryKeyring

JID = "alice@example.org"
PEER = "bob@example.org"


async def test_no_secret_reaches_the_data_directory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    password = "pw-" + os.urandom(12).hex()
    seed = os.urandom(32)
    needles = {
        "password": password.encode(),
        "seed": seed,
        "seed base64": base64.b64encode(seed),
        "seed hex": seed.hex().encode(),
        "password base64": base64.b64encode(password.encode()),
    }
    backend = MemoryKeyring()
    secrets = SecretStore(backend)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with InstanceLock(data_dir):
        await secrets.store_password(JID, password)
        await secrets.store_identity_seed(JID, seed)
        async with await Database.open(data_dir / "account.sqlite") as db:
            own, devices, sessions = OwnDeviceRepository(), DeviceRepository(), SessionRepository()
            trust, messages, outbox = TrustRepository(), MessageRepository(), OutboxRepository()
            now = time.time()
            await db.transaction(lambda c: own.save(c, OwnDevice(4242, "laptop", now)))
            await db.run(
                lambda c: own.save_prekeys(c, OwnPreKeys(Namespace.OMEMO2, os.urandom(200), now))
            )
            await db.transaction(
                lambda c: devices.apply_device_list(c, Namespace.OMEMO2, PEER, {7: "phone"}, now)
            )
            decision = TrustDecision(
                PEER, os.urandom(32), TrustState.TRUSTED, TrustMethod.TOFU, now
            )
            await db.run(lambda c: trust.set(c, decision))
            for i in range(20):
                state = os.urandom(300)

                def send(c: sqlite3.Connection, i: int = i, state: bytes = state) -> None:
                    sessions.save(c, Session(Namespace.OMEMO2, PEER, 7, state, now + i))
                    m = messages.add(
                        c,
                        NewMessage(
                            conversation=PEER,
                            direction=Direction.OUT,
                            body=f"message {i}",
                            encryption=Encryption.OMEMO2,
                            timestamp=now + i,
                            stored_at=now + i,
                            state=DeliveryState.PENDING,
                            origin_id=f"o{i}",
                            recipients=(Recipient(Namespace.OMEMO2, PEER, 7),),
                        ),
                    )
                    outbox.enqueue(c, m.id, now + i)

                await db.transaction(send)
            assert await secrets.load_password(JID) == password
        assert await secrets.load_identity_seed(JID) == seed
    secrets.close()

    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.name == "account.sqlite" for p in files)
    for path in files:
        content = path.read_bytes()
        for what, needle in needles.items():
            assert needle not in content, f"{what} found in {path}"
    for record in caplog.records:
        text = record.getMessage().encode()
        assert all(needle not in text for needle in needles.values()), record
