"""The message editor: Enter sends, Shift+Enter breaks the line, Up edits the last message,
Escape cancels an edit; typing produces chat states (composing, paused, active)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFontMetrics, QKeyEvent
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from .qt_compat import emit

PAUSE_AFTER_MS = 5000


class Composer(QPlainTextEdit):
    submitted = Signal(str)
    edit_last_requested = Signal()
    edit_cancelled = Signal()
    chat_state_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self.setAccessibleName("Message")
        self.setAccessibleDescription("Enter sends, Shift+Enter starts a new line, Up edits")
        self.setPlaceholderText("Write a message…  (Enter sends, Shift+Enter new line)")
        self.setTabChangesFocus(True)
        self.editing: str | None = None  # id of the message being corrected
        self._state = "active"
        self._pause_timer = QTimer(self)
        self._pause_timer.setSingleShot(True)
        self._pause_timer.setInterval(PAUSE_AFTER_MS)
        self._pause_timer.timeout.connect(self._on_pause_timer_timeout)
        self.textChanged.connect(self._on_self_text_changed)
        self.document().documentLayout().documentSizeChanged.connect(self._fit_height)
        self._fit_height()

    def sizeHint(self) -> QSize:
        return QSize(200, self.maximumHeight())

    def _fit_height(self, *_args: object) -> None:
        line = QFontMetrics(self.font()).lineSpacing()
        lines = max(1, min(6, int(self.document().size().height())))
        self.setFixedHeight(line * lines + 2 * int(self.document().documentMargin()) + 6)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        mods = event.modifiers()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if mods & Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
                return
            if not mods & ~Qt.KeyboardModifier.KeypadModifier:
                text = self.toPlainText().strip()
                if text:
                    emit(self.submitted, text)
                return
        if key == Qt.Key.Key_Up and not mods and not self.toPlainText():
            emit(self.edit_last_requested)
            return
        if key == Qt.Key.Key_Escape and self.editing is not None:
            self.cancel_edit()
            return
        super().keyPressEvent(event)

    def start_edit(self, message_id: str, body: str) -> None:
        self.editing = message_id
        self.setPlainText(body)
        cursor = self.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        self.setTextCursor(cursor)

    def cancel_edit(self) -> None:
        self.editing = None
        self.clear()
        emit(self.edit_cancelled)

    def finish(self) -> None:
        """After a send or a correction: empty, not editing, chat state back to active."""
        self.editing = None
        self.blockSignals(True)
        self.clear()
        self.blockSignals(False)
        self._pause_timer.stop()
        self._state = "active"

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            emit(self.chat_state_changed, state)

    def _on_self_text_changed(self) -> None:
        if self.toPlainText():
            self._set_state("composing")
            self._pause_timer.start()
        else:
            self._pause_timer.stop()
            self._set_state("active")

    def _on_pause_timer_timeout(self) -> None:
        self._set_state("paused")

    def reset_state(self) -> None:
        self._pause_timer.stop()
        self._state = "active"
