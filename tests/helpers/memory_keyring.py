"""An isolated in-memory keyring backend for unit tests.

Selected with ``PYTHON_KEYRING_BACKEND=tests.helpers.memory_keyring.MemoryKeyring`` (the suite's
conftest sets it), so no test can touch the developer's real keyring. Each instance has its
own dictionary: ``keyring.core.load_keyring`` makes a fresh, empty one every time.
"""

from __future__ import annotations

from typing import Any

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    priority: Any = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.secrets[(service, username)]
        except KeyError:
            raise PasswordDeleteError("no such password") from None
