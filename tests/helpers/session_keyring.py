"""A private D-Bus session with an unlocked, throw-away gnome-keyring, kept running so that
several CLI processes share it (as they share the user's keyring on a desktop)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def available() -> bool:
    return all(shutil.which(t) for t in ("dbus-daemon", "gnome-keyring-daemon"))


@contextmanager
def secret_service_env() -> Iterator[dict[str, str]]:
    """Yield the environment (for subprocesses) that reaches the private keyring."""
    with tempfile.TemporaryDirectory(prefix="omemo-sess-keyring-") as tmp:
        env = {k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"}
        for sub in ("data", "cache", "config", "run"):
            Path(tmp, sub).mkdir(mode=0o700)
        env.update(
            XDG_DATA_HOME=f"{tmp}/data",
            XDG_CACHE_HOME=f"{tmp}/cache",
            XDG_CONFIG_HOME=f"{tmp}/config",
            XDG_RUNTIME_DIR=f"{tmp}/run",
            HOME=tmp,
        )
        bus = subprocess.run(
            ["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=15,
        )
        address, pid = bus.stdout.split()[:2]
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        keyring = subprocess.Popen(
            ["gnome-keyring-daemon", "--unlock", "--components=secrets", "--foreground"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        assert keyring.stdin is not None
        keyring.stdin.write(b"throwaway-login-password")
        keyring.stdin.close()
        try:
            # The daemon prints its control socket once it is ready.
            assert keyring.stdout is not None
            keyring.stdout.readline()
            yield env
        finally:
            if keyring.stdout is not None:
                keyring.stdout.close()
            keyring.terminate()
            try:
                keyring.wait(5)
            except subprocess.TimeoutExpired:
                keyring.kill()
            os.kill(int(pid), signal.SIGTERM)
