"""SIGKILL a writer at random moments: no message lost or doubled, no message key reused.

The writer (crash_writer.py) advances a session counter and stores the message produced with
it in one transaction. Whatever instant the kill lands on, after a restart the counter must
equal the number of stored messages, the stored keys must be exactly 0..counter-1 (so no key
is used twice and none is skipped), and every commit the writer reported must be there.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from omemo_desktop.storage import MessageRepository, Namespace, SessionRepository, connect

WRITER = Path(__file__).with_name("crash_writer.py")
ROOT = Path(__file__).resolve().parents[3]
KILLS = 8


def _run_and_kill(db_path: Path, rng: random.Random) -> list[int]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), str(db_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # it is writing now
    assert first.strip().isdigit(), proc.stderr.read() if proc.stderr else first
    time.sleep(rng.uniform(0.02, 0.35))
    os.kill(proc.pid, signal.SIGKILL)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL, err
    return [int(line) for line in (first + out).split()]


def test_sigkill_never_loses_duplicates_or_reuses_keys(tmp_path: Path) -> None:
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    db_path = tmp_path / "account.sqlite"
    reported: list[int] = []
    for _ in range(KILLS):
        reported.extend(_run_and_kill(db_path, rng))

    conn = connect(db_path)
    try:
        session = SessionRepository().get(conn, Namespace.OMEMO2, "bob@example.org", 7)
        assert session is not None
        counter = int.from_bytes(session.state[1:], "big")
        rows = conn.execute(
            "SELECT origin_id, body FROM messages WHERE conversation = 'bob@example.org'"
        ).fetchall()
        keys = sorted(int(origin.removeprefix("key-")) for origin, _ in rows)
        assert keys == list(range(counter)), f"seed {seed}: keys are not exactly 0..{counter - 1}"
        assert all(body == f"encrypted with message key {int(o[4:])}" for o, body in rows)
        # everything the writer saw committed survived, and was reported once
        assert set(reported) <= set(keys), f"seed {seed}: a reported commit was lost"
        assert len(reported) == len(set(reported)), f"seed {seed}: a key was handed out twice"
        assert counter >= KILLS  # each run made progress
        print(f"seed {seed}: {counter} steps over {KILLS} kills")
        recipients = conn.execute("SELECT count(*) FROM message_recipients").fetchone()[0]
        assert recipients == counter
        assert MessageRepository().count(conn) == counter
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.execute("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')")
    finally:
        conn.close()
