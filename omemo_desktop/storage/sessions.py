"""Ratchet sessions with peer devices: opaque versioned blobs keyed by (namespace, jid, device).

Besides the current session, a device may have archived (previous) sessions, newest first,
which are only used to decrypt messages still arriving on them."""

from __future__ import annotations

import sqlite3

from omemo_desktop.storage.model import Namespace, Session

__all__ = ["SessionRepository"]


class SessionRepository:
    def get(
        self, conn: sqlite3.Connection, namespace: Namespace, jid: str, device_id: int
    ) -> Session | None:
        row = conn.execute(
            "SELECT state, updated_at FROM sessions"
            " WHERE namespace = ? AND jid = ? AND device_id = ?",
            (namespace, jid, device_id),
        ).fetchone()
        return None if row is None else Session(namespace, jid, device_id, bytes(row[0]), row[1])

    def save(self, conn: sqlite3.Connection, session: Session) -> None:
        conn.execute(
            "INSERT INTO sessions (namespace, jid, device_id, state, updated_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (namespace, jid, device_id)"
            " DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            (session.namespace, session.jid, session.device_id, session.state, session.updated_at),
        )

    def delete(
        self, conn: sqlite3.Connection, namespace: Namespace, jid: str, device_id: int
    ) -> bool:
        """Drop the session and its archive (a reset starts over completely)."""
        self.set_archive(conn, namespace, jid, device_id, (), 0.0)
        cur = conn.execute(
            "DELETE FROM sessions WHERE namespace = ? AND jid = ? AND device_id = ?",
            (namespace, jid, device_id),
        )
        return cur.rowcount > 0

    def archive(
        self, conn: sqlite3.Connection, namespace: Namespace, jid: str, device_id: int
    ) -> tuple[bytes, ...]:
        """The previous sessions of this device, newest first."""
        rows = conn.execute(
            "SELECT state FROM session_archive"
            " WHERE namespace = ? AND jid = ? AND device_id = ? ORDER BY slot",
            (namespace, jid, device_id),
        ).fetchall()
        return tuple(bytes(r[0]) for r in rows)

    def set_archive(
        self,
        conn: sqlite3.Connection,
        namespace: Namespace,
        jid: str,
        device_id: int,
        states: tuple[bytes, ...],
        updated_at: float,
    ) -> None:
        """Replace the archive of this device with `states` (newest first)."""
        conn.execute(
            "DELETE FROM session_archive WHERE namespace = ? AND jid = ? AND device_id = ?",
            (namespace, jid, device_id),
        )
        conn.executemany(
            "INSERT INTO session_archive (namespace, jid, device_id, slot, state, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(namespace, jid, device_id, i, s, updated_at) for i, s in enumerate(states)],
        )

    def for_jid(
        self, conn: sqlite3.Connection, namespace: Namespace, jid: str
    ) -> tuple[Session, ...]:
        rows = conn.execute(
            "SELECT device_id, state, updated_at FROM sessions"
            " WHERE namespace = ? AND jid = ? ORDER BY device_id",
            (namespace, jid),
        ).fetchall()
        return tuple(Session(namespace, jid, r[0], bytes(r[1]), r[2]) for r in rows)
