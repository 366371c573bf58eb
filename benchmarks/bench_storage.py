"""Storage benchmark: 1,000,000 stored messages, then medians of the hot paths.

    .venv/bin/python benchmarks/bench_storage.py [--messages N] [--reps R]

Builds an account database in a temporary folder through the bulk-import path (the per-row
full-text trigger is suspended and the index rebuilt once), then measures, each beside the raw
sqlite3 floor for the same statements on a plain connection in the same run:
  - opening a conversation: its newest 50 messages
  - full-text search: the newest 50 hits
  - one persisted send: session state + message (+ recipient) in one transaction
Our figures include the hop to the database worker thread and building dataclasses.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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
from omemo_desktop.storage.messages import fts_query

CONVERSATIONS = 2000
SEARCH_WORD = "meeting"


def corpus(n: int, rng: random.Random) -> Iterator[NewMessage]:
    vocab = [f"w{i:04d}" for i in range(4000)] + ["meeting", "lunch", "tomorrow", "kiwi"]
    weights = [1.0] * 4000 + [40.0, 40.0, 60.0, 0.5]
    cumulative = list(itertools.accumulate(weights))
    start = 1_600_000_000.0
    for i in range(n):
        words = rng.choices(vocab, cum_weights=cumulative, k=rng.randint(4, 14))
        conv = f"contact{rng.randrange(CONVERSATIONS)}@example.org"
        t = start + i * 30.0
        yield (
            NewMessage(
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
        )


async def median_ms(fn: Callable[[], Awaitable[object]], reps: int) -> float:
    for _ in range(5):
        await fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def sync_median_ms(fn: Callable[[], object], reps: int) -> float:
    for _ in range(5):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(42)
    messages, sessions = MessageRepository(), SessionRepository()

    with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp:
        path = Path(tmp) / "account.sqlite"
        rows = corpus(args.messages, rng)
        async with await Database.open(path) as db:
            t0 = time.perf_counter()
            stored = await db.run(lambda c: messages.bulk_import(c, rows))
            t_import = time.perf_counter() - t0
            print(
                f"bulk import (generation + insert + FTS rebuild, one transaction): "
                f"{t_import:.1f} s for {stored:,} messages in {CONVERSATIONS} conversations"
            )
            print(f"database size: {path.stat().st_size / 2**20:.0f} MiB")

            raw = sqlite3.connect(path, isolation_level=None)
            raw.execute("PRAGMA synchronous = FULL")
            raw.execute("PRAGMA foreign_keys = ON")
            convs = [f"contact{i}@example.org" for i in range(CONVERSATIONS)]
            pick = random.Random(7)

            # 1. open a conversation: newest 50
            ours_open = await median_ms(
                lambda: db.run(lambda c: messages.newest(c, pick.choice(convs), 50)), args.reps
            )
            raw_open = sync_median_ms(
                lambda: raw.execute(
                    "SELECT * FROM messages WHERE conversation = ?"
                    " ORDER BY timestamp DESC, id DESC LIMIT 50",
                    (pick.choice(convs),),
                ).fetchall(),
                args.reps,
            )
            # 2. full-text search: newest 50 hits
            ours_search = await median_ms(
                lambda: db.run(lambda c: messages.search(c, SEARCH_WORD, 50)), args.reps
            )
            raw_search = sync_median_ms(
                lambda: raw.execute(
                    "SELECT m.* FROM messages_fts JOIN messages AS m ON m.id = messages_fts.rowid"
                    " WHERE messages_fts MATCH ? ORDER BY messages_fts.rowid DESC LIMIT 50",
                    (fts_query(SEARCH_WORD),),
                ).fetchall(),
                args.reps,
            )
            hits = await db.run(lambda c: messages.search(c, SEARCH_WORD, 50))
            # 3. one persisted send: session + message (+ recipient) in one transaction
            counter = iter(range(10**9))
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

            ours_send = await median_ms(lambda: db.transaction(send), args.reps)
            raw_counter = iter(range(10**9))

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
                    (peer, f"raw send {i}", now, now, f"raw-{i}"),
                )
                raw.execute(
                    "INSERT INTO message_recipients VALUES (?, 'urn:xmpp:omemo:2', ?, 1002)",
                    (cur.lastrowid, peer),
                )
                raw.execute("COMMIT")

            raw_send_ms = sync_median_ms(raw_send, args.reps)
            raw.close()

    print(f"\nmedians over {args.reps} runs (ms)       ours     raw sqlite3 floor")
    print(f"open conversation (newest 50)     {ours_open:8.3f}   {raw_open:8.3f}")
    print(
        f"search '{SEARCH_WORD}' newest 50 hits  {ours_search:8.3f}   {raw_search:8.3f}"
        f"   ({len(hits)} hits returned)"
    )
    print(f"persisted send (1 transaction)    {ours_send:8.3f}   {raw_send_ms:8.3f}")
    print("(synchronous=FULL, WAL; 'ours' includes the worker-thread hop and dataclasses)")


if __name__ == "__main__":
    asyncio.run(main())
