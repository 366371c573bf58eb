"""The client process SIGKILLed with messages in its outbox, then started again: the outbox
is sent again and the receiver sees every message exactly once.

The sender is a real child process (Messenger, Secret Service keyring via gnome-keyring); the
kill lands once the receiver has the first message of a 40-message burst, so some messages
are delivered, others written but unconfirmed ('sending'), others still queued.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import session_keyring
from tests.helpers.prosody import ProsodyServer
from tests.reliability.support import PASSWORD, MakePeer, exactly_once, stored_bodies

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("outbox_child.py")
COUNT = 40


@pytest.fixture(scope="module")
def keyring_env() -> Iterator[dict[str, str]]:
    if not session_keyring.available():
        if os.environ.get("CI"):
            pytest.fail("gnome-keyring/dbus are missing: scripts/install-system-deps.sh test")
        pytest.skip("gnome-keyring/dbus are not installed")
    with session_keyring.secret_service_env() as env:
        env["PYTHONPATH"] = str(ROOT)
        yield env


def _outbox(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall())
    finally:
        conn.close()


async def test_sigkilled_client_resends_its_outbox_and_nothing_doubles(
    peers: MakePeer, prosody: ProsodyServer, keyring_env: dict[str, str], tmp_path: Path
) -> None:
    bob = await peers("bob")
    prosody.register("alice", PASSWORD)
    data = tmp_path / "alice-process"
    args = [str(data), str(prosody.ca_file), prosody.address, "alice@localhost", bob.jid]

    def child(mode: str, *extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, str(CHILD), mode, *args, *extra],
            env=keyring_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    add = child("add")
    _, err = await asyncio.to_thread(add.communicate, timeout=60)
    assert add.returncode == 0, err

    sender = child("send", str(COUNT))
    assert sender.stdout is not None
    line = await asyncio.to_thread(sender.stdout.readline)
    assert line.strip() == "queued", sender.stderr.read() if sender.stderr else line
    await bob.wait_for(lambda: any(b.startswith("outbox ") for b in bob.bodies()), timeout=60)
    os.kill(sender.pid, signal.SIGKILL)
    await asyncio.to_thread(sender.communicate, timeout=10)  # reaps it and closes the pipes
    assert sender.returncode == -signal.SIGKILL
    left = _outbox(data / "accounts" / "alice@localhost" / "messages.sqlite3")
    assert sum(left.values()) > 0, "the kill came too late: nothing was left in the outbox"
    print(f"killed with {len(set(bob.bodies()))} delivered, outbox {left}")

    flush = child("flush")
    out, err = await asyncio.to_thread(flush.communicate, timeout=90)
    assert flush.returncode == 0 and "flushed" in out, err
    wanted = [f"outbox {i}" for i in range(COUNT)]
    await bob.wait_bodies(wanted, timeout=60)
    await asyncio.sleep(0.5)  # a late duplicate would show up here
    exactly_once(await stored_bodies(bob.acc, "alice@localhost"), wanted)
    assert sorted(bob.bodies()) == sorted(wanted), "a message was shown twice"
    assert not bob.notices()
