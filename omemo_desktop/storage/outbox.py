"""The outbox: outgoing messages waiting to be sent, with a persisted state."""

from __future__ import annotations

import sqlite3

from omemo_desktop.storage.model import OutboxEntry, OutboxState

__all__ = ["OutboxRepository"]

_COLUMNS = "message_id, state, attempts, last_error, next_attempt_at, created_at"


def _entry(row: tuple[int, str, int, str | None, float, float]) -> OutboxEntry:
    return OutboxEntry(row[0], OutboxState(row[1]), row[2], row[3], row[4], row[5])


class OutboxRepository:
    def enqueue(
        self,
        conn: sqlite3.Connection,
        message_id: int,
        now: float,
        state: OutboxState = OutboxState.QUEUED,
    ) -> OutboxEntry:
        """Put a stored outgoing message into the outbox (same transaction as storing it)."""
        conn.execute(
            f"INSERT INTO outbox ({_COLUMNS}) VALUES (?, ?, 0, NULL, ?, ?)",
            (message_id, state, now, now),
        )
        return OutboxEntry(message_id, state, 0, None, now, now)

    def get(self, conn: sqlite3.Connection, message_id: int) -> OutboxEntry | None:
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM outbox WHERE message_id = ?", (message_id,)
        ).fetchone()
        return None if row is None else _entry(row)

    def due(
        self, conn: sqlite3.Connection, now: float, limit: int = 100
    ) -> tuple[OutboxEntry, ...]:
        """Queued entries whose time has come, oldest first."""
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM outbox WHERE state = 'queued' AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at, message_id LIMIT ?",
            (now, limit),
        ).fetchall()
        return tuple(_entry(r) for r in rows)

    def all(self, conn: sqlite3.Connection) -> tuple[OutboxEntry, ...]:
        rows = conn.execute(f"SELECT {_COLUMNS} FROM outbox ORDER BY message_id").fetchall()
        return tuple(_entry(r) for r in rows)

    def set_state(
        self,
        conn: sqlite3.Connection,
        message_id: int,
        state: OutboxState,
        *,
        error: str | None = None,
        next_attempt_at: float | None = None,
    ) -> None:
        """Move an entry to `state`; entering SENDING counts one attempt."""
        conn.execute(
            "UPDATE outbox SET state = ?, last_error = coalesce(?, last_error),"
            " next_attempt_at = coalesce(?, next_attempt_at),"
            " attempts = attempts + (? = 'sending') WHERE message_id = ?",
            (state, error, next_attempt_at, state, message_id),
        )

    def requeue_interrupted(self, conn: sqlite3.Connection, now: float) -> int:
        """After a restart: entries left SENDING go back to QUEUED (resent with the same
        origin-id, so receivers can drop a duplicate). Returns how many."""
        cur = conn.execute(
            "UPDATE outbox SET state = 'queued', next_attempt_at = ? WHERE state = 'sending'",
            (now,),
        )
        return cur.rowcount

    def remove(self, conn: sqlite3.Connection, message_id: int) -> bool:
        """The server acknowledged the message: it leaves the outbox."""
        return conn.execute("DELETE FROM outbox WHERE message_id = ?", (message_id,)).rowcount > 0
