"""Storage benchmarks: an account database with 1,000,000 messages, beside raw sqlite3.

The database is built once through the bulk-import path (the per-row full-text trigger is
suspended and the index rebuilt in one pass) into the cache folder and reused by later runs
(rebuilt when missing). Each figure is ours — the repository call through the database worker
thread, as the service makes it, building dataclasses — beside the raw sqlite3 floor: the same
statement on a plain connection in the same run:
  - opening a conversation: its newest 50 messages (index on (conversation, timestamp));
  - full-text search: the newest 50 hits for a common word (FTS5);
  - one persisted send: session state + message + recipient in one transaction
    (synchronous=FULL, WAL). The rows the benchmark adds are deleted again afterwards.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from omemo_desktop.storage import (
    Database,
    DeliveryState,
    Direction,
    Encryption,
    MessageRepository,
    Namespace,
    NewMessage,
    Recipient,
    Session,
    SessionRepository,
)
from omemo_desktop.storage.db import connect
from omemo_desktop.storage.messages import fts_query

from .common import Config, Row, interleaved_many

CONVERSATIONS = 2000
SEARCH_WORD = "meeting"
FLOOR = "sqlite3"


def corpus(n: int, rng: random.Random, conversations: int = CONVERSATIONS) -> Iterator[NewMessage]:
    """n messages with a Zipf-free vocabulary of 4,004 words over `conversations` chats."""
    vocab = [f"w{i:04d}" for i in range(4000)] + ["meeting", "lunch", "tomorrow", "kiwi"]
    weights = [1.0] * 4000 + [40.0, 40.0, 60.0, 0.5]
    cumulative = list(itertools.accumulate(weights))
    start = 1_600_000_000.0
    for i in range(n):
        words = rng.choices(vocab, cum_weights=cumulative, k=rng.randint(4, 14))
        conv = f"contact{rng.randrange(conversations)}@example.org"
        t = start + i * 30.0
        yield NewMessage(
            conversation=conv,
            direction=Direction.IN if i % 2 else Direction.OUT,
            body=" ".join(words),
            encryption=Encryption.OMEMO2,
            timestamp=t,
            stored_at=t,
            state=DeliveryState.RECEIVED if i % 2 else DeliveryState.READ,
            stanza_id=f"sid-{i}",
            origin_id=f"oid-{i}",
            sender_device=1000 + (i % 7),
        )


async def build_database(
    path: Path, n: int, conversations: int, log: Callable[[str], None]
) -> None:
    """Create (or reuse, when complete) an account database holding `n` messages."""
    done = path.with_suffix(".complete")
    if path.exists() and done.exists() and done.read_text() == str(n):
        return
    for stale in (path, done, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    log(f"  building a database with {n:,} messages in {path} (once; cached)")
    t0 = time.perf_counter()
    messages = MessageRepository()
    rows = corpus(n, random.Random(42), conversations)
    async with await Database.open(path) as db:
        await db.run(lambda c: messages.bulk_import(c, rows))
    done.write_text(str(n))
    log(f"  built in {time.perf_counter() - t0:.0f} s, {path.stat().st_size / 2**20:.0f} MiB")


def run(cfg: Config) -> list[Row]:
    n = cfg.storage_messages
    path = Path(cfg.cache_dir) / f"storage-{n}.sqlite3"
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(build_database(path, n, CONVERSATIONS, cfg.log))
        db = loop.run_until_complete(Database.open(path))
        try:
            return _rows(cfg, loop, db, path, n)
        finally:
            loop.run_until_complete(db.close())
    finally:
        loop.close()


def _rows(
    cfg: Config, loop: asyncio.AbstractEventLoop, db: Database, path: Path, n: int
) -> list[Row]:
    messages, sessions = MessageRepository(), SessionRepository()
    reps = cfg.reps
    rows: list[Row] = []
    section = "storage"
    label = f"{n:,}" if n < 1_000_000 else f"{n // 1_000_000}M"
    ms = 1e3
    mine = connect(path)  # our repositories on this thread: the cost without the hop
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA synchronous = FULL")
    raw.execute("PRAGMA foreign_keys = ON")
    convs = [f"contact{i}@example.org" for i in range(CONVERSATIONS)]
    pick = random.Random(7)

    # 1. open a conversation: newest 50
    ours, direct, floor = interleaved_many(
        loop,
        [
            (lambda: db.run(lambda c: messages.newest(c, pick.choice(convs), 50)), reps, True),
            (lambda: messages.newest(mine, pick.choice(convs), 50), reps, False),
            (
                lambda: raw.execute(
                    "SELECT * FROM messages WHERE conversation = ?"
                    " ORDER BY timestamp DESC, id DESC LIMIT 50",
                    (pick.choice(convs),),
                ).fetchall(),
                reps,
                False,
            ),
        ],
        scale=ms,
    )
    rows.append(
        Row(
            section,
            f"open a conversation: newest 50 of {label}",
            "ms",
            ours,
            floor,
            FLOOR,
            target_floor_ratio=5.0,
            note=f"without the worker-thread hop {direct.median:.3f} ms",
        )
    )
    cfg.log(f"  storage: newest 50: ours {ours.median:.3f} ms")

    # 2. full-text search: newest 50 hits
    ours, direct, floor = interleaved_many(
        loop,
        [
            (lambda: db.run(lambda c: messages.search(c, SEARCH_WORD, 50)), reps, True),
            (lambda: messages.search(mine, SEARCH_WORD, 50), reps, False),
            (
                lambda: raw.execute(
                    "SELECT m.* FROM messages_fts JOIN messages AS m ON m.id = messages_fts.rowid"
                    " WHERE messages_fts MATCH ? ORDER BY messages_fts.rowid DESC LIMIT 50",
                    (fts_query(SEARCH_WORD),),
                ).fetchall(),
                reps,
                False,
            ),
        ],
        scale=ms,
    )
    rows.append(
        Row(
            section,
            f"full-text search: newest 50 hits of {label}",
            "ms",
            ours,
            floor,
            "FTS5",
            target_floor_ratio=5.0,
            note=f"without the worker-thread hop {direct.median:.3f} ms",
        )
    )
    cfg.log(f"  storage: search: ours {ours.median:.3f} ms")

    # 3. one persisted send: session + message (+ recipient) in one transaction
    counter = itertools.count()
    peer = convs[0]

    def send(c: sqlite3.Connection) -> None:
        i = next(counter)
        now = time.time()
        sessions.save(c, Session(Namespace.OMEMO2, peer, 1001, i.to_bytes(200, "big"), now))
        messages.add(
            c,
            NewMessage(
                conversation=peer,
                direction=Direction.OUT,
                body=f"bench send {i}",
                encryption=Encryption.OMEMO2,
                timestamp=now,
                stored_at=now,
                state=DeliveryState.PENDING,
                origin_id=f"bench-{i}",
                recipients=(Recipient(Namespace.OMEMO2, peer, 1001),),
            ),
        )

    raw_counter = itertools.count()

    def raw_send() -> None:
        i = next(raw_counter)
        now = time.time()
        raw.execute("BEGIN IMMEDIATE")
        raw.execute(
            "INSERT INTO sessions VALUES ('urn:xmpp:omemo:2', ?, 1002, ?, ?)"
            " ON CONFLICT DO UPDATE SET state = excluded.state,"
            " updated_at = excluded.updated_at",
            (peer, i.to_bytes(200, "big"), now),
        )
        cur = raw.execute(
            "INSERT INTO messages (conversation, direction, body, encryption, timestamp,"
            " stored_at, state, origin_id) VALUES (?, 'out', ?, 'omemo2', ?, ?,"
            " 'pending', ?)",
            (peer, f"bench raw send {i}", now, now, f"bench-raw-{i}"),
        )
        raw.execute(
            "INSERT INTO message_recipients VALUES (?, 'urn:xmpp:omemo:2', ?, 1002)",
            (cur.lastrowid, peer),
        )
        raw.execute("COMMIT")

    try:
        ours, floor = interleaved_many(
            loop,
            [(lambda: db.transaction(send), reps, True), (raw_send, reps, False)],
            scale=ms,
        )
    finally:
        # leave the cached database as it was built
        raw.execute("DELETE FROM messages WHERE origin_id LIKE 'bench-%'")
        raw.execute("DELETE FROM sessions WHERE jid = ? AND device_id IN (1001, 1002)", (peer,))
        raw.close()
        mine.close()
    rows.append(
        Row(
            section,
            "one persisted send: state + message, 1 transaction",
            "ms",
            ours,
            floor,
            FLOOR,
            note="synchronous=FULL, WAL",
        )
    )
    cfg.log(f"  storage: send: ours {ours.median:.3f} ms")
    return rows
