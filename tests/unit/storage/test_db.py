"""Opening, pragmas, migrations, refusal of newer/foreign files, transactions, the facade."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from omemo_desktop.storage.db import (
    APPLICATION_ID,
    MIGRATIONS,
    SCHEMA_VERSION,
    Database,
    connect,
    load_migrations,
    schema_version,
    transaction,
)
from omemo_desktop.storage.errors import (
    DatabaseError,
    DatabaseTooNew,
    NotOurDatabase,
    StorageError,
)


def test_new_database_is_current_wal_with_foreign_keys(conn: sqlite3.Connection) -> None:
    assert schema_version(conn) == SCHEMA_VERSION == len(MIGRATIONS) >= 2
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


def test_migrations_are_numbered_without_gaps() -> None:
    versions = [m.version for m in load_migrations()]
    assert versions == list(range(1, len(versions) + 1))


def test_reopening_is_idempotent(db_path: Path) -> None:
    connect(db_path).close()
    again = connect(db_path)
    assert schema_version(again) == SCHEMA_VERSION
    again.close()


def test_newer_database_is_refused_and_left_untouched(db_path: Path) -> None:
    raw = sqlite3.connect(db_path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    raw.execute("CREATE TABLE future (x)")
    raw.commit()
    raw.close()
    before = db_path.read_bytes()
    with pytest.raises(DatabaseTooNew) as info:
        connect(db_path)
    message = str(info.value)
    assert "newer version of omemo-desktop" in message
    assert str(SCHEMA_VERSION + 5) in message and "--data-dir" in message
    assert db_path.read_bytes() == before
    assert not Path(f"{db_path}-wal").exists()


async def test_newer_database_is_refused_through_the_facade(db_path: Path) -> None:
    raw = sqlite3.connect(db_path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(DatabaseTooNew):
        await Database.open(db_path)


def test_foreign_database_is_refused(db_path: Path) -> None:
    raw = sqlite3.connect(db_path)
    raw.execute("CREATE TABLE someone_elses (x)")
    raw.commit()
    raw.close()
    with pytest.raises(NotOurDatabase, match="not create"):
        connect(db_path)


def test_garbage_file_is_a_database_error(db_path: Path) -> None:
    db_path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(DatabaseError, match="cannot be read"):
        connect(db_path)


def test_transaction_commits_or_rolls_back(conn: sqlite3.Connection) -> None:
    with transaction(conn):
        conn.execute("INSERT INTO trust VALUES ('a@x', x'01', 'trusted', 'manual', 1.0)")
    with pytest.raises(RuntimeError), transaction(conn):
        conn.execute("INSERT INTO trust VALUES ('b@x', x'02', 'trusted', 'manual', 1.0)")
        raise RuntimeError("boom")
    assert not conn.in_transaction
    assert [r[0] for r in conn.execute("SELECT jid FROM trust")] == ["a@x"]


def test_nested_transaction_is_a_savepoint(conn: sqlite3.Connection) -> None:
    with transaction(conn):
        conn.execute("INSERT INTO trust VALUES ('a@x', x'01', 'trusted', 'manual', 1.0)")
        with pytest.raises(RuntimeError), transaction(conn):
            conn.execute("INSERT INTO trust VALUES ('b@x', x'02', 'trusted', 'manual', 1.0)")
            raise RuntimeError("inner fails")
        with transaction(conn):
            conn.execute("INSERT INTO trust VALUES ('c@x', x'03', 'trusted', 'manual', 1.0)")
    assert [r[0] for r in conn.execute("SELECT jid FROM trust ORDER BY jid")] == ["a@x", "c@x"]


async def test_facade_runs_everything_on_one_worker_thread(db: Database) -> None:
    main = threading.get_ident()
    idents = await asyncio.gather(*(db.run(lambda _c: threading.get_ident()) for _ in range(20)))
    assert len(set(idents)) == 1 and idents[0] != main


async def test_facade_transaction_is_atomic(db: Database) -> None:
    def half_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO trust VALUES ('a@x', x'01', 'trusted', 'manual', 1.0)")
        conn.execute("INSERT INTO trust VALUES ('a@x', x'01', 'trusted', 'manual', 1.0)")

    with pytest.raises(sqlite3.IntegrityError):
        await db.transaction(half_then_fail)
    assert await db.run(lambda c: c.execute("SELECT count(*) FROM trust").fetchone()[0]) == 0
    assert await db.run(lambda c: c.in_transaction) is False


async def test_closed_database_says_so(db_path: Path) -> None:
    database = await Database.open(db_path)
    async with database:
        pass
    with pytest.raises(DatabaseError, match="closed"):
        await database.run(lambda c: None)
    assert issubclass(DatabaseError, StorageError)


def test_foreign_keys_are_enforced(conn: sqlite3.Connection) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO outbox VALUES (12345, 'queued', 0, NULL, 0, 0)")
