"""A full disk and a read-only data directory under a running client: clear errors, nothing
lost or doubled once the disk is usable again, and an intact database.

As root the data directory is a small tmpfs that really fills up (and is remounted
read-only); without mount rights SQLite's max_page_count stands in for the full disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from omemo_desktop.service.api import ErrorOccurred, ServiceError
from omemo_desktop.service.messenger import Messenger
from tests.reliability.support import MakePeer, Peer, exactly_once, stored_bodies


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path | None]:
    """bob's data directory on a 16 MiB tmpfs, or None when mounting is not allowed."""
    where = tmp_path / "bob"
    where.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(where)):
        yield None
        return
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def _fill(disk: Path) -> Path:
    """Write zeros until the file system refuses another byte."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 4096, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return filler


async def _integrity(peer: Peer) -> str:
    return str(await peer.acc.db.run(lambda c: c.execute("PRAGMA integrity_check").fetchone()[0]))


async def _errors_since(peer: Peer, start: int) -> list[str]:
    return [e.text for e in peer.events[start:] if isinstance(e, ErrorOccurred)]


async def test_full_disk_keeps_received_messages_until_there_is_room(
    peers: MakePeer, small_disk: Path | None
) -> None:
    alice, bob = await peers("alice"), await peers("bob")
    await alice.m.send_message(alice.jid, bob.jid, "before")
    await bob.wait_bodies(["before"])

    mark = len(bob.events)
    if small_disk is not None:
        filler = _fill(small_disk)
    else:
        await bob.acc.db.run(
            lambda c: c.execute(
                f"PRAGMA max_page_count = {c.execute('PRAGMA page_count').fetchone()[0]}"
            )
        )
    # Sending while full: refused at once with words about disk space, nothing half-stored.
    with pytest.raises(ServiceError, match="disk space"):
        await bob.m.send_message(bob.jid, alice.jid, "cannot be stored")

    wanted = [f"while full {i}" for i in range(3)]
    for text in wanted:
        await alice.m.send_message(alice.jid, bob.jid, text)
    await bob.wait_for(lambda: any(isinstance(e, ErrorOccurred) for e in bob.events[mark:]))
    (error, *_) = await _errors_since(bob, mark)
    assert "disk" in error and "kept" in error, error
    await asyncio.sleep(1.0)
    assert not set(wanted) & set(bob.bodies()), "stored while the disk was full?"

    if small_disk is not None:
        filler.unlink()
    else:
        await bob.acc.db.run(lambda c: c.execute("PRAGMA max_page_count = 1073741823"))
    await bob.wait_bodies(wanted, timeout=60)
    await alice.m.send_message(alice.jid, bob.jid, "after")
    await bob.m.send_message(bob.jid, alice.jid, "bob can write again")
    await bob.wait_bodies(["after"])
    await alice.wait_bodies(["bob can write again"])
    exactly_once(await stored_bodies(bob.acc, alice.jid), ["before", *wanted, "after"])
    assert await _integrity(bob) == "ok"
    assert bob.m.connection_state(bob.jid) == "connected"


async def test_read_only_data_is_reported_and_nothing_is_corrupted(
    peers: MakePeer, small_disk: Path | None
) -> None:
    alice, bob = await peers("alice"), await peers("bob")
    await alice.m.send_message(alice.jid, bob.jid, "before")
    await bob.wait_bodies(["before"])

    # The database turns read-only under the running client. (A file system cannot be
    # remounted read-only while the database is open for writing, so SQLite's query_only
    # gives the same "attempt to write a readonly database".)
    mark = len(bob.events)
    await bob.acc.db.run(lambda c: c.execute("PRAGMA query_only = ON"))
    wanted = [f"while read-only {i}" for i in range(2)]
    for text in wanted:
        await alice.m.send_message(alice.jid, bob.jid, text)
    await bob.wait_for(lambda: any(isinstance(e, ErrorOccurred) for e in bob.events[mark:]))
    (error, *_) = await _errors_since(bob, mark)
    assert "readonly" in error and "permissions" in error, error
    with pytest.raises(ServiceError, match="permissions"):
        await bob.m.send_message(bob.jid, alice.jid, "cannot be stored")
    await bob.acc.db.run(lambda c: c.execute("PRAGMA query_only = OFF"))
    await bob.wait_bodies(wanted, timeout=60)
    assert await _integrity(bob) == "ok"

    if small_disk is None:
        return  # starting on a read-only file system needs mount rights
    # Starting on a read-only data directory: one clear sentence, and the files untouched.
    await bob.m.close()
    assert _mount("-o", "remount,ro", str(small_disk))
    try:
        with pytest.raises(ServiceError, match="writable"):
            Messenger(data_dir=small_disk, ca_file=None)
    finally:
        assert _mount("-o", "remount,rw", str(small_disk))
    bob = await peers("bob")
    await alice.m.send_message(alice.jid, bob.jid, "after")
    await bob.wait_bodies(["after"])
    exactly_once(await stored_bodies(bob.acc, alice.jid), ["before", *wanted, "after"])
    assert await _integrity(bob) == "ok"
