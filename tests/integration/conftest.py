"""Fixtures for tests against the real Prosody and a real keyring."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import session_keyring
from tests.helpers.prosody import ProsodyServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def keyring_env() -> Iterator[dict[str, str]]:
    if not session_keyring.available():
        if os.environ.get("CI"):
            pytest.fail("gnome-keyring/dbus are missing: scripts/install-system-deps.sh test")
        pytest.skip("gnome-keyring/dbus are not installed")
    with session_keyring.secret_service_env() as env:
        env["PYTHONPATH"] = str(ROOT)
        yield env


@dataclass
class Cli:
    """Runs omemo-desktop-cli for one account, in its own data directory."""

    data_dir: Path
    server: ProsodyServer
    env: dict[str, str]

    def run(
        self, *args: str, timeout: float = 60, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        cmd = [
            sys.executable,
            "-m",
            "omemo_desktop.cli",
            "--data-dir",
            str(self.data_dir),
            "--ca-file",
            str(self.server.ca_file),
            *args,
        ]
        proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
        return proc

    def popen(self, *args: str) -> subprocess.Popen[str]:
        cmd = [
            sys.executable,
            "-m",
            "omemo_desktop.cli",
            "--data-dir",
            str(self.data_dir),
            "--ca-file",
            str(self.server.ca_file),
            *args,
        ]
        return subprocess.Popen(
            cmd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )


@pytest.fixture
def make_cli(tmp_path: Path, prosody: ProsodyServer, keyring_env: dict[str, str]):  # type: ignore[no-untyped-def]
    def make(name: str) -> Cli:
        return Cli(tmp_path / name, prosody, keyring_env)

    return make
