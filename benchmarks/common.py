"""Shared pieces of the benchmarks: timing with spread, result rows, the table and the report.

Timing: every sample is one call (or ``inner`` calls averaged); a series reports its median and
the interquartile range (p25..p75). Garbage collection is run before each series, not disabled:
our code and the references both pay for their allocations.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Stats:
    """Median and interquartile range of a series, in the unit of the row."""

    median: float
    q1: float
    q3: float
    n: int

    @classmethod
    def of(cls, samples: list[float]) -> Stats:
        if not samples:
            raise ValueError("no samples")
        if len(samples) == 1:
            return cls(samples[0], samples[0], samples[0], 1)
        q = statistics.quantiles(samples, n=4, method="inclusive")
        return cls(statistics.median(samples), q[0], q[2], len(samples))

    @classmethod
    def exact(cls, value: float) -> Stats:
        """A figure that does not vary between runs (a byte count)."""
        return cls(value, value, value, 1)

    def scaled(self, factor: float) -> Stats:
        return Stats(self.median * factor, self.q1 * factor, self.q3 * factor, self.n)


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table: our figure beside its comparisons from the same run."""

    section: str
    case: str
    unit: str
    ours: Stats
    floor: Stats | None = None
    floor_name: str = ""
    reference: Stats | None = None
    reference_name: str = ""
    #: the issue's target as a maximum ratio against the floor (None: no target)
    target_floor_ratio: float | None = None
    note: str = ""


@dataclass
class Config:
    quick: bool = False
    #: recipient device counts for the steady-state encryption rows
    devices: tuple[int, ...] = (1, 10, 100, 1000)
    #: messages in the alternating conversation
    conversation: int = 10_000
    #: stored messages for the storage rows / the GUI cold start / the scrolled chat
    storage_messages: int = 1_000_000
    gui_messages: int = 100_000
    chat_messages: int = 10_000
    #: bubbles put into one ChatView at once (the widget-per-message stress case)
    chat_widgets: int = 2_000
    #: repetitions of a fast operation (scaled down for slow ones)
    reps: int = 300
    #: repetitions of each GUI subprocess
    gui_runs: int = 5
    cache_dir: str = ""
    log: Callable[[str], None] = field(default=print)

    @classmethod
    def make(cls, quick: bool, cache_dir: str) -> Config:
        if quick:
            return cls(
                quick=True,
                devices=(1, 10, 100),
                conversation=400,
                storage_messages=20_000,
                gui_messages=5_000,
                chat_messages=1_000,
                chat_widgets=300,
                reps=40,
                gui_runs=2,
                cache_dir=cache_dir,
            )
        return cls(cache_dir=cache_dir)


