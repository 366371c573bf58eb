"""A client process for the SIGKILL test (run as a script; keyring from the environment).

outbox_child.py add   DATA_DIR CA_FILE SERVER JID PEER
outbox_child.py send  DATA_DIR CA_FILE SERVER JID PEER COUNT   (queues, sends, waits to die)
outbox_child.py flush DATA_DIR CA_FILE SERVER JID PEER         (connects, exits when empty)
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path

from omemo_desktop.service.messenger import Messenger
from omemo_desktop.storage.model import Encryption

PASSWORD = "pw-reliability"


def _outbox_size(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])


async def main(argv: list[str]) -> None:
    mode, data_dir, ca_file, server, jid, peer = argv[:6]
    m = Messenger(data_dir=Path(data_dir), ca_file=Path(ca_file))
    try:
        if mode == "add":
            await m.add_account(jid, PASSWORD, server=server)
            await m.set_trust_policy(jid, "blind")
            return
        await m.connect(jid)  # re-queues entries a crash left 'sending' and kicks the outbox
        acc = m._omemo(jid)
        if mode == "send":
            for i in range(int(argv[6])):
                await acc.queue_message(peer, f"outbox {i}", encryption=Encryption.OMEMO2)
            print("queued", flush=True)
            acc.kick_outbox()
            await asyncio.sleep(120)  # the test kills us somewhere in here
        elif mode == "flush":
            while await acc.db.run(_outbox_size):
                await asyncio.sleep(0.05)
            print("flushed", flush=True)
    finally:
        await m.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
