"""Sharing files in the chat: an attach button with an upload bar (progress, Cancel), and a
file widget inside bubbles whose message is a shared file (XEP-0454), with Save… and, for
images, an inline preview.

An aesgcm:// link carries the file's key in its fragment, so it is never shown as a link
or handed to a browser: the bubble's text is replaced by this widget. Image previews are
downloaded (verified) into a private temporary folder, loaded, and deleted at once, so no
decrypted copy stays on disk unless the person saves one.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QMimeData, QObject, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QDragMoveEvent, QDropEvent, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from . import icons
from .tasks import TaskRunner

# service.api (events, views: many dataclasses) is imported where used, not at start-up:
# the window paints before the service exists (issue #13, GUI cold start).
if TYPE_CHECKING:
    from omemo_desktop.service.api import MessageView, MessengerApi, SharedFile, TransferProgress

PREVIEW_SIZE = 280
PREVIEW_MAX_BYTES = 25_000_000  # larger images are saved, not previewed
# (messenger, account, open conversation) of the window, read when the person acts
Context = Callable[[], tuple["MessengerApi | None", str | None, str | None]]
AskPath = Callable[[QWidget, str], str | None]


def ask_open_path(parent: QWidget, _suggested: str) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Share a file (encrypted)")
    return path or None


def ask_save_path(parent: QWidget, suggested: str) -> str | None:
    path, _ = QFileDialog.getSaveFileName(parent, "Save the file", suggested)
    return path or None


def open_local_file(path: Path) -> bool:
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


def _dropped_file(mime: QMimeData) -> Path | None:
    """One local file (a folder or several files are not shared by dropping)."""
    urls = mime.urls() if mime.hasUrls() else []
    if len(urls) != 1 or not urls[0].isLocalFile():
        return None
    path = Path(urls[0].toLocalFile())
    return path if path.is_file() else None


def _percent(p: TransferProgress) -> int:
    return int(p.done * 100 / p.total) if p.total else 0


class TransferBar(QFrame):
    """Shown above the composer while a file uploads."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transferBar")
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 2, 4, 2)
        self.label = QLabel(self)
        self.label.setObjectName("transferLabel")
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 100)
        self.progress.setAccessibleName("Upload progress")
        self.cancel = QPushButton("Cancel", self)
        self.cancel.setAccessibleName("Cancel the upload")
        row.addWidget(self.label, 1)
        row.addWidget(self.progress, 2)
        row.addWidget(self.cancel)
        self.hide()


