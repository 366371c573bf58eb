"""Suite-wide settings: offscreen Qt, an isolated keyring, folder markers, the test server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
# Unit tests never touch the user's keyring; integration tests start a real one explicitly.
os.environ["PYTHON_KEYRING_BACKEND"] = "tests.helpers.memory_keyring.MemoryKeyring"

FOLDER_MARKERS = ("unit", "interop", "integration", "gui", "fuzz", "reliability")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).parts
        for marker in FOLDER_MARKERS:
            if marker in parts:
                item.add_marker(getattr(pytest.mark, marker))


def _require_prosody() -> None:
    from tests.helpers.prosody import prosody_available

    if not prosody_available():
        if os.environ.get("CI"):
            pytest.fail("Prosody is not installed; run scripts/install-system-deps.sh test")
        pytest.skip("Prosody is not installed (scripts/install-system-deps.sh test)")


@pytest.fixture
def prosody(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A fresh Prosody for one test (restartable, killable)."""
    _require_prosody()
    from tests.helpers.prosody import ProsodyServer

    root = tmp_path_factory.mktemp("prosody")
    server = ProsodyServer(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        if os.environ.get("KEEP_PROSODY_LOGS") is None:
            shutil.rmtree(root, ignore_errors=True)
