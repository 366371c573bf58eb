"""Archive cursors: where each XEP-0313 catch-up stopped."""

from __future__ import annotations

import sqlite3

__all__ = ["ArchiveCursorRepository"]


class ArchiveCursorRepository:
    def get(self, conn: sqlite3.Connection, archive: str) -> str | None:
        row = conn.execute(
            "SELECT last_id FROM archive_cursors WHERE archive = ?", (archive,)
        ).fetchone()
        return None if row is None else str(row[0])

    def set(self, conn: sqlite3.Connection, archive: str, last_id: str, now: float) -> None:
        conn.execute(
            "INSERT INTO archive_cursors (archive, last_id, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (archive) DO UPDATE SET last_id = excluded.last_id,"
            " updated_at = excluded.updated_at",
            (archive, last_id, now),
        )
