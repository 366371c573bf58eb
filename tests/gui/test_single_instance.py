"""One app per data folder: a second launch hands its xmpp: link to the running one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QDir
from PySide6.QtNetwork import QLocalServer

from omemo_desktop.ui.single_instance import SingleInstance, hand_over, server_name

ROOT = Path(__file__).resolve().parents[2]
LINK = "xmpp:bob@example.org?message;body=hello%20there%3B%20ok"


def hand_over_in_thread(name: str, message: str) -> list[object]:
    """hand_over blocks until the server answers, so it cannot share the server's thread."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(hand_over(name, message, timeout_ms=10_000))
        except Exception as error:  # reported by the test
            outcome.append(error)

    threading.Thread(target=run, daemon=True).start()
    return outcome


def test_names_are_per_data_folder(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert server_name(a) == server_name(a / ".." / "a")
    assert server_name(a) != server_name(b)
    assert len(server_name(a)) < 40  # fits a Unix socket path in any temp dir


def test_nobody_listening_means_start_normally(tmp_path: Path, qapp) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    assert hand_over(server_name(tmp_path), LINK) is False
    assert time.monotonic() - started < 2


def test_a_second_launch_hands_its_link_to_the_first(tmp_path: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    name = server_name(tmp_path)
    first = SingleInstance(name)
    assert first.listen()
    try:
        received: list[str] = []
        first.received.connect(received.append)
        outcome = hand_over_in_thread(name, LINK)
        qtbot.waitUntil(lambda: bool(received and outcome), timeout=10_000)
        assert received == [LINK]
        assert outcome == [True]
        # A launch without a link just brings the window forward.
        outcome = hand_over_in_thread(name, "")
        qtbot.waitUntil(lambda: len(received) == 2 and bool(outcome), timeout=10_000)
        assert received[1] == ""
        # Another instance on the same data folder does not take over the socket.
        second = SingleInstance(name)
        assert second.listen() is False
        second.close()
    finally:
        first.close()


@pytest.mark.skipif(sys.platform == "win32", reason="Unix socket files")
def test_a_socket_left_by_a_crash_is_taken_over(tmp_path: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    name = server_name(tmp_path)
    path = os.path.join(QDir.tempPath(), name)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)  # a socket file nobody listens on, as a killed app leaves it
    stale.close()
    try:
        instance = SingleInstance(name)
        assert instance.listen()
        received: list[str] = []
        instance.received.connect(received.append)
        outcome = hand_over_in_thread(name, LINK)
        qtbot.waitUntil(lambda: bool(received and outcome), timeout=10_000)
        assert received == [LINK]
        instance.close()
    finally:
        QLocalServer.removeServer(name)


def test_two_processes_second_launch_exits_and_the_first_opens_the_link(
    tmp_path: Path, qapp
) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    log_path = tmp_path / "first.log"
    # The memory keyring from tests/conftest.py's environment: no system keyring needed.
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    command = [sys.executable, "-m", "omemo_desktop", "--data-dir", str(data)]
    with log_path.open("w") as log:
        first = subprocess.Popen(
            [*command, "--log-level", "INFO"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    name = server_name(data)
    try:
        deadline = time.monotonic() + 30
        while not hand_over(name, ""):  # until the first one listens
            assert first.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        started = time.monotonic()
        second = subprocess.run(
            [*command, LINK], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
        )
        assert second.returncode == 0, second.stderr
        assert time.monotonic() - started < 10
        assert "handed it" in second.stderr or second.stderr == ""
        deadline = time.monotonic() + 15
        while f"handed over {LINK!r}" not in log_path.read_text():
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)
        assert first.poll() is None, "the first app keeps running"
    finally:
        first.terminate()
        first.wait(timeout=15)
        QLocalServer.removeServer(name)  # terminate() skips the app's own clean-up


def test_macos_link_events_are_picked_up(qapp) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QFileOpenEvent

    from omemo_desktop.ui.single_instance import UrlOpenEvents

    events = UrlOpenEvents()
    received: list[str] = []
    events.received.connect(received.append)
    qapp.installEventFilter(events)
    try:
        qapp.sendEvent(qapp, QFileOpenEvent(QUrl(LINK)))
        qapp.sendEvent(qapp, QFileOpenEvent(QUrl.fromLocalFile("/tmp/photo.png")))
    finally:
        qapp.removeEventFilter(events)
    assert received == [LINK]
