"""One instance per data directory: a second process is refused and touches nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from omemo_desktop.storage.errors import AnotherInstanceRunning
from omemo_desktop.storage.lock import LOCK_FILE_NAME, InstanceLock

ROOT = Path(__file__).resolve().parents[3]
SECOND = """
import sys
from omemo_desktop.storage.errors import AnotherInstanceRunning
from omemo_desktop.storage.lock import InstanceLock
try:
    with InstanceLock(sys.argv[1]):
        print("acquired")
except AnotherInstanceRunning as exc:
    print("refused:", exc)
"""


def _second_instance(data_dir: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-c", SECOND, str(data_dir)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_second_process_is_refused_while_the_first_runs(tmp_path: Path) -> None:
    with InstanceLock(tmp_path) as lock:
        assert lock.held
        lock_file = tmp_path / LOCK_FILE_NAME
        before = (lock_file.read_bytes(), lock_file.stat().st_mtime_ns)
        listing = sorted(os.listdir(tmp_path))
        answer = _second_instance(tmp_path)
        assert answer.startswith("refused: Another omemo-desktop is already running")
        assert str(tmp_path) in answer and "--data-dir" in answer
        # the refused instance changed nothing
        assert (lock_file.read_bytes(), lock_file.stat().st_mtime_ns) == before
        assert sorted(os.listdir(tmp_path)) == listing
        assert lock_file.read_text().strip() == str(os.getpid())
    assert not lock.held
    assert _second_instance(tmp_path) == "acquired"


def test_lock_is_per_data_directory(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with InstanceLock(tmp_path / "a"):
        assert _second_instance(tmp_path / "b") == "acquired"


def test_same_process_second_lock_is_refused_too(tmp_path: Path) -> None:
    with InstanceLock(tmp_path), pytest.raises(AnotherInstanceRunning):
        InstanceLock(tmp_path).acquire()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time\nfrom omemo_desktop.storage.lock import InstanceLock\n"
            "l = InstanceLock(sys.argv[1]); l.acquire(); print('held', flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with pytest.raises(AnotherInstanceRunning):
        InstanceLock(tmp_path).acquire()
    holder.kill()
    holder.wait(timeout=10)
    holder.stdout.close()
    with InstanceLock(tmp_path):
        pass