def reps_for(base: int, devices: int, minimum: int = 5) -> int:
    """Fewer repetitions for bigger fan-outs so every series takes a similar time."""
    return max(minimum, base // max(1, devices // 5))


def measure(
    fn: Callable[[], object], reps: int, *, warmup: int = 3, inner: int = 1, scale: float = 1e6
) -> Stats:
    """Time ``fn``; each sample is the mean of ``inner`` calls; default unit µs."""
    for _ in range(warmup):
        fn()
    gc.collect()
    samples = []
    clock = time.perf_counter
    for _ in range(reps):
        start = clock()
        for _ in range(inner):
            fn()
        samples.append((clock() - start) / inner * scale)
    return Stats.of(samples)


def ameasure(
    loop: asyncio.AbstractEventLoop,
    fn: Callable[[], Awaitable[object]],
    reps: int,
    *,
    warmup: int = 3,
    scale: float = 1e6,
) -> Stats:
    """Time an async callable inside one running loop (no per-sample loop start-up cost)."""

    async def series() -> list[float]:
        for _ in range(warmup):
            await fn()
        gc.collect()
        samples = []
        clock = time.perf_counter
        for _ in range(reps):
            start = clock()
            await fn()
            samples.append((clock() - start) * scale)
        return samples

    return Stats.of(loop.run_until_complete(series()))


def _samples(fn: Callable[[], object], count: int, scale: float) -> list[float]:
    clock = time.perf_counter
    out = []
    for _ in range(count):
        start = clock()
        fn()
        out.append((clock() - start) * scale)
    return out


def _asamples(
    loop: asyncio.AbstractEventLoop, fn: Callable[[], Awaitable[object]], count: int, scale: float
) -> list[float]:
    async def series() -> list[float]:
        clock = time.perf_counter
        out = []
        for _ in range(count):
            start = clock()
            await fn()
            out.append((clock() - start) * scale)
        return out

    return loop.run_until_complete(series())


def interleaved(
    loop: asyncio.AbstractEventLoop,
    ours: tuple[Callable[[], object], int],
    floor: tuple[Callable[[], object], int],
    reference: tuple[Callable[[], Awaitable[object]], int],
    *,
    rounds: int | None = None,
    warmup: int = 2,
    scale: float = 1e6,
) -> tuple[Stats, Stats, Stats]:
    """Ours, the floor and the (async) reference measured in alternating rounds, so that
    load from other processes on a shared machine falls on all three alike."""
    a, b, c = interleaved_many(
        loop,
        [
            (ours[0], ours[1], False),
            (floor[0], floor[1], False),
            (reference[0], reference[1], True),
        ],
        rounds=rounds,
        warmup=warmup,
        scale=scale,
    )
    return a, b, c


def interleaved_many(
    loop: asyncio.AbstractEventLoop,
    series: list[tuple[Callable[[], Any], int, bool]],
    *,
    rounds: int | None = None,
    warmup: int = 2,
    scale: float = 1e6,
) -> list[Stats]:
    """Several series (fn, repetitions, is_async) measured interleaved in `rounds` chunks (10
    by default; each series gets its share of samples per round), so a burst of load from
    other processes cannot fall on one series only, while consecutive samples of one series
    still run with warm caches, as in a loop."""
    for fn, _reps, is_async in series:
        if is_async:
            _asamples(loop, fn, warmup, scale)
        else:
            _samples(fn, warmup, scale)
    gc.collect()
    total = rounds or min(10, max(reps for _fn, reps, _a in series))
    samples: list[list[float]] = [[] for _ in series]
    for r in range(total):
        for out, (fn, reps, is_async) in zip(samples, series, strict=True):
            count = (r + 1) * reps // total - r * reps // total
            if count:
                out += _asamples(loop, fn, count, scale) if is_async else _samples(fn, count, scale)
    return [Stats.of(s) for s in samples]


# --- formatting -----------------------------------------------------------------------------


def fmt_value(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def fmt_stats(s: Stats | None) -> str:
    if s is None:
        return "—"
    if s.n == 1 or s.q3 == s.q1:
        return fmt_value(s.median)
    return f"{fmt_value(s.median)} ±{fmt_value((s.q3 - s.q1) / 2)}"


def fmt_ratio(ours: Stats, other: Stats | None) -> str:
    if other is None or other.median == 0:
        return "—"
    ratio = ours.median / other.median
    return f"{ratio:.2f}×" if ratio < 10 else f"{ratio:.0f}×"


def target_mark(row: Row) -> str:
    if row.target_floor_ratio is None or row.floor is None:
        return ""
    ok = row.ours.median <= row.target_floor_ratio * row.floor.median
    return f"≤{row.target_floor_ratio:g}× {'✓' if ok else '✗'}"


HEADERS = (
    "section",
    "case",
    "unit",
    "ours",
    "floor",
    "ours/floor",
    "reference",
    "ours/ref",
    "target",
    "note",
)


def cells(row: Row) -> list[str]:
    floor = f"{fmt_stats(row.floor)} {row.floor_name}" if row.floor else "—"
    ref = f"{fmt_stats(row.reference)} {row.reference_name}" if row.reference else "—"
    return [
        row.section,
        row.case,
        row.unit,
        fmt_stats(row.ours),
        floor,
        fmt_ratio(row.ours, row.floor),
        ref,
        fmt_ratio(row.ours, row.reference),
        target_mark(row),
        row.note,
    ]


def text_table(rows: list[Row]) -> str:
    table = [list(HEADERS)] + [cells(r) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADERS))]
    out = []
    for i, line in enumerate(table):
        out.append("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def markdown_table(rows: list[Row]) -> str:
    out = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for row in rows:
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells(row)) + " |")
    return "\n".join(out)
