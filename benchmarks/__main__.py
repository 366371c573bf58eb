"""`python -m benchmarks` (= `make bench`): every benchmark, one table, results/latest.md.

    python -m benchmarks [--quick] [--only protocol,storage,gui] [--out FILE]

Each of our figures stands beside its comparisons measured in the same run: the primitives
floor (the `cryptography` calls alone, raw sqlite3, a bare PySide6 window), and Syndace's
twomemo / oldmemo for the protocol. Values are medians; "±" is half the interquartile range.
--quick uses fewer repetitions and smaller sizes (a sanity run, seconds instead of minutes)
and writes results/quick.md instead of results/latest.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.metadata
import os
import platform
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from .common import Config, Row, markdown_table, text_table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SECTIONS = ("protocol", "storage", "gui")


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 2**20:.0f} GiB"
    except OSError:
        pass
    return "?"


def _git(*args: str) -> str:
    try:
        out = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False
        )
        return out.stdout.strip()
    except OSError:
        return ""


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def header(cfg: Config, elapsed: float) -> str:
    commit = _git("rev-parse", "--short", "HEAD") or "?"
    dirty = (
        " (with uncommitted changes)"
        if _git("status", "--porcelain", "--", "omemo_desktop")
        else ""
    )
    versions = ", ".join(
        f"{name} {_version(name)}"
        for name in ("cryptography", "protobuf", "PySide6_Essentials", "slixmpp", "Twomemo")
    )
    versions += f", oldmemo {_version('Oldmemo')}, OMEMO {_version('OMEMO')}"
    return "\n".join(
        [
            "# Benchmark results",
            "",
            f"- when: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M UTC}, "
            f"{'quick' if cfg.quick else 'full'} run, {elapsed:.0f} s",
            f"- commit: {commit}{dirty}",
            f"- machine: {_cpu()}, {os.cpu_count()} cores, {_memory()} RAM, "
            f"{platform.system()} {platform.release()}; load average at the end "
            f"{os.getloadavg()[1]:.1f} (5 min): other processes share the cores; this run"
            f" at nice {os.nice(0)}",
            f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {versions}",
            "- command: `make bench` (= `python -m benchmarks`); medians, ± = half the "
            "interquartile range; ratios are ours / comparison, same run",
        ]
    )


NOTES = """
Notes:
- floor (protocol): only the `cryptography` calls the operation needs (benchmarks/floor.py):
  X25519, Ed25519 verify, HKDF, HMAC, AES-CBC/GCM with no parsing, serialization or state.
- twomemo / oldmemo: Syndace's backends (Twomemo/Oldmemo classes) with an in-memory storage,
  key material serialized/parsed as on the wire; their session manager (python-omemo's
  SessionManager, which also persists every session) is not included.
- encrypt for N devices: N sessions from one device; one payload encryption plus N key
  encryptions. The conversation: every message answers the previous one (a DH ratchet step on
  each side), encrypt + decrypt per message.
- storage: ours = repository call through the database worker thread (as the service calls
  it) building dataclasses; floor = the same SQL on a plain sqlite3 connection.
- GUI: subprocesses with QT_QPA_PLATFORM=offscreen; the app run opens a real account database
  through our storage and history code without a server connection (benchmarks/gui.py).
  Children start from compiled bytecode (a cache warmed by the first runs), as an installed
  app does, even where PYTHONDONTWRITEBYTECODE is set. The app pins None's reference count
  itself (ui/qt_compat.py): PySide6 6.12 on Python 3.11 drops a reference to None on nearly
  every void Qt call.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, smaller sizes")
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}"
    )
    parser.add_argument("--out", help="report file (default results/latest.md or quick.md)")
    parser.add_argument(
        "--cache-dir",
        default=str(HERE / "results" / "cache"),
        help="where the big databases are built once and reused (not committed)",
    )
    args = parser.parse_args(argv)
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {SECTIONS}")
    cfg = Config.make(args.quick, args.cache_dir)
    cfg.log = lambda text: print(text, file=sys.stderr, flush=True)
    # On a shared machine, ask the scheduler to favour this run (and its GUI children) a
    # little over other work; allowed for root only, harmless to skip otherwise.
    with contextlib.suppress(OSError):
        os.nice(-5)

    started = time.perf_counter()
    rows: list[Row] = []
    for name in sections:
        cfg.log(f"[{name}] ({time.perf_counter() - started:.0f} s)")
        if name == "protocol":
            from . import protocol

            rows += protocol.run(cfg)
        elif name == "storage":
            from . import storage

            rows += storage.run(cfg)
        else:
            from . import gui

            rows += gui.run(cfg)
    elapsed = time.perf_counter() - started

    print()
    print(text_table(rows))
    out = (
        Path(args.out)
        if args.out
        else HERE / "results" / ("quick.md" if cfg.quick else "latest.md")
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"{header(cfg, elapsed)}\n\n{markdown_table(rows)}\n{NOTES}", encoding="utf-8")
    print(f"\nwritten to {out} ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
