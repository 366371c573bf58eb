"""File sharing in the window: attach with progress and Cancel, file bubbles with Save… and
an inline image preview; the aesgcm:// link (it holds the key) is never shown."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication, QLabel

import omemo_desktop.ui.files as files
from omemo_desktop.service.api import FileIntegrityError, MessageReceived, MessageView
from omemo_desktop.ui.files import FileMessageWidget
from omemo_desktop.ui.main_window import MainWindow
from tests.gui.conftest import ALICE, BOB, Driver
from tests.helpers.fake_messenger import FakeMessenger, fake_aesgcm_url


def _png(width: int = 40, height: int = 30) -> bytes:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("teal"))
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    return bytes(data.data())


def _open(window: MainWindow, drive: Driver) -> None:
    window.open_chat(BOB)
    drive.until(lambda: "m-old" in window.chat.bubbles)  # history loaded: no rebuild later


def _file_widgets(window: MainWindow) -> list[FileMessageWidget]:
    return window.chat.findChildren(FileMessageWidget)


def _visible_texts(window: MainWindow) -> list[str]:
    return [lbl.text() for lbl in window.findChildren(QLabel) if lbl.isVisibleTo(window)]


def test_attach_uploads_with_progress_then_shows_a_file_bubble(
    window: MainWindow,
    fake: FakeMessenger,
    drive: Driver,
    qtbot,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    _open(window, drive)
    src = tmp_path / "notes.txt"
    src.write_bytes(b"x" * 1000)
    window.files.ask_open = lambda *_: str(src)
    fake.upload_gate = asyncio.Event()
    qtbot.mouseClick(window.files.attach_button, Qt.MouseButton.LeftButton)
    drive.until(lambda: window.files.bar.progress.value() == 50)
    assert window.files.bar.isVisible() and not window.files.attach_button.isEnabled()
    assert "notes.txt" in window.files.bar.label.text()
    fake.upload_gate.set()
    drive.until(lambda: _file_widgets(window))
    drive.until(lambda: not window.files.bar.isVisible())
    (widget,) = _file_widgets(window)
    assert widget.name.text() == "notes.txt" and not widget.show_button.isVisible()
    assert not any("aesgcm" in t for t in _visible_texts(window))
    assert window.files.attach_button.isEnabled()
    assert fake.called("send_file")[0].args[1] == BOB


def test_cancelled_upload_leaves_no_bubble_and_no_error(
    window: MainWindow,
    fake: FakeMessenger,
    drive: Driver,
    qtbot,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    _open(window, drive)
    src = tmp_path / "big.bin"
    src.write_bytes(b"y" * 4000)
    window.files.ask_open = lambda *_: str(src)
    fake.upload_gate = asyncio.Event()
    before = len(window.chat.bubbles)
    qtbot.mouseClick(window.files.attach_button, Qt.MouseButton.LeftButton)
    drive.until(lambda: window.files.bar.progress.value() == 50)
    qtbot.mouseClick(window.files.bar.cancel, Qt.MouseButton.LeftButton)
    drive.until(lambda: not window.files.bar.isVisible())
    assert len(window.chat.bubbles) == before and not _file_widgets(window)
    assert not window.chat_banner.isVisible()
    assert fake.messages.get((ALICE, BOB), []) == fake.messages[(ALICE, BOB)][:before]


def _receive_image(fake: FakeMessenger) -> MessageView:
    message = MessageView(
        "img-1",
        ALICE,
        BOB,
        "in",
        fake_aesgcm_url("cat.png"),
        time.time(),
        "omemo2",
        sender_device=4242,
        trust="verified",
    )
    fake.shared[message.id] = _png()
    fake.add_message(message)
    fake.emit(MessageReceived(ALICE, message))
    return message


def test_received_image_previews_inline_saves_and_opens(
    window: MainWindow,
    fake: FakeMessenger,
    drive: Driver,
    qtbot,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _open(window, drive)
    _receive_image(fake)
    drive.until(lambda: _file_widgets(window))
    (widget,) = _file_widgets(window)
    assert not any("aesgcm" in t for t in _visible_texts(window))
    bubble = window.chat.bubbles["img-1"]
    assert "cat.png" in bubble.accessibleName() and "aesgcm" not in bubble.accessibleName()
    qtbot.mouseClick(widget.show_button, Qt.MouseButton.LeftButton)
    drive.until(lambda: widget.preview.isVisible())
    pixmap = widget.preview.pixmap()
    assert (pixmap.width(), pixmap.height()) == (40, 30)
    temp = fake.called("download")[0].args[2]
    assert not temp.exists() and not temp.parent.exists()  # decrypted copy removed at once

    target = tmp_path / "kept.png"
    widget.owner.ask_save = lambda *_: str(target)
    qtbot.mouseClick(widget.save_button, Qt.MouseButton.LeftButton)
    drive.until(lambda: widget.status.isVisible())
    assert widget.status.text() == f"Saved to {target}"
    assert target.read_bytes() == fake.shared["img-1"]
    opened: list[Path] = []
    monkeypatch.setattr(files, "open_local_file", lambda p: opened.append(p) or True)
    qtbot.mouseClick(widget.open_button, Qt.MouseButton.LeftButton)
    assert opened == [target]
    assert "File: cat.png" in window._preview_text(ALICE, fake.messages[(ALICE, BOB)][-1])


def test_a_failed_download_says_why_in_the_bubble(
    window: MainWindow,
    fake: FakeMessenger,
    drive: Driver,
    qtbot,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    _open(window, drive)
    _receive_image(fake)
    drive.until(lambda: _file_widgets(window))
    (widget,) = _file_widgets(window)
    fake.fail["download"] = FileIntegrityError("The downloaded file failed its integrity check.")
    widget.owner.ask_save = lambda *_: str(tmp_path / "x.png")
    qtbot.mouseClick(widget.save_button, Qt.MouseButton.LeftButton)
    drive.until(lambda: widget.status.isVisible())
    assert "integrity check" in widget.status.text()
    assert widget.save_button.isEnabled() and not widget.progress_box.isVisible()
    assert not (tmp_path / "x.png").exists()


def test_an_image_too_large_to_preview_is_not_downloaded_whole(
    window: MainWindow,
    fake: FakeMessenger,
    drive: Driver,
    qtbot,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setattr(files, "PREVIEW_MAX_BYTES", 100)  # the sample PNG is larger
    _open(window, drive)
    _receive_image(fake)
    drive.until(lambda: _file_widgets(window))
    (widget,) = _file_widgets(window)
    qtbot.mouseClick(widget.show_button, Qt.MouseButton.LeftButton)
    drive.until(lambda: widget.status.isVisible())
    assert "Too large to preview" in widget.status.text() and not widget.preview.isVisible()
    assert fake.called("download")[0].kwargs["cancelled"]
    temp = fake.called("download")[0].args[2]
    assert not temp.parent.exists()


def test_a_file_dropped_on_the_conversation_is_shared(
    window: MainWindow, fake: FakeMessenger, drive: Driver, tmp_path: Path
) -> None:
    _open(window, drive)
    src = tmp_path / "dropped.txt"
    src.write_bytes(b"dropped")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(src))])
    pos = QPointF(window.chat.rect().center())
    enter = QDragEnterEvent(
        pos,
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window.chat, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        pos,
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window.chat, drop)
    drive.until(lambda: fake.called("send_file"))
    assert fake.called("send_file")[0].args[2] == src
    drive.until(lambda: _file_widgets(window))

    folder = QMimeData()
    folder.setUrls([QUrl.fromLocalFile(str(tmp_path))])
    refused = QDragEnterEvent(
        pos,
        Qt.DropAction.CopyAction,
        folder,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    refused.ignore()
    QApplication.sendEvent(window.chat, refused)
    assert not refused.isAccepted()
