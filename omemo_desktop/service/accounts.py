"""The list of configured accounts (non-secret settings only) in <data>/accounts.json.

Passwords and identity keys live in the keyring, never here.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import AccountError


@dataclass(frozen=True)
class AccountConfig:
    jid: str
    server: str | None = None
    trust_policy: str = "manual"  # manual | blind | tofu
    enabled: bool = True


class AccountRegistry:
    def __init__(self, data_dir: Path) -> None:
        self._file = data_dir / "accounts.json"

    def load(self) -> list[AccountConfig]:
        if not self._file.exists():
            return []
        try:
            raw = json.loads(self._file.read_text(encoding="utf-8"))
            return [AccountConfig(**item) for item in raw["accounts"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise AccountError(
                f"The account list {self._file} is damaged ({exc}). Move it away and add "
                "your accounts again; your messages stay in their folders."
            ) from exc

    def save(self, accounts: list[AccountConfig]) -> None:
        tmp = self._file.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({"version": 1, "accounts": [asdict(a) for a in accounts]}, indent=2),
            encoding="utf-8",
        )
        os.replace(tmp, self._file)  # atomic: a crash leaves the old or the new list

    def upsert(self, config: AccountConfig) -> None:
        accounts = [a for a in self.load() if a.jid != config.jid]
        accounts.append(config)
        self.save(accounts)

    def get(self, jid: str) -> AccountConfig:
        for a in self.load():
            if a.jid == jid:
                return a
        raise AccountError(f"No account {jid} is configured.")
