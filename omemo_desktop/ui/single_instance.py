"""One running app per data folder: a second launch hands its xmpp: link to the first.

The first launch listens on a local socket (a Unix socket, or a named pipe on Windows) whose
name is derived from the data folder, so two data folders (two profiles) still run side by
side. A later launch connects, sends one line (the link, or nothing to just raise the
window), waits for "ok" and exits. Only the same user can connect (UserAccessOption).
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QUrl, Signal
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from .qt_compat import emit

log = logging.getLogger(__name__)

MAX_MESSAGE = 64 * 1024  # a link, not a file
ACK = b"ok\n"


def server_name(data_dir: Path) -> str:
    """Stable per data folder and short enough for a Unix socket path in any temp dir."""
    key = str(data_dir.expanduser().resolve()).encode("utf-8", "surrogateescape")
    return f"omemo-desktop-{hashlib.sha256(key).hexdigest()[:20]}"


class AnotherInstanceNotResponding(Exception):
    """An instance holds the socket but did not take the message in time."""


def hand_over(name: str, message: str, timeout_ms: int = 5000) -> bool:
    """Give `message` to the instance listening on `name`.

    False: nobody is listening (start normally). True: it took the message. Blocking: this
    runs before our own window exists, with no event loop needed.
    """
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(timeout_ms):
        return False  # no server, or a stale socket file left by a crash
    payload = message.replace("\n", " ").encode("utf-8") + b"\n"
    socket.write(payload)
    if not socket.waitForBytesWritten(timeout_ms):
        raise AnotherInstanceNotResponding("the running omemo-desktop did not read the link")
    reply = b""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        # Read before checking the state: the answer may come with the server's close.
        reply += bytes(socket.readAll().data())
        if ACK in reply:
            socket.disconnectFromServer()
            return True
        left_ms = int((deadline - time.monotonic()) * 1000)
        if left_ms <= 0 or socket.state() != QLocalSocket.LocalSocketState.ConnectedState:
            raise AnotherInstanceNotResponding("the running omemo-desktop did not answer")
        socket.waitForReadyRead(min(left_ms, 100))


class SingleInstance(QObject):
    """The listening side; `received` carries each later launch's line ("" = just show)."""

    received = Signal(str)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._on_new_connection)

    def listen(self) -> bool:
        """Start listening. False when another instance answers there (hand over to it)."""
        # Probe first: on Unix, Qt (with UserAccessOption) renames its socket into place and
        # would silently take the name from a live instance.
        probe = QLocalSocket()
        probe.connectToServer(self.name)
        if probe.waitForConnected(1000):
            probe.disconnectFromServer()
            return False
        if not self.server.listen(self.name):
            # A socket file left by a crashed instance: nobody answered, so take it over.
            QLocalServer.removeServer(self.name)
            if not self.server.listen(self.name):
                log.warning("cannot listen on %s: %s", self.name, self.server.errorString())
                return True
        log.info("listening for later launches on %s", self.server.fullServerName())
        return True  # without the socket the app still runs; only the hand-over is lost

    def close(self) -> None:
        self.server.close()

    # No Python references to the connections are kept (no lambdas, no dicts): they are the
    # server's children, Qt deletes them, and a stale wrapper must never outlive them.
    def _on_new_connection(self) -> None:
        while (socket := self.server.nextPendingConnection()) is not None:
            socket.readyRead.connect(self._on_ready_read)
            socket.disconnected.connect(socket.deleteLater)

    def _on_ready_read(self) -> None:
        socket = self.sender()
        if not isinstance(socket, QLocalSocket):
            return
        if not socket.canReadLine():  # Qt keeps the partial line buffered
            if socket.bytesAvailable() > MAX_MESSAGE:
                log.warning("single instance: dropped an oversized message")
                socket.abort()
            return
        line = bytes(socket.readLine(MAX_MESSAGE).data())
        socket.readyRead.disconnect(self._on_ready_read)  # one line per connection
        socket.write(ACK)  # the launcher closes the connection once it has read this
        socket.flush()
        emit(self.received, line.decode("utf-8", "replace").strip())


class UrlOpenEvents(QObject):
    """macOS gives a clicked xmpp: link to the app as an Apple event, which Qt turns into a
    FileOpen event (at launch and while running), never into a command-line argument.
    Install on the QApplication."""

    received = Signal(str)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FileOpen and isinstance(event, QFileOpenEvent):
            # Encoded as given: a decoded %3B in a body would split the query.
            url = event.url().toString(QUrl.ComponentFormattingOption.FullyEncoded)
            if url.lower().startswith("xmpp:"):
                emit(self.received, url)
                return True
        return super().eventFilter(watched, event)


__all__ = [
    "AnotherInstanceNotResponding",
    "SingleInstance",
    "UrlOpenEvents",
    "hand_over",
    "server_name",
]
