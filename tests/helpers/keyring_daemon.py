"""Run code against a real Secret Service (gnome-keyring) in a private D-Bus session.

`run_in_secret_service` starts ``dbus-run-session``, unlocks a throw-away gnome-keyring whose
files live in a temporary XDG_DATA_HOME, and runs this module's probe (``python -m
tests.helpers.keyring_daemon probe``) inside it. The probe exercises
omemo_desktop.storage.secrets with PYTHON_KEYRING_BACKEND unset, exactly as the app would, and
prints one JSON object. Pass ``unlock=False`` to get a locked keyring ("Prompt dismissed").
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
KEYRING_PASSWORD = "throwaway-login-password"


def missing_tools() -> str | None:
    """Why the real Secret Service cannot run here, or None when it can."""
    for tool in ("dbus-run-session", "gnome-keyring-daemon"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt install dbus gnome-keyring)"
    return None


def run_in_secret_service(*, unlock: bool = True, timeout: float = 30.0) -> dict[str, Any]:
    """Run the probe under a fresh, private gnome-keyring; returns its JSON report."""
    with tempfile.TemporaryDirectory(prefix="omemo-keyring-") as tmp:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("PYTHON_KEYRING_BACKEND", "DBUS_SESSION_BUS_ADDRESS")
        }
        env.update(
            XDG_DATA_HOME=str(Path(tmp, "data")),
            XDG_CACHE_HOME=str(Path(tmp, "cache")),
            XDG_CONFIG_HOME=str(Path(tmp, "config")),
            XDG_RUNTIME_DIR=str(Path(tmp, "run")),
            HOME=tmp,
            PYTHONPATH=str(ROOT),
            KEYRING_PROBE_DATA=str(Path(tmp, "appdata")),
        )
        for sub in ("data", "cache", "config", "run", "appdata"):
            Path(tmp, sub).mkdir(mode=0o700)
        probe = f"{shlex.quote(sys.executable)} -m tests.helpers.keyring_daemon probe"
        if unlock:
            start = (
                f"printf %s {shlex.quote(KEYRING_PASSWORD)} | "
                "gnome-keyring-daemon --unlock --components=secrets >/dev/null"
            )
        else:
            start = "gnome-keyring-daemon --start --components=secrets >/dev/null"
        result = subprocess.run(
            ["dbus-run-session", "--", "sh", "-c", f"{start}; exec {probe}"],
            env=env,
            cwd=str(ROOT),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
        if result.returncode != 0 or not lines:
            raise RuntimeError(
                f"secret service probe failed (exit {result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )
        report: dict[str, Any] = json.loads(lines[-1])
        report["files"] = _scan_for(
            Path(tmp), [report.get("password", ""), report.get("seed_b64", "")]
        )
        return report


def _scan_for(root: Path, needles: list[str]) -> list[str]:
    """Files under root (the keyring's and the app's) that contain a secret in the clear."""
    hits = []
    raw = [n.encode() for n in needles if n]
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if any(n in data for n in raw):
                hits.append(str(path.relative_to(root)))
    return hits


async def _probe() -> dict[str, Any]:
    import base64

    from omemo_desktop.storage.errors import SecretsError
    from omemo_desktop.storage.secrets import SecretStore

    jid = "alice@example.org"
    password = "correct horse battery staple ♞"
    seed = bytes(range(100, 132))
    report: dict[str, Any] = {
        "password": password,
        "seed_b64": base64.b64encode(seed).decode(),
    }
    try:
        store = await SecretStore.open()
    except SecretsError as exc:
        report.update(error=type(exc).__name__, message=str(exc))
        return report
    report["backend"] = store.backend_name
    try:
        await store.store_password(jid, password)
        await store.store_identity_seed(jid, seed)
        report["password_ok"] = await store.load_password(jid) == password
        report["seed_ok"] = await store.load_identity_seed(jid) == seed
        report["other_account_empty"] = await store.load_password("bob@example.org") is None
        await store.store_password(jid, password + "2")
        report["overwrite_ok"] = await store.load_password(jid) == password + "2"
        await store.forget_account(jid)
        report["forgotten"] = (
            await store.load_password(jid) is None and await store.load_identity_seed(jid) is None
        )
        report["delete_missing_ok"] = await store.delete_password(jid) is False
        await store.store_password(jid, password)  # leave one behind for the file scan
    except SecretsError as exc:
        report.update(error=type(exc).__name__, message=str(exc))
    finally:
        store.close()
    return report


if __name__ == "__main__" and sys.argv[1:] == ["probe"]:
    print(json.dumps(asyncio.run(_probe())), flush=True)
