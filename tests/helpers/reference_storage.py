"""The storage interface of Syndace's reference libraries (python-omemo), kept in a dict.

Shared by every test-only peer and oracle (tests/interop, tests/helpers, benchmarks).
"""

from __future__ import annotations

from typing import Any

from omemo.storage import Just, Maybe, Nothing, Storage


class MemoryStorage(Storage):
    def __init__(self, *, cache: bool = False) -> None:
        # Without python-omemo's own cache every load goes through here (tests see the truth);
        # benchmarks keep the cache, as a real client using the library would.
        super().__init__(disable_cache=not cache)
        self.data: dict[str, Any] = {}

    async def _load(self, key: str) -> Maybe[Any]:
        return Just(self.data[key]) if key in self.data else Nothing()

    async def _store(self, key: str, value: Any) -> None:
        self.data[key] = value

    async def _delete(self, key: str) -> None:
        self.data.pop(key, None)
