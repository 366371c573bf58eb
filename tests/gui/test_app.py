"""The composition root: --smoke, arguments, and the window before and after the service."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from omemo_desktop import app
from omemo_desktop.ui.main_window import MainWindow
from omemo_desktop.ui.tasks import TaskRunner
from tests.gui.conftest import ALICE, BOB
from tests.helpers.fake_messenger import FakeMessenger

ROOT = Path(__file__).resolve().parents[2]


def test_smoke_exits_zero_quickly(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", OMEMO_DESKTOP_DATA_DIR=str(tmp_path))
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "omemo_desktop", "--smoke"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert elapsed < 5
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir()), "--smoke must not create data"


def test_arguments_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMEMO_DESKTOP_DATA_DIR", "/tmp/x")
    monkeypatch.setenv("OMEMO_DESKTOP_CA_FILE", "/tmp/ca.pem")
    args = app.parse_args(["xmpp:bob@example.org"])
    assert args.data_dir == "/tmp/x"
    assert args.ca_file == "/tmp/ca.pem"
    assert args.uri == "xmpp:bob@example.org"
    assert not args.smoke
    args = app.parse_args(["--data-dir", "/d", "--ca-file", "/c.pem", "--smoke"])
    assert (args.data_dir, args.ca_file, args.smoke) == ("/d", "/c.pem", True)


def test_window_paints_before_the_service_and_fills_after(
    qtbot, runner: TaskRunner, settings, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    win = MainWindow(runner, settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    assert not win.add_contact_action.isEnabled()
    win.attach(fake)
    assert win.account_box.currentText() == ALICE
    assert win.contact_list.count() == 2
    assert win.add_contact_action.isEnabled()
    first = win.contact_list.item(0)
    assert first.text().startswith("Bob")  # online first
    assert "Online" in first.text()


def test_first_run_shows_the_welcome_page(qtbot, runner: TaskRunner, settings) -> None:  # type: ignore[no-untyped-def]
    win = MainWindow(runner, settings)
    qtbot.addWidget(win)
    win.attach(FakeMessenger())
    win.show()
    assert win.stack.currentWidget() is win.welcome
    assert win.welcome_button.isVisible()


def test_uri_argument_opens_a_chat(window: MainWindow, drive) -> None:  # type: ignore[no-untyped-def]
    window.open_uri(f"xmpp:{BOB}")
    drive.until(lambda: window.chat.bubbles)
    assert window.peer == BOB


def test_main_paints_then_starts_the_service_and_closes_it(
    qapp, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from PySide6.QtCore import QTimer

    import omemo_desktop.service.api as api

    fake = FakeMessenger()
    fake.add_account_now(ALICE)
    seen: list[MainWindow] = []

    def create(data_dir: Path, ca_file: Path | None = None) -> FakeMessenger:
        assert data_dir == tmp_path and ca_file == tmp_path / "ca.pem"
        windows = [w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow)]
        assert windows and windows[0].isVisible(), "the window shows before the service"
        seen.append(windows[0])
        QTimer.singleShot(50, windows[0].close)
        return fake

    monkeypatch.setattr(api, "create_messenger", create)
    quit_on_close = qapp.quitOnLastWindowClosed()
    try:
        code = app.main(["--data-dir", str(tmp_path), "--ca-file", str(tmp_path / "ca.pem")])
    finally:
        qapp.setQuitOnLastWindowClosed(quit_on_close)
        asyncio.set_event_loop(None)
    assert code == 0
    assert [c.name for c in fake.calls] == ["start", "close"]
    assert seen[0].account_box.currentText() == ALICE
