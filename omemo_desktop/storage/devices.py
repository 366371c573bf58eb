"""Peers' device lists per namespace, and their cached bundles."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from omemo_desktop.storage.model import Bundle, Device, DeviceStatus, Namespace

__all__ = ["DeviceRepository"]

_COLUMNS = "namespace, jid, device_id, label, first_seen, last_seen, status"


def _device(row: tuple[str, str, int, str | None, float, float, str]) -> Device:
    return Device(Namespace(row[0]), row[1], row[2], row[3], row[4], row[5], DeviceStatus(row[6]))


class DeviceRepository:
    def apply_device_list(
        self,
        conn: sqlite3.Connection,
        namespace: Namespace,
        jid: str,
        listed: Mapping[int, str | None],
        now: float,
    ) -> tuple[Device, ...]:
        """Record a freshly received device list (device id -> label).

        Listed devices become active (labels updated, `last_seen` is now); known devices that
        are no longer listed become inactive. Returns the devices never seen before, so the
        caller can ask for trust decisions. Call inside a transaction for one atomic update.
        """
        known = {d.device_id: d for d in self.for_jid(conn, jid, namespace)}
        new: list[Device] = []
        for device_id, label in listed.items():
            if device_id in known:
                conn.execute(
                    "UPDATE devices SET label = ?, last_seen = ?, status = 'active'"
                    " WHERE namespace = ? AND jid = ? AND device_id = ?",
                    (label, now, namespace, jid, device_id),
                )
            else:
                device = Device(namespace, jid, device_id, label, now, now, DeviceStatus.ACTIVE)
                self.save(conn, device)
                new.append(device)
        for device_id, device in known.items():
            if device_id not in listed and device.status is not DeviceStatus.INACTIVE:
                self.set_status(conn, namespace, jid, device_id, DeviceStatus.INACTIVE)
        return tuple(new)

    def save(self, conn: sqlite3.Connection, device: Device) -> None:
        conn.execute(
            f"INSERT INTO devices ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (namespace, jid, device_id) DO UPDATE SET label = excluded.label,"
            " first_seen = min(first_seen, excluded.first_seen),"
            " last_seen = max(last_seen, excluded.last_seen), status = excluded.status",
            (
                device.namespace,
                device.jid,
                device.device_id,
                device.label,
                device.first_seen,
                device.last_seen,
                device.status,
            ),
        )

    def get(
        self, conn: sqlite3.Connection, namespace: Namespace, jid: str, device_id: int
    ) -> Device | None:
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM devices WHERE namespace = ? AND jid = ? AND device_id = ?",
            (namespace, jid, device_id),
        ).fetchone()
        return None if row is None else _device(row)

    def for_jid(
        self,
        conn: sqlite3.Connection,
        jid: str,
        namespace: Namespace | None = None,
        *,
        active_only: bool = False,
    ) -> tuple[Device, ...]:
        sql = f"SELECT {_COLUMNS} FROM devices WHERE jid = ?"
        args: list[object] = [jid]
        if namespace is not None:
            sql += " AND namespace = ?"
            args.append(namespace)
        if active_only:
            sql += " AND status = 'active'"
        rows = conn.execute(sql + " ORDER BY namespace, device_id", args).fetchall()
        return tuple(_device(r) for r in rows)

    def set_status(
        self,
        conn: sqlite3.Connection,
        namespace: Namespace,
        jid: str,
        device_id: int,
        status: DeviceStatus,
    ) -> None:
        conn.execute(
            "UPDATE devices SET status = ? WHERE namespace = ? AND jid = ? AND device_id = ?",
            (status, namespace, jid, device_id),
        )

    def mark_seen(
        self, conn: sqlite3.Connection, namespace: Namespace, jid: str, device_id: int, now: float
    ) -> None:
        """A message arrived from the device: it is alive (stale becomes active again)."""
        conn.execute(
            "UPDATE devices SET last_seen = max(last_seen, ?),"
            " status = CASE status WHEN 'stale' THEN 'active' ELSE status END"
            " WHERE namespace = ? AND jid = ? AND device_id = ?",
            (now, namespace, jid, device_id),
        )

    def mark_stale(self, conn: sqlite3.Connection, silent_since: float) -> int:
        """Active devices not seen since `silent_since` become stale; returns how many."""
        cur = conn.execute(
            "UPDATE devices SET status = 'stale' WHERE status = 'active' AND last_seen < ?",
            (silent_since,),
        )
        return cur.rowcount

    def save_bundle(self, conn: sqlite3.Connection, bundle: Bundle) -> None:
        conn.execute(
            "INSERT INTO bundles (namespace, jid, device_id, bundle, fetched_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (namespace, jid, device_id)"
            " DO UPDATE SET bundle = excluded.bundle, fetched_at = excluded.fetched_at",
            (bundle.namespace, bundle.jid, bundle.device_id, bundle.bundle, bundle.fetched_at),
        )

    def bundle(
        self, conn: sqlite3.Connection, namespace: Namespace, jid: str, device_id: int
    ) -> Bundle | None:
        row = conn.execute(
            "SELECT bundle, fetched_at FROM bundles"
            " WHERE namespace = ? AND jid = ? AND device_id = ?",
            (namespace, jid, device_id),
        ).fetchone()
        return None if row is None else Bundle(namespace, jid, device_id, bytes(row[0]), row[1])

    def delete_bundle(
        self, conn: sqlite3.Connection, namespace: Namespace, jid: str, device_id: int
    ) -> None:
        conn.execute(
            "DELETE FROM bundles WHERE namespace = ? AND jid = ? AND device_id = ?",
            (namespace, jid, device_id),
        )
