"""Ratchet sessions with peer devices: opaque versioned blobs keyed by (namespace, jid, device)."""

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
        cur = conn.execute(
            "DELETE FROM sessions WHERE namespace = ? AND jid = ? AND device_id = ?",
            (namespace, jid, device_id),
        )
        return cur.rowcount > 0

    def for_jid(
        self, conn: sqlite3.Connection, namespace: Namespace, jid: str
    ) -> tuple[Session, ...]:
        rows = conn.execute(
            "SELECT device_id, state, updated_at FROM sessions"
            " WHERE namespace = ? AND jid = ? ORDER BY device_id",
            (namespace, jid),
        ).fetchall()
        return tuple(Session(namespace, jid, r[0], bytes(r[1]), r[2]) for r in rows)