class FileSharing(QObject):
    """The window's file sharing: owns the attach button and the upload bar, and decorates
    chat bubbles whose message is a shared file."""

    def __init__(
        self,
        runner: TaskRunner,
        context: Context,
        on_error: Callable[[str], None],
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.context = context
        self.on_error = on_error
        self.window = parent
        self.ask_open: AskPath = ask_open_path  # tests replace the dialogs
        self.ask_save: AskPath = ask_save_path
        self.attach_button = QToolButton(parent)
        self.attach_button.setObjectName("attachButton")
        self.attach_button.setText("Attach…")
        self.attach_button.setAccessibleName("Share a file")
        self.attach_button.setToolTip("Share a file, end-to-end encrypted")
        self.attach_button.clicked.connect(self._on_attach_button_clicked)
        self.bar = TransferBar(parent)
        self.bar.cancel.clicked.connect(self._on_bar_cancel_clicked)
        self._cancel: asyncio.Event | None = None

    # ---- upload -------------------------------------------------------------------------

    def accept_drops_on(self, widget: QWidget) -> None:
        """Files dropped on `widget` (the conversation) are shared like Attach… does."""
        widget.setAcceptDrops(True)
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            assert isinstance(event, QDragMoveEvent)  # DragEnter derives from DragMove
            if _dropped_file(event.mimeData()) is not None and not self.uploading:
                event.acceptProposedAction()
                return True
        elif event.type() == QEvent.Type.Drop:
            assert isinstance(event, QDropEvent)
            path = _dropped_file(event.mimeData())
            if path is not None:
                event.acceptProposedAction()
                self.send_path(path)
                return True
        return super().eventFilter(watched, event)

    @property
    def uploading(self) -> bool:
        return self._cancel is not None

    def _on_attach_button_clicked(self) -> None:
        path = self.ask_open(self.window, "")
        if path:
            self.send_path(Path(path))

    def send_path(self, path: Path) -> None:
        messenger, account, peer = self.context()
        if messenger is None or account is None or peer is None or self.uploading:
            return
        cancel = asyncio.Event()
        self._cancel = cancel
        self.attach_button.setEnabled(False)
        self.bar.label.setText(f"Sending {path.name}…")
        self.bar.progress.setValue(0)
        self.bar.cancel.setEnabled(True)
        self.bar.show()

        def progress(p: TransferProgress) -> None:
            self.bar.progress.setValue(_percent(p))

        def done(_: MessageView) -> None:
            self._finish()

        def failed(text: str, _error: BaseException) -> None:
            self._finish()
            if not cancel.is_set():
                self.on_error(text)

        self.runner.run(
            messenger.send_file(account, peer, path, progress=progress, cancel=cancel),
            done,
            failed,
        )

    def _finish(self) -> None:
        self._cancel = None
        self.bar.hide()
        self.attach_button.setEnabled(True)

    def _on_bar_cancel_clicked(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self.bar.cancel.setEnabled(False)
            self.bar.label.setText("Cancelling…")

    # ---- received (and sent) files ------------------------------------------------------

    def decorate(self, bubble: QWidget) -> None:
        """ChatView hook: put a file widget in place of the link in a bubble."""
        from omemo_desktop.service.api import shared_file

        message: MessageView | None = getattr(bubble, "message", None)
        info = shared_file(message)
        body: QLabel | None = getattr(bubble, "body", None)
        layout = bubble.layout()
        if message is None or info is None or body is None or layout is None:
            return
        body.hide()  # the link holds the key: never shown, never clickable
        widget = FileMessageWidget(self, message, info, bubble)
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(layout.indexOf(body) + 1, widget)
        who = "You" if message.direction == "out" else message.peer
        bubble.setAccessibleName(f"{who}: file {info.name}")


class FileMessageWidget(QFrame):
    def __init__(
        self, owner: FileSharing, message: MessageView, info: SharedFile, parent: QWidget
    ) -> None:
        super().__init__(parent)
        self.setObjectName("fileMessage")
        self.owner, self.message, self.info = owner, message, info
        self._cancel: asyncio.Event | None = None
        # The chat view rebuilds its bubbles when a conversation is (re)opened; a transfer
        # started here goes on, but must not touch a deleted widget when it ends.
        alive = self._alive = [True]
        self.destroyed.connect(lambda *_: alive.__setitem__(0, False))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        row = QHBoxLayout()
        icon = QLabel(self)
        # QStyle's Python type costs ~15 ms to create (all its enums): only with a file.
        from PySide6.QtWidgets import QStyle

        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_FileIcon).pixmap(20))
        row.addWidget(icon)
        self.name = QLabel(info.name, self)
        self.name.setObjectName("fileName")
        self.name.setTextFormat(Qt.TextFormat.PlainText)
        row.addWidget(self.name, 1)
        self.show_button = QPushButton("Show", self)
        self.show_button.setAccessibleName(f"Show the image {info.name}")
        self.show_button.setVisible(info.is_image)
        self.show_button.clicked.connect(self._on_show_button_clicked)
        row.addWidget(self.show_button)
        self.save_button = QPushButton("Save…", self)
        self.save_button.setAccessibleName(f"Save the file {info.name}")
        self.save_button.clicked.connect(self._on_save_button_clicked)
        row.addWidget(self.save_button)
        self.open_button = QPushButton("Open", self)
        self.open_button.setAccessibleName(f"Open the saved file {info.name}")
        self.open_button.hide()
        self.open_button.clicked.connect(self._on_open_button_clicked)
        row.addWidget(self.open_button)
        self.saved: Path | None = None
        layout.addLayout(row)
        progress_row = QHBoxLayout()
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 100)
        self.progress.setAccessibleName(f"Download progress of {info.name}")
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setAccessibleName("Cancel the download")
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.cancel_button)
        self.progress_box = QWidget(self)
        self.progress_box.setLayout(progress_row)
        self.progress_box.hide()
        layout.addWidget(self.progress_box)
        self.preview = QLabel(self)
        self.preview.setObjectName("filePreview")
        self.preview.setAccessibleName(f"Preview of {info.name}")
        self.preview.hide()
        layout.addWidget(self.preview)
        self.status = QLabel(self)
        self.status.setObjectName("fileStatus")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.hide()
        layout.addWidget(self.status)

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {icons.RED.name()};" if error else "")
        self.status.show()

    def _download(
        self,
        dest: Path,
        on_done: Callable[[Path], None],
        on_end: Callable[[], None] = lambda: None,
        limit: int | None = None,
    ) -> None:
        messenger, _account, _peer = self.owner.context()
        if messenger is None or self._cancel is not None:
            on_end()
            return
        cancel = asyncio.Event()
        self._cancel = cancel
        self.progress.setValue(0)
        self.progress_box.show()
        self.status.hide()
        self.save_button.setEnabled(False)
        self.show_button.setEnabled(False)

        alive = self._alive
        too_large = [False]

        def progress(p: TransferProgress) -> None:
            if limit is not None and max(p.total or 0, p.done) > limit and not cancel.is_set():
                too_large[0] = True  # a preview must not fill the disk: stop, say why
                cancel.set()
            if alive[0]:
                self.progress.setValue(_percent(p))

        def finish() -> None:
            on_end()
            if not alive[0]:
                return
            self._cancel = None
            self.progress_box.hide()
            self.save_button.setEnabled(True)
            self.show_button.setEnabled(True)

        def done(path: Path) -> None:
            if alive[0]:
                on_done(path)
            finish()

        def failed(text: str, _error: BaseException) -> None:
            finish()
            if not alive[0]:
                return
            if too_large[0]:
                from omemo_desktop.service.api import human_size

                self._say(f"Too large to preview (over {human_size(limit or 0)}); use Save….")
            elif cancel.is_set():
                self._say("Download cancelled.")
            else:
                self._say(text, True)

        self.owner.runner.run(
            messenger.download(
                self.message.account,
                self.message.id,
                dest,
                progress=progress,
                cancel=cancel,
                overwrite=True,
            ),
            done,
            failed,
        )

    def _on_save_button_clicked(self) -> None:
        chosen = self.owner.ask_save(self, self.info.name)
        if chosen:
            self._download(Path(chosen), self._on_saved)

    def _on_saved(self, path: Path) -> None:
        self.saved = path
        self._say(f"Saved to {path}")
        self.open_button.show()

    def _on_open_button_clicked(self) -> None:
        # The verified local copy, with the desktop's viewer; never the link itself.
        if self.saved is not None and not open_local_file(self.saved):
            self._say(f"No application could open {self.saved.name}.", True)

    def _on_show_button_clicked(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix="omemo-desktop-preview-"))  # mode 0700

        def remove() -> None:
            for leftover in folder.iterdir():
                leftover.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                folder.rmdir()

        def loaded(path: Path) -> None:
            pixmap = QPixmap(str(path))  # read before finish() removes the file
            if pixmap.isNull():
                self._say("This file is not an image this app can show; save it instead.")
                return
            if max(pixmap.width(), pixmap.height()) > PREVIEW_SIZE:  # shrink, never enlarge
                pixmap = pixmap.scaled(
                    PREVIEW_SIZE,
                    PREVIEW_SIZE,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            self.preview.setPixmap(pixmap)
            self.preview.show()
            self.show_button.hide()

        dest = folder / ("preview" + Path(self.info.name).suffix)
        self._download(dest, loaded, remove, limit=PREVIEW_MAX_BYTES)

    def _on_cancel_button_clicked(self) -> None:
        if self._cancel is not None:
            self._cancel.set()


__all__ = ["FileMessageWidget", "FileSharing", "TransferBar"]
