"""The benchmarks are not run in CI; this keeps their code from rotting (one tiny case, < 2 s)."""

from __future__ import annotations

import asyncio

from benchmarks import floor, protocol
from benchmarks.common import Config, Row, Stats, markdown_table, measure, text_table


def test_one_protocol_case_against_floor_and_reference() -> None:
    ours = protocol.Ours("omemo2")
    loop = asyncio.new_event_loop()
    try:
        theirs = protocol.Theirs("omemo2", loop)
        me, their_sessions = theirs.sessions(1)
        encrypt = ours.encrypt(ours.sessions(1))
        wire = encrypt()
        assert len(wire) == 2 and all(wire)  # payload + one key element
        fix = floor.Fixture(floor.Omemo2)
        row = Row(
            "OMEMO 2",
            "encrypt, 1 device",
            "µs",
            measure(encrypt, 3, warmup=1),
            measure(lambda: fix.encrypt(1, protocol.ENVELOPE), 3, warmup=1),
            "",
            measure(lambda: loop.run_until_complete(theirs.encrypt(me, their_sessions)()), 3),
            "twomemo",
            target_floor_ratio=2.0,
        )
    finally:
        loop.close()
    table = text_table([row])
    assert "encrypt, 1 device" in table and "twomemo" in table and "×" in table
    assert markdown_table([row]).count("\n") == 2
    assert protocol.stanza_bytes("omemo2", wire[0], wire[1:]) > 500


def test_stats_and_quick_config() -> None:
    s = Stats.of([1.0, 2.0, 3.0, 4.0, 100.0])
    assert s.median == 3.0 and s.q1 == 2.0 and s.q3 == 4.0 and s.n == 5
    cfg = Config.make(True, "/nonexistent")
    assert cfg.quick and max(cfg.devices) <= 100 and cfg.storage_messages < 1_000_000
