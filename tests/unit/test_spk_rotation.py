"""The weekly signed pre-key rotation of the OMEMO account layer (no network needed)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from omemo_desktop.omemo.keys import IdentityKeyPair
from omemo_desktop.service.omemo_account import OmemoAccount
from omemo_desktop.service.omemo_backends import BACKENDS
from omemo_desktop.storage import Database
from omemo_desktop.storage.model import Namespace

WEEK = 7 * 24 * 3600


async def test_rotation_is_weekly_and_keeps_the_previous_key(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "a.sqlite3")
    acc: Any = OmemoAccount.__new__(OmemoAccount)  # only the pieces rotation uses
    acc.db, acc.rnd = db, os.urandom
    acc.identity = IdentityKeyPair.generate(os.urandom)
    acc._prekeys = {ns: b.new_prekeys(acc.identity, os.urandom, 1000) for ns, b in BACKENDS.items()}
    before = {ns: pk for ns, pk in acc._prekeys.items()}
    await acc._rotate_if_due(1000 + WEEK - 1)
    assert acc._prekeys == before
    await acc._rotate_if_due(1000 + WEEK)
    two = acc._prekeys[Namespace.OMEMO2]
    assert two.spk.id != before[Namespace.OMEMO2].spk.id
    assert two.previous_spk == before[Namespace.OMEMO2].spk
    legacy = acc._prekeys[Namespace.LEGACY]
    assert legacy.old_signed_pre_key == before[Namespace.LEGACY].signed_pre_key
    await db.close()
