"""Storage: one SQLite database per account, and the OS keyring for secrets.

The service opens an account's `Database`, then calls the repositories (plain synchronous
objects taking the connection) through ``await db.run(fn)`` or, for anything that must be
atomic, ``await db.transaction(fn)``::

    with InstanceLock(data_dir):                     # before opening anything
        db = await Database.open(account_dir / "account.sqlite")
        sessions, messages, outbox = SessionRepository(), MessageRepository(), OutboxRepository()

        def persist(conn: sqlite3.Connection) -> Message:   # runs on the DB worker thread
            sessions.save(conn, Session(Namespace.OMEMO2, peer, device_id, new_state, now))
            stored = messages.add(conn, NewMessage(..., recipients=encrypted_for))
            outbox.enqueue(conn, stored.id, now)
            return stored

        stored = await db.transaction(persist)   # all three rows, or none
"""

from omemo_desktop.storage.db import SCHEMA_VERSION, Database, connect, transaction
from omemo_desktop.storage.devices import DeviceRepository
from omemo_desktop.storage.errors import (
    AnotherInstanceRunning,
    DatabaseError,
    DatabaseTooNew,
    DuplicateMessage,
    InsecureKeyring,
    KeyringFailed,
    KeyringLocked,
    KeyringUnavailable,
    NotOurDatabase,
    SecretsError,
    StorageBug,
    StorageError,
)
from omemo_desktop.storage.lock import InstanceLock
from omemo_desktop.storage.messages import MessageRepository
from omemo_desktop.storage.model import (
    Bundle,
    DeliveryState,
    Device,
    DeviceStatus,
    Direction,
    Encryption,
    Message,
    Namespace,
    NewMessage,
    OutboxEntry,
    OutboxState,
    OwnDevice,
    OwnPreKeys,
    Recipient,
    Session,
    TrustDecision,
    TrustMethod,
    TrustState,
)
from omemo_desktop.storage.outbox import OutboxRepository
from omemo_desktop.storage.own_keys import OwnDeviceRepository
from omemo_desktop.storage.secrets import SecretStore
from omemo_desktop.storage.sessions import SessionRepository
from omemo_desktop.storage.trust import TrustRepository

__all__ = [
    "SCHEMA_VERSION",
    "AnotherInstanceRunning",
    "Bundle",
    "Database",
    "DatabaseError",
    "DatabaseTooNew",
    "DeliveryState",
    "Device",
    "DeviceRepository",
    "DeviceStatus",
    "Direction",
    "DuplicateMessage",
    "Encryption",
    "InsecureKeyring",
    "InstanceLock",
    "KeyringFailed",
    "KeyringLocked",
    "KeyringUnavailable",
    "Message",
    "MessageRepository",
    "Namespace",
    "NewMessage",
    "NotOurDatabase",
    "OutboxEntry",
    "OutboxRepository",
    "OutboxState",
    "OwnDevice",
    "OwnDeviceRepository",
    "OwnPreKeys",
    "Recipient",
    "SecretStore",
    "SecretsError",
    "Session",
    "SessionRepository",
    "StorageBug",
    "StorageError",
    "TrustDecision",
    "TrustMethod",
    "TrustRepository",
    "TrustState",
    "connect",
    "transaction",
]
