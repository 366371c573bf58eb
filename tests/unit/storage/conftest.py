"""Fixtures for the storage tests: a fresh account database, sync or behind the async facade."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from omemo_desktop.storage.db import Database, connect


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "account.sqlite"


@pytest.fixture
def conn(db_path: Path) -> Iterator[sqlite3.Connection]:
    connection = connect(db_path)
    try:
        yield connection
    finally:
        connection.close()


@pytest.fixture
async def db(db_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(db_path)
    try:
        yield database
    finally:
        await database.close()
