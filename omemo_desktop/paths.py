"""Where the app keeps its data: platformdirs by default, overridable for tests and demos."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "omemo-desktop"
DATA_DIR_ENV = "OMEMO_DESKTOP_DATA_DIR"
CA_FILE_ENV = "OMEMO_DESKTOP_CA_FILE"


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """--data-dir beats $OMEMO_DESKTOP_DATA_DIR beats the platform's user data dir."""
    chosen = override or os.environ.get(DATA_DIR_ENV) or platformdirs.user_data_dir(APP_NAME)
    path = Path(chosen).expanduser()
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def ca_file(override: str | os.PathLike[str] | None = None) -> Path | None:
    chosen = override or os.environ.get(CA_FILE_ENV)
    return Path(chosen).expanduser() if chosen else None


def account_dir(base: Path, jid: str) -> Path:
    """One folder per account; the bare JID is safe as a file name after this mapping."""
    safe = jid.lower().replace("/", "_").replace("\\", "_")
    path = base / "accounts" / safe
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
