"""One SQLite database per account: opening, migrations, transactions, the async facade.

Durability choice: WAL with ``synchronous=FULL``. With ``NORMAL`` a WAL database stays
consistent, but a power cut can drop the last few *committed* transactions. For us that would
roll a ratchet state back after its message left the machine, and the next message would reuse
a message key. Our writes are small and human-paced (one ratchet step per message), so an fsync
per commit (about a millisecond) is a price worth paying; bulk imports batch many rows into one
commit and do not feel it.

Runtime model: one worker thread owns the connection (`Database`); ``await db.run(fn)`` calls
``fn(conn)`` on it, ``await db.transaction(fn)`` does the same inside ``BEGIN IMMEDIATE`` ...
``COMMIT`` so that, for example, a new session state and the message it produced are stored
together or not at all. Repositories are plain synchronous objects that take the connection,
so any number of them can share one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Final, Self, TypeVar

from omemo_desktop.storage.errors import (
    DatabaseError,
    DatabaseTooNew,
    NotOurDatabase,
    StorageBug,
)

__all__ = [
    "APPLICATION_ID",
    "Database",
    "Migration",
    "connect",
    "load_migrations",
    "migrate",
    "schema_version",
    "transaction",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Marks the file as ours (``PRAGMA application_id``): ASCII "OMDT".
APPLICATION_ID: Final = 0x4F4D4454
_MIGRATION_NAME: Final = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_savepoint_names = itertools.count(1)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations() -> tuple[Migration, ...]:
    """The bundled migrations, numbered 1..N without gaps."""
    folder = resources.files("omemo_desktop.storage").joinpath("migrations")
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match is None:
            continue
        found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise StorageBug(f"migrations are not numbered 1..N: {[m.name for m in found]}")
    return tuple(found)


MIGRATIONS: Final = load_migrations()
#: The schema version this code reads and writes.
SCHEMA_VERSION: Final = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the block atomically; nested use becomes a savepoint.

    The outermost level takes the write lock at once (``BEGIN IMMEDIATE``), so a transaction
    never fails half-way for lack of a lock, and commits on success or rolls back on any
    exception (including KeyboardInterrupt).
    """
    if conn.in_transaction:
        name = f"sp{next(_savepoint_names)}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield conn
        except BaseException:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
            raise
        else:
            conn.execute(f"RELEASE {name}")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def migrate(conn: sqlite3.Connection, path: str = "<database>") -> int:
    """Bring the schema up to `SCHEMA_VERSION`; each step is one transaction.

    Returns the version found before migrating. Refuses (touching nothing) a database from a
    newer version or one that is not ours.
    """
    found = schema_version(conn)
    app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
    if found > SCHEMA_VERSION:
        raise DatabaseTooNew(path, found, SCHEMA_VERSION)
    if app_id not in (0, APPLICATION_ID) or (found > 0 and app_id != APPLICATION_ID):
        raise NotOurDatabase(
            f"{path} is not an omemo-desktop database. Move it away or choose another "
            "--data-dir; it was left untouched."
        )
    if found == 0 and conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]:
        raise NotOurDatabase(
            f"{path} already holds tables that omemo-desktop did not create. Move it away or "
            "choose another --data-dir; it was left untouched."
        )
    for migration in MIGRATIONS[found:]:
        log.info("migrating %s to schema version %d (%s)", path, migration.version, migration.name)
        script = (
            "BEGIN IMMEDIATE;\n"
            f"{migration.sql}\n;\n"
            f"PRAGMA application_id = {APPLICATION_ID};\n"
            f"PRAGMA user_version = {migration.version};\n"
            "COMMIT;"
        )
        try:
            conn.executescript(script)
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StorageBug(f"migration {migration.name} failed on {path}: {exc}") from exc
    return found


def connect(path: str | Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    """Open (creating if needed) and migrate the account database at `path`.

    The connection is in autocommit mode (``isolation_level=None``): use `transaction` for
    anything that must be atomic.
    """
    name = str(path)
    try:
        conn = sqlite3.connect(
            name, isolation_level=None, check_same_thread=check_same_thread, timeout=5.0
        )
    except sqlite3.Error as exc:
        raise DatabaseError(
            f"Cannot open the database {name}: {exc}. Check that the folder exists and is writable."
        ) from exc
    try:
        # Refuse a newer or foreign database before changing anything in it (even WAL mode).
        if schema_version(conn) > SCHEMA_VERSION:
            raise DatabaseTooNew(name, schema_version(conn), SCHEMA_VERSION)
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal" and name != ":memory:":
            raise DatabaseError(
                f"Cannot switch {name} to write-ahead logging (got {mode!r}). The folder may "
                "be on a network file system; choose a local --data-dir."
            )
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 5000")
        migrate(conn, name)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise DatabaseError(
            f"{name} cannot be read as a database ({exc}). Move it away or restore a backup."
        ) from exc
    except BaseException:
        conn.close()
        raise
    return conn


def _environment_error(path: str, exc: sqlite3.OperationalError) -> DatabaseError | None:
    text = str(exc).lower()
    for needle in ("disk is full", "disk i/o", "readonly", "read-only", "locked", "unable to open"):
        if needle in text:
            return DatabaseError(
                f"The database {path} could not be used: {exc}. Free some disk space and "
                "check the folder's permissions, then try again."
            )
    return None


class Database:
    """The async facade: one worker thread owns the connection.

    Open with ``db = await Database.open(path)``; close with ``await db.close()`` (or use
    ``async with``). Cancelling the awaiting task does not interrupt work already running on
    the worker: a transaction always finishes with a commit or a rollback.
    """

    def __init__(self, path: Path, executor: ThreadPoolExecutor, conn: sqlite3.Connection):
        self.path = path
        self._executor = executor
        self._conn: sqlite3.Connection | None = conn

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        path = Path(path)
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        loop = asyncio.get_running_loop()
        try:
            conn = await loop.run_in_executor(executor, connect, path)
        except BaseException:
            executor.shutdown(wait=True)
            raise
        return cls(path, executor, conn)

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Call ``fn(conn)`` on the worker thread (autocommit: each statement on its own)."""
        conn = self._conn
        if conn is None:
            raise DatabaseError(f"The database {self.path} is already closed.")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, conn)
        except sqlite3.OperationalError as exc:
            env = _environment_error(str(self.path), exc)
            if env is None:
                raise
            raise env from exc

    async def transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Call ``fn(conn)`` on the worker inside one transaction: all of it or nothing."""

        def in_transaction(conn: sqlite3.Connection) -> T:
            with transaction(conn):
                return fn(conn)

        return await self.run(in_transaction)

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return

        def finish() -> None:
            try:
                with contextlib.suppress(sqlite3.Error):  # e.g. a full disk: still close
                    conn.execute("PRAGMA optimize")
            finally:
                conn.close()

        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, finish)
        finally:
            self._executor.shutdown(wait=True)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
