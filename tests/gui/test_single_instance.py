"""One app per data folder: a second launch hands its xmpp: link to the running one."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QDir
from PySide6.QtNetwork import QLocalServer

from omemo_desktop.ui.single_instance import SingleInstance, hand_over, server_name

ROOT = Path(__file__).resolve().parents[2]
LINK = "xmpp:bob@example.org?message;body=hello%20there%3B%20ok"


def send_line(instance: SingleInstance, message: str, qtbot, received: list[str]) -> bytes:  # type: ignore[no-untyped-def]
    """What hand_over() does, from a plain Unix socket: hand_over() blocks until the server
    answers, and the server here runs on this thread (the two-process test uses the real one)."""
    count = len(received)
    with socket.socket(socket.AF_UNIX) as client:
        client.connect(instance.server.fullServerName())
        client.sendall(message.encode() + b"\n")
        qtbot.waitUntil(lambda: len(received) > count, timeout=10_000)
        client.settimeout(10)
        return client.recv(16)


def test_names_are_per_data_folder(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert server_name(a) == server_name(a / ".." / "a")
    assert server_name(a) != server_name(b)
    assert len(server_name(a)) < 40  # fits a Unix socket path in any temp dir


def test_nobody_listening_means_start_normally(tmp_path: Path, qapp) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    assert hand_over(server_name(tmp_path), LINK) is False
    assert time.monotonic() - started < 2


@pytest.mark.skipif(sys.platform == "win32", reason="Unix sockets")
def test_a_second_launch_hands_its_link_to_the_first(tmp_path: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    name = server_name(tmp_path)
    first = SingleInstance(name)
    assert first.listen()
    try:
        received: list[str] = []
        first.received.connect(received.append)
        assert send_line(first, LINK, qtbot, received) == b"ok\n"
        assert received == [LINK]
        # A launch without a link just brings the window forward.
        assert send_line(first, "", qtbot, received) == b"ok\n"
        assert received == [LINK, ""]
        # Another instance on the same data folder does not take over the socket.
        second = SingleInstance(name)
        assert second.listen() is False
        second.close()
    finally:
        first.close()


@pytest.mark.skipif(sys.platform == "win32", reason="Unix socket files")
def test_a_socket_left_by_a_crash_is_taken_over(tmp_path: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    name = server_name(tmp_path)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(os.path.join(QDir.tempPath(), name))  # nobody listens: as a killed app leaves it
    stale.close()
    instance = SingleInstance(name)
    try:
        assert instance.listen()
        received: list[str] = []
        instance.received.connect(received.append)
        assert send_line(instance, LINK, qtbot, received) == b"ok\n"
        assert received == [LINK]
    finally:
        instance.close()
        QLocalServer.removeServer(name)


def test_two_processes_second_launch_exits_and_the_first_opens_the_link(
    tmp_path: Path, qapp
) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    log_path = tmp_path / "first-output.txt"  # not *.log: a reliability test looks for log files
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


@pytest.mark.skipif(sys.platform == "win32", reason="Unix sockets")
def test_an_endless_message_is_cut_off(tmp_path: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    instance = SingleInstance(server_name(tmp_path))
    try:
        assert instance.listen()
        received: list[str] = []
        instance.received.connect(received.append)
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(instance.server.fullServerName())
            client.setblocking(False)
            sent = 0
            with contextlib.suppress(BlockingIOError):
                while sent < 200_000:
                    sent += client.send(b"x" * 4096)
            client.settimeout(10)

            def closed() -> bool:
                try:
                    return client.recv(16) == b""
                except (TimeoutError, BlockingIOError):
                    return False
                except ConnectionResetError:
                    return True

            client.setblocking(False)
            qtbot.waitUntil(closed, timeout=10_000)
        assert received == []
    finally:
        instance.close()
