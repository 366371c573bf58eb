"""Writer for test_crash_atomicity: ratchet step + message, one transaction, forever.

Run as ``python crash_writer.py DB``. Each step reads the session's counter n (standing in for
the ratchet state: n is the next message key), stores the message "encrypted" with key n, and
saves the session with n + 1, all in one transaction through the async facade the service
uses. After each commit it prints n. The test SIGKILLs it at random moments.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import time

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

PEER = "bob@example.org"
DEVICE = 7


def counter(state: bytes) -> int:
    assert state[0] == 1, "unknown session blob version"
    return int.from_bytes(state[1:], "big")


async def main(path: str) -> None:
    sessions, messages = SessionRepository(), MessageRepository()
    async with await Database.open(path) as db:
        while True:

            def step(conn: sqlite3.Connection) -> int:
                now = time.time()
                current = sessions.get(conn, Namespace.OMEMO2, PEER, DEVICE)
                n = 0 if current is None else counter(current.state)
                messages.add(
                    conn,
                    NewMessage(
                        conversation=PEER,
                        direction=Direction.OUT,
                        body=f"encrypted with message key {n}",
                        encryption=Encryption.OMEMO2,
                        timestamp=now,
                        stored_at=now,
                        state=DeliveryState.PENDING,
                        origin_id=f"key-{n}",
                        recipients=(Recipient(Namespace.OMEMO2, PEER, DEVICE),),
                    ),
                )
                new_state = b"\x01" + (n + 1).to_bytes(8, "big")
                sessions.save(conn, Session(Namespace.OMEMO2, PEER, DEVICE, new_state, now))
                return n

            n = await db.transaction(step)
            print(n, flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
