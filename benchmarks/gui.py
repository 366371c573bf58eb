"""GUI benchmarks, each in fresh subprocesses (offscreen Qt), beside a bare PySide6 window.

- cold start: from spawning the interpreter to the window shown, painted and the event loop
  idle. Ours follows omemo_desktop.app.main's order (QApplication, qasync loop, MainWindow
  shown and painted, then the service stack imported) and then opens the account database with
  100,000 stored messages, attaches a storage-backed messenger (our real storage and history
  code; no server connection) and opens the most recent conversation: its newest 50 messages
  painted. The floor: a bare QMainWindow shown and painted. Peak memory (ru_maxrss) of both.
- scrolling a chat of 10,000 messages: our ChatView filled with 10,000 MessageViews (time to
  fill) and then one synchronous repaint per scroll step across the whole range; the floor is a
  QListView over a 10,000-row string model of the same size, painted the same way.

Children print one JSON line; `python -m benchmarks.gui child MODE ...` runs one.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import Config, Row, Stats

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = "alice@example.org"
GUI_CONVERSATIONS = 200
WIDTH, HEIGHT = 1000, 700
PYCACHE = ROOT / "benchmarks" / "results" / "cache" / "pycache"


# --- parent ---------------------------------------------------------------------------------


def _child(mode: str, *args: str, timeout: float = 300) -> dict[str, Any]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_API="pyside6")
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    # An installed app starts from compiled bytecode (pip and PyInstaller ship it); a checkout
    # with PYTHONDONTWRITEBYTECODE would compile every module of ours on every start instead.
    # The warm-up runs fill this cache, for both sides alike.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    spawned = time.time()
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.gui", "child", mode, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"GUI child {mode} failed ({result.returncode}):\n{result.stderr}")
    report: dict[str, Any] = json.loads(lines[-1])
    if "idle_at" in report:
        report["cold_s"] = report["idle_at"] - spawned
        report["shown_s"] = report["shown_at"] - spawned
        for key in ("service", "qt", "qasync", "ui"):
            if f"{key}_at" in report:
                report[f"{key}_s"] = report[f"{key}_at"] - spawned
    return report


def run(cfg: Config) -> list[Row]:
    from .storage import build_database

    n = cfg.gui_messages
    db = Path(cfg.cache_dir) / f"gui-{n}.sqlite3"
    asyncio.run(build_database(db, n, GUI_CONVERSATIONS, cfg.log))
    rows: list[Row] = []
    ours: list[dict[str, Any]] = []
    bare: list[dict[str, Any]] = []
    _child("bare")  # warm the page and bytecode caches for both (first runs read from disk)
    _child("app", str(db))
    for _ in range(cfg.gui_runs):  # interleaved, so drift hits both alike
        bare.append(_child("bare"))
        ours.append(_child("app", str(db)))
    label = f"{n:,}"
    bare_cold = Stats.of([r["cold_s"] for r in bare])

    def med(key: str) -> float:
        return statistics.median(r[key] for r in ours)

    rows.append(
        Row(
            "GUI",
            "cold start: main window shown and painted",
            "s",
            Stats.of([r["shown_s"] for r in ours]),
            bare_cold,
            "bare PySide6",
            target_floor_ratio=1.5,
            note=f"bare = QMainWindow shown, painted and idle; ours: Qt up at {med('qt_s'):.2f} s,"
            f" qasync imported {med('qasync_s'):.2f} s, ui modules {med('ui_s'):.2f} s",
        )
    )
    service = statistics.median(r["service_s"] for r in ours)
    rows.append(
        Row(
            "GUI",
            f"cold start: idle, newest chat painted ({label} stored msgs)",
            "s",
            Stats.of([r["cold_s"] for r in ours]),
            bare_cold,
            "bare PySide6",
            target_floor_ratio=1.5,
            note=f"service stack imported + database open at {service:.2f} s",
        )
    )
    rows.append(
        Row(
            "GUI",
            "peak memory (ru_maxrss) at idle",
            "MiB",
            Stats.of([r["maxrss_mib"] for r in ours]),
            Stats.of([r["maxrss_mib"] for r in bare]),
            "bare PySide6",
            target_floor_ratio=1.5,
        )
    )
    cfg.log(f"  GUI: cold start {rows[1].ours.median:.2f} s vs {bare_cold.median:.2f} s")

    m = cfg.chat_messages
    chat_db = Path(cfg.cache_dir) / f"chat-{m}.sqlite3"
    asyncio.run(build_database(chat_db, m, 1, cfg.log))
    floor = _child("list", str(m))
    app_chat = _child("appchat", str(chat_db))
    rows.append(
        Row(
            "GUI",
            f"scroll a {m:,}-message chat in the window: paint per step",
            "ms",
            Stats.of(app_chat["paint_ms"]),
            Stats.of(floor["paint_ms"]),
            f"QListView of {m:,}",
            note=f"target ≤50 ms; {len(app_chat['paint_ms'])} steps up from the newest, paging"
            f" back to message {app_chat['reached']:,} of {m:,}"
            f"{' (time budget spent)' if app_chat['older_left'] else ''};"
            f" {app_chat['bubbles']} live bubbles at the end",
        )
    )
    cfg.log(f"  GUI: scroll paint {rows[-1].ours.median:.1f} ms")
    w = cfg.chat_widgets
    chat = _child("chat", str(w))
    rows.append(
        Row(
            "GUI",
            f"ChatView given {w:,} messages at once: paint per step",
            "ms",
            Stats.of(chat["paint_ms"]),
            Stats.of(floor["paint_ms"]),
            f"QListView of {m:,}",
            note=f"{chat['bubbles']:,} bubbles made; filling took {chat['fill_s']:.1f} s"
            f" (the {m:,}-row list model"
            f" {floor['fill_s']:.2f} s); peak {chat['maxrss_mib']:.0f} MiB vs"
            f" {floor['maxrss_mib']:.0f} MiB",
        )
    )
    return rows


# --- children ---------------------------------------------------------------------------------


def _pin_none() -> None:
    """PySide6 6.12 on Python 3.11 loses one reference to None on (nearly) every call of a
    void Qt method (setText, addWidget, setContentsMargins, ...; measured with
    sys.getrefcount), so a process that makes ~10,000 such calls aborts with "none_dealloc".
    Filling a chat with thousands of bubbles does. Python 3.12 makes None immortal; here the
    scroll benchmark pins None the same way so it can measure at all (the app itself does not
    do this yet: see the report)."""
    if sys.version_info < (3, 12):
        import ctypes

        for obj in (None, True, False):
            ctypes.c_ssize_t.from_address(id(obj)).value += 1 << 40


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _emit(report: dict[str, Any]) -> None:
    print(json.dumps(report), flush=True)


def child_bare() -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

    app = QApplication(sys.argv[:1])
    window = QMainWindow()
    window.setWindowTitle("bare")
    window.setCentralWidget(QLabel("Hello"))
    window.resize(WIDTH, HEIGHT)
    window.show()
    app.processEvents()
    shown = time.time()

    def idle() -> None:
        _emit({"idle_at": time.time(), "shown_at": shown, "maxrss_mib": _maxrss_mib()})
        app.quit()

    QTimer.singleShot(0, idle)
    app.exec()


def child_app(db_path: str) -> None:
    os.environ.setdefault("QT_API", "pyside6")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    stages = {"qt_at": time.time()}
    import qasync

    stages["qasync_at"] = time.time()
    from omemo_desktop.ui.main_window import MainWindow
    from omemo_desktop.ui.tasks import TaskRunner

    stages["ui_at"] = time.time()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    runner = TaskRunner(loop)
    with tempfile.TemporaryDirectory(prefix="bench-gui-") as tmp:
        settings = QSettings(str(Path(tmp) / "gui.ini"), QSettings.Format.IniFormat)
        window = MainWindow(runner, settings)
        window.resize(WIDTH, HEIGHT)
        window.show()
        app.processEvents()
        shown = time.time()
        report: dict[str, Any] = dict(stages)

        async def main() -> None:
            await asyncio.sleep(0)  # as app.main: paint first, then load the service stack
            messenger = await StorageMessenger.open(Path(db_path))
            report["service_at"] = time.time()
            window.attach(messenger)
            window.open_chat(messenger.latest_peer)
            while not window.chat.bubbles:
                await asyncio.sleep(0.001)
            await asyncio.sleep(0)
            app.processEvents()
            window.repaint()
            report.update(
                idle_at=time.time(),
                shown_at=shown,
                bubbles=len(window.chat.bubbles),
                maxrss_mib=_maxrss_mib(),
            )
            await messenger.close()

        with loop:
            loop.run_until_complete(main())
        window.close()
    _emit(report)


class StorageMessenger:
    """The read side of MessengerApi on our real storage and history code, offline.

    Built on the GUI tests' FakeMessenger (everything the window calls exists); conversations,
    contacts and history come from the account database.
    """

    @classmethod
    async def open(cls, path: Path) -> Any:
        # The service stack, imported after the first paint as app.main does.
        import omemo_desktop.service.messenger  # noqa: F401  (slixmpp and the rest)
        from omemo_desktop.service.account import Account
        from omemo_desktop.service.api import ContactView
        from omemo_desktop.storage import Database
        from tests.helpers.fake_messenger import FakeMessenger

        db = await Database.open(path)
        peers = await db.run(
            lambda c: [
                r[0]
                for r in c.execute(
                    "SELECT conversation FROM messages GROUP BY conversation"
                    " ORDER BY max(timestamp) DESC"
                )
            ]
        )

        class Messenger(FakeMessenger):
            latest_peer = peers[0]

            async def history(
                self, account: str, peer: str, *, limit: int = 50, before: float | None = None
            ) -> list[Any]:
                view = type("AccountView", (), {"db": db, "jid": account})()
                result: list[Any] = await Account.history(view, peer, limit, before)  # type: ignore[arg-type]
                return result

            async def close(self) -> None:
                await db.close()

        messenger = Messenger()
        messenger.add_account_now(ACCOUNT)
        messenger.set_contacts(
            ACCOUNT, [ContactView(p, p.split("@")[0].title(), "both") for p in peers]
        )
        return messenger


def _bodies(n: int) -> list[str]:
    words = ["the", "meeting", "moved", "to", "thursday", "bring", "slides", "and", "coffee"]
    return [
        " ".join(words[: 3 + i % 8]) + (" and a longer line" * (i % 5) if i % 7 == 0 else "")
        for i in range(n)
    ]


def _messages(n: int) -> list[Any]:
    from omemo_desktop.service.api import MessageView

    start = time.time() - n * 60
    return [
        MessageView(
            id=str(i),
            account=ACCOUNT,
            peer="bob@example.org",
            direction="out" if i % 3 == 0 else "in",
            body=body,
            timestamp=start + i * 60,
            encryption="omemo2",
            sender_device=4242,
            trust="trusted",
            state="read",
        )
        for i, body in enumerate(_bodies(n))
    ]


def _scroll_paint(view: Any, app: Any) -> list[float]:
    bar = view.verticalScrollBar()
    steps = 60
    top = bar.maximum()
    samples = []
    for k in range(steps + 1):
        bar.setValue(top - top * k // steps)
        app.processEvents()
        t0 = time.perf_counter()
        view.grab()  # renders everything visible, children included, synchronously
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


async def _scroll_paint_paging(view: Any, budget_s: float) -> list[float]:
    """Bottom to top in 60 steps, then pulls at the top while the view pages older history
    in (it does so when its top is reached), until it has none left or the time budget is
    spent. The event loop runs between steps; each sample is one synchronous full paint."""
    bar = view.verticalScrollBar()
    samples = []
    deadline = time.monotonic() + budget_s
    k = 0
    while k < 60 or (getattr(view, "has_older", False) and time.monotonic() < deadline):
        top = bar.maximum()
        bar.setValue(max(0, top - top * k // 59))
        await asyncio.sleep(0.005)
        t0 = time.perf_counter()
        view.grab()
        samples.append((time.perf_counter() - t0) * 1000)
        k += 1
    return samples


def child_appchat(db_path: str, budget_s: float = 60.0) -> None:
    """The main window with a conversation of many stored messages open, scrolled."""
    _pin_none()
    os.environ.setdefault("QT_API", "pyside6")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    import qasync

    from omemo_desktop.ui.main_window import MainWindow
    from omemo_desktop.ui.tasks import TaskRunner

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory(prefix="bench-gui-") as tmp:
        settings = QSettings(str(Path(tmp) / "gui.ini"), QSettings.Format.IniFormat)
        window = MainWindow(TaskRunner(loop), settings)
        window.resize(WIDTH, HEIGHT)
        window.show()
        report: dict[str, Any] = {}

        async def main() -> None:
            messenger = await StorageMessenger.open(Path(db_path))
            window.attach(messenger)
            window.open_chat(messenger.latest_peer)
            while not window.chat.bubbles:
                await asyncio.sleep(0.001)
            await asyncio.sleep(0.05)
            report.update(
                paint_ms=await _scroll_paint_paging(window.chat, budget_s),
                bubbles=len(window.chat.bubbles),
                reached=getattr(window.chat, "message_count", len(window.chat.bubbles)),
                older_left=bool(getattr(window.chat, "has_older", False)),
                maxrss_mib=_maxrss_mib(),
            )
            await messenger.close()

        with loop:
            loop.run_until_complete(main())
        window.close()
    _emit(report)


def child_chat(n: int) -> None:
    _pin_none()
    os.environ.setdefault("QT_API", "pyside6")
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    from omemo_desktop.ui.chat_view import ChatView

    view = ChatView()
    view.resize(WIDTH - 300, HEIGHT - 150)
    view.show()
    app.processEvents()
    messages = _messages(n)
    t0 = time.perf_counter()
    view.set_conversation("bob@example.org", messages)
    app.processEvents()
    fill = time.perf_counter() - t0
    samples = _scroll_paint(view, app)
    _emit(
        {
            "fill_s": fill,
            "paint_ms": samples,
            "maxrss_mib": _maxrss_mib(),
            "bubbles": len(view.bubbles),
        }
    )


def child_list(n: int) -> None:
    from PySide6.QtCore import QStringListModel
    from PySide6.QtWidgets import QApplication, QListView

    app = QApplication(sys.argv[:1])
    view = QListView()
    view.setWordWrap(True)
    view.setUniformItemSizes(False)
    view.resize(WIDTH - 300, HEIGHT - 150)
    view.show()
    app.processEvents()
    t0 = time.perf_counter()
    model = QStringListModel(_bodies(n))
    view.setModel(model)
    app.processEvents()
    fill = time.perf_counter() - t0
    samples = _scroll_paint(view, app)
    _emit({"fill_s": fill, "paint_ms": samples, "maxrss_mib": _maxrss_mib()})


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[0] != "child":
        raise SystemExit("usage: python -m benchmarks.gui child bare|app DB|chat N|list N")
    mode = argv[1]
    if mode == "bare":
        child_bare()
    elif mode == "app":
        child_app(argv[2])
    elif mode == "appchat":
        child_appchat(argv[2])
    elif mode == "chat":
        child_chat(int(argv[2]))
    elif mode == "list":
        child_list(int(argv[2]))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1:])
