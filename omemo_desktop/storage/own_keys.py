"""This account's own device: id, label and per-namespace pre-key state.

The identity key is not stored here (nor anywhere in the database): it lives in the keyring.
"""

from __future__ import annotations

import sqlite3

from omemo_desktop.storage.model import Namespace, OwnDevice, OwnPreKeys

__all__ = ["OwnDeviceRepository"]


class OwnDeviceRepository:
    def get(self, conn: sqlite3.Connection) -> OwnDevice | None:
        row = conn.execute("SELECT device_id, label, created_at FROM own_device").fetchone()
        return None if row is None else OwnDevice(row[0], row[1], row[2])

    def save(self, conn: sqlite3.Connection, device: OwnDevice) -> None:
        """Create or replace the own device record (there is exactly one per account)."""
        conn.execute(
            "INSERT INTO own_device (singleton, device_id, label, created_at) VALUES (1, ?, ?, ?)"
            " ON CONFLICT (singleton) DO UPDATE SET device_id = excluded.device_id,"
            " label = excluded.label, created_at = excluded.created_at",
            (device.device_id, device.label, device.created_at),
        )

    def set_label(self, conn: sqlite3.Connection, label: str | None) -> None:
        conn.execute("UPDATE own_device SET label = ?", (label,))

    def prekeys(self, conn: sqlite3.Connection, namespace: Namespace) -> OwnPreKeys | None:
        row = conn.execute(
            "SELECT state, updated_at FROM own_prekeys WHERE namespace = ?", (namespace,)
        ).fetchone()
        return None if row is None else OwnPreKeys(namespace, bytes(row[0]), row[1])

    def save_prekeys(self, conn: sqlite3.Connection, prekeys: OwnPreKeys) -> None:
        conn.execute(
            "INSERT INTO own_prekeys (namespace, state, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (namespace) DO UPDATE SET state = excluded.state,"
            " updated_at = excluded.updated_at",
            (prekeys.namespace, prekeys.state, prekeys.updated_at),
        )
