"""Message history: storing, delivery state, dedupe, conversation pages and full-text search."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from omemo_desktop.storage.db import transaction
from omemo_desktop.storage.errors import DuplicateMessage
from omemo_desktop.storage.model import (
    DeliveryState,
    Direction,
    Encryption,
    Message,
    Namespace,
    NewMessage,
    Recipient,
    TrustState,
)

__all__ = ["MessageRepository", "fts_query"]

_INSERT_COLUMNS = (
    "conversation, direction, body, encryption, timestamp, stored_at, state, sender, stanza_id,"
    " origin_id, sender_device, trust, error, correction_of"
)
_COLUMNS = f"id, {_INSERT_COLUMNS}"
_M_COLUMNS = ", ".join(f"m.{c.strip()}" for c in _COLUMNS.split(","))
_INSERT = f"INSERT INTO messages ({_INSERT_COLUMNS}) VALUES ({', '.join('?' * 14)})"


def _row(m: NewMessage) -> tuple[object, ...]:
    return (
        m.conversation,
        m.direction,
        m.body,
        m.encryption,
        m.timestamp,
        m.stored_at,
        m.state,
        m.sender,
        m.stanza_id,
        m.origin_id,
        m.sender_device,
        m.trust,
        m.error,
        m.correction_of,
    )


def _message(r: Any) -> Message:
    return Message(
        id=r[0],
        conversation=r[1],
        direction=Direction(r[2]),
        body=r[3],
        encryption=Encryption(r[4]),
        timestamp=r[5],
        stored_at=r[6],
        state=DeliveryState(r[7]),
        sender=r[8],
        stanza_id=r[9],
        origin_id=r[10],
        sender_device=r[11],
        trust=None if r[12] is None else TrustState(r[12]),
        error=r[13],
        correction_of=r[14],
    )


def fts_query(text: str) -> str:
    """Turn what a person typed into a safe FTS5 query: every word must occur.

    Each whitespace-separated word becomes a quoted string, so FTS5 operators and punctuation
    in the input are matched as text instead of raising a syntax error.
    """
    words = text.replace("\x00", " ").split()  # FTS5 ends a query string at NUL
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


class MessageRepository:
    def add(self, conn: sqlite3.Connection, message: NewMessage) -> Message:
        """Store a message (and its recipients); raises `DuplicateMessage` when the
        conversation already holds its origin-id (same direction) or stanza-id."""
        with transaction(conn):
            try:
                cur = conn.execute(_INSERT, _row(message))
            except sqlite3.IntegrityError as exc:
                if "UNIQUE" in str(exc) and ("origin_id" in str(exc) or "stanza_id" in str(exc)):
                    raise DuplicateMessage(
                        f"message already stored in {message.conversation} "
                        f"(origin-id {message.origin_id!r}, stanza-id {message.stanza_id!r})"
                    ) from exc
                raise
            message_id = cur.lastrowid
            assert message_id is not None
            if message.recipients:
                self.add_recipients(conn, message_id, message.recipients)
        return Message(
            message_id,
            message.conversation,
            message.direction,
            message.body,
            message.encryption,
            message.timestamp,
            message.stored_at,
            message.state,
            message.sender,
            message.stanza_id,
            message.origin_id,
            message.sender_device,
            message.trust,
            message.error,
            message.correction_of,
        )

    def get(self, conn: sqlite3.Connection, message_id: int) -> Message | None:
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM messages WHERE id = ?", (message_id,)
        ).fetchone()
        return None if row is None else _message(row)

    def find_by_origin_id(
        self,
        conn: sqlite3.Connection,
        conversation: str,
        origin_id: str,
        direction: Direction | None = None,
    ) -> Message | None:
        sql = f"SELECT {_COLUMNS} FROM messages WHERE conversation = ? AND origin_id = ?"
        args: list[object] = [conversation, origin_id]
        if direction is not None:
            sql += " AND direction = ?"
            args.append(direction)
        row = conn.execute(sql + " ORDER BY id LIMIT 1", args).fetchone()
        return None if row is None else _message(row)

    def find_by_stanza_id(
        self, conn: sqlite3.Connection, conversation: str, stanza_id: str
    ) -> Message | None:
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM messages WHERE conversation = ? AND stanza_id = ?",
            (conversation, stanza_id),
        ).fetchone()
        return None if row is None else _message(row)

    def newest(
        self,
        conn: sqlite3.Connection,
        conversation: str,
        limit: int = 50,
        before: tuple[float, int] | None = None,
    ) -> tuple[Message, ...]:
        """The newest `limit` messages of a conversation, newest first.

        Page backwards with ``before=(timestamp, id)`` of the oldest message already shown.
        """
        if before is None:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE conversation = ?"
                " ORDER BY timestamp DESC, id DESC LIMIT ?",
                (conversation, limit),
            ).fetchall()
        else:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE conversation = ?"
                " AND (timestamp, id) < (?, ?) ORDER BY timestamp DESC, id DESC LIMIT ?",
                (conversation, before[0], before[1], limit),
            ).fetchall()
        return tuple(_message(r) for r in rows)

    def search(
        self,
        conn: sqlite3.Connection,
        text: str,
        limit: int = 50,
        conversation: str | None = None,
    ) -> tuple[Message, ...]:
        """Messages containing every word of `text`, most recently stored first."""
        query = fts_query(text)
        if not query:
            return ()
        sql = (
            f"SELECT {_M_COLUMNS} FROM messages_fts JOIN messages AS m ON m.id = messages_fts.rowid"
            " WHERE messages_fts MATCH ?"
        )
        args: list[object] = [query]
        if conversation is not None:
            sql += " AND m.conversation = ?"
            args.append(conversation)
        args.append(limit)
        rows = conn.execute(sql + " ORDER BY messages_fts.rowid DESC LIMIT ?", args).fetchall()
        return tuple(_message(r) for r in rows)

    def set_state(
        self,
        conn: sqlite3.Connection,
        message_id: int,
        state: DeliveryState,
        error: str | None = None,
    ) -> None:
        conn.execute(
            "UPDATE messages SET state = ?, error = ? WHERE id = ?", (state, error, message_id)
        )

    def set_stanza_id(self, conn: sqlite3.Connection, message_id: int, stanza_id: str) -> None:
        """Record the stanza-id our server gave an outgoing message (from its reflection/MAM)."""
        conn.execute("UPDATE messages SET stanza_id = ? WHERE id = ?", (stanza_id, message_id))

    def corrections(self, conn: sqlite3.Connection, message_id: int) -> tuple[Message, ...]:
        """Messages correcting `message_id` (XEP-0308), oldest first."""
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM messages WHERE correction_of = ? ORDER BY timestamp, id",
            (message_id,),
        ).fetchall()
        return tuple(_message(r) for r in rows)

    def add_recipients(
        self, conn: sqlite3.Connection, message_id: int, recipients: Iterable[Recipient]
    ) -> None:
        conn.executemany(
            "INSERT OR IGNORE INTO message_recipients (message_id, namespace, jid, device_id)"
            " VALUES (?, ?, ?, ?)",
            ((message_id, r.namespace, r.jid, r.device_id) for r in recipients),
        )

    def recipients(self, conn: sqlite3.Connection, message_id: int) -> tuple[Recipient, ...]:
        rows = conn.execute(
            "SELECT namespace, jid, device_id FROM message_recipients WHERE message_id = ?"
            " ORDER BY namespace, jid, device_id",
            (message_id,),
        ).fetchall()
        return tuple(Recipient(Namespace(r[0]), r[1], r[2]) for r in rows)

    def count(self, conn: sqlite3.Connection, conversation: str | None = None) -> int:
        if conversation is None:
            return int(conn.execute("SELECT count(*) FROM messages").fetchone()[0])
        return int(
            conn.execute(
                "SELECT count(*) FROM messages WHERE conversation = ?", (conversation,)
            ).fetchone()[0]
        )

    def bulk_import(self, conn: sqlite3.Connection, messages: Iterable[NewMessage]) -> int:
        """Store many messages at once (history import, MAM catch-up) in one transaction.

        Duplicates (by origin-id/stanza-id) are skipped silently. The per-row full-text trigger
        is suspended and the new rows are indexed in one pass afterwards, which is several
        times faster than indexing row by row. Recipients are not supported here. Returns the
        number of messages stored.
        """
        with transaction(conn):
            trigger_sql = conn.execute(
                "SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND name = ?",
                ("messages_fts_insert",),
            ).fetchone()[0]
            before_max = int(
                conn.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0]
            )
            before_count = self.count(conn)
            conn.execute("DROP TRIGGER messages_fts_insert")

            def rows() -> Iterable[tuple[object, ...]]:
                for m in messages:
                    if m.recipients:
                        raise ValueError("bulk_import does not store recipients; use add()")
                    yield _row(m)

            inserted = conn.executemany(_INSERT.replace("INSERT", "INSERT OR IGNORE", 1), rows())
            stored = inserted.rowcount
            if before_count == 0:
                conn.execute("INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')")
            else:
                conn.execute(
                    "INSERT INTO messages_fts (rowid, body) SELECT id, body FROM messages"
                    " WHERE id > ?",
                    (before_max,),
                )
            conn.execute(trigger_sql)
        return stored
