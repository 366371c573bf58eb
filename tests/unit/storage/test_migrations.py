"""Every older schema has a frozen sample here, and each one upgrades to the current schema."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from omemo_desktop.storage import (
    MessageRepository,
    Namespace,
    OutboxRepository,
    OwnDeviceRepository,
    SessionRepository,
    TrustRepository,
    TrustState,
    connect,
)
from omemo_desktop.storage.db import SCHEMA_VERSION, schema_version

SAMPLES = Path(__file__).with_name("samples")
OLD_VERSIONS = list(range(1, SCHEMA_VERSION))


def _schema(conn: sqlite3.Connection) -> set[tuple[str, str, str]]:
    return {
        (r[0], r[1], " ".join(str(r[2]).split()))
        for r in conn.execute("SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL")
    }


def test_every_old_schema_has_a_frozen_sample() -> None:
    missing = [v for v in OLD_VERSIONS if not (SAMPLES / f"v{v}.sqlite").exists()]
    assert not missing, f"freeze a sample of schema versions {missing} (see build_samples.py)"


@pytest.mark.parametrize("version", OLD_VERSIONS)
def test_sample_upgrades_to_current_schema(version: int, tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    shutil.copyfile(SAMPLES / f"v{version}.sqlite", path)
    raw = sqlite3.connect(path)
    assert schema_version(raw) == version
    raw.close()

    conn = connect(path)
    fresh = connect(tmp_path / "fresh.sqlite")
    try:
        assert schema_version(conn) == SCHEMA_VERSION
        assert _schema(conn) == _schema(fresh)
        # the data came through
        own = OwnDeviceRepository().get(conn)
        assert own is not None and own.device_id == 4242
        prekeys = OwnDeviceRepository().prekeys(conn, Namespace.LEGACY)
        assert prekeys is not None and prekeys.state == b"\x01\xdd\xee\xff"
        session = SessionRepository().get(conn, Namespace.OMEMO2, "bob@example.org", 7)
        assert session is not None and session.state == b"\x01\xc0\xff\xee"
        assert SessionRepository().archive(conn, Namespace.OMEMO2, "bob@example.org", 7) == ()
        assert TrustRepository().state(conn, "bob@example.org", b"\x00\x11\x22\x33") is (
            TrustState.TRUSTED
        )
        messages = MessageRepository()
        assert [m.body for m in messages.newest(conn, "bob@example.org")] == [
            "a pending reply",
            "hello from the past",
        ]
        assert [m.id for m in messages.search(conn, "past")] == [1]
        assert len(messages.recipients(conn, 2)) == 1
        assert [e.message_id for e in OutboxRepository().due(conn, now=2e9)] == [2]
        conn.execute("PRAGMA foreign_key_check")
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
        fresh.close()


def test_a_failed_migration_step_leaves_the_previous_version(tmp_path: Path) -> None:
    from omemo_desktop.storage import db as db_module
    from omemo_desktop.storage.errors import StorageBug

    path = tmp_path / "old.sqlite"
    shutil.copyfile(SAMPLES / "v1.sqlite", path)
    broken = db_module.Migration(SCHEMA_VERSION, "broken", "CREATE TABLE x (a); SELECT nonsense(")
    original = db_module.MIGRATIONS
    db_module.MIGRATIONS = (*original[: SCHEMA_VERSION - 1], broken)  # type: ignore[misc]
    try:
        raw = sqlite3.connect(path, isolation_level=None)
        with pytest.raises(StorageBug, match="broken"):
            db_module.migrate(raw, str(path))
        assert schema_version(raw) == SCHEMA_VERSION - 1
        assert raw.execute("SELECT count(*) FROM sqlite_schema WHERE name = 'x'").fetchone()[0] == 0
        raw.close()
    finally:
        db_module.MIGRATIONS = original  # type: ignore[misc]
