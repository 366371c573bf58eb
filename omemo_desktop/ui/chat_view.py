"""The conversation: message bubbles, day separators, locks, ticks, notices, Retry, Repair."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QEvent, QPoint, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from omemo_desktop.service.api import MessageView

from . import colors, icons
from .qt_compat import emit

TICKS = {
    "pending": ("🕓", "Waiting to be sent"),
    "sent": ("✓", "Sent"),
    "acked": ("✓", "Accepted by the server"),
    "delivered": ("✓✓", "Delivered"),
    "read": ("✓✓", "Read"),
    "failed": ("!", "Not sent"),
}
ENCRYPTION_NAMES = {"omemo2": "OMEMO 2", "legacy": "OMEMO (legacy)", "none": "none"}


def blend(a: QColor, b: QColor, amount: float) -> QColor:
    return QColor(
        round(a.red() * (1 - amount) + b.red() * amount),
        round(a.green() * (1 - amount) + b.green() * amount),
        round(a.blue() * (1 - amount) + b.blue() * amount),
    )


def day_text(day: dt.date, today: dt.date | None = None) -> str:
    today = today or dt.date.today()
    if day == today:
        return "Today"
    if day == today - dt.timedelta(days=1):
        return "Yesterday"
    if day.year == today.year:
        return day.strftime("%A, %d %B").replace(" 0", " ")
    return day.strftime("%d %B %Y").lstrip("0")


def sender_nick(message: MessageView) -> str:
    """Who wrote a group message: the nick of room@service/nick (or the JID as given)."""
    sender = message.sender or ""
    if "/" in sender:
        return sender.split("/", 1)[1]
    return sender or "Someone"


def lock_trust(message: MessageView) -> str:
    if message.encryption == "none":
        return "none"
    if message.direction == "out" and message.trust not in ("verified", "trusted"):
        # The service records no trust on our own messages; they are only ever encrypted
        # for devices we trust, so an amber "untrusted" lock there would be a false alarm.
        return "trusted"
    return message.trust if message.trust in ("verified", "trusted", "untrusted") else "untrusted"


class MessageBubble(QFrame):
    retry_requested = Signal(str)
    info_requested = Signal(object)

    def __init__(
        self, message: MessageView, parent: QWidget | None = None, sender_name: str = ""
    ) -> None:
        super().__init__(parent)
        self.message = message
        self.sender_name = sender_name  # in a room: the writer's nick, colored per XEP-0392
        outgoing = message.direction == "out"
        self.setObjectName("bubbleOut" if outgoing else "bubbleIn")
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._on_self_context_menu)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(2)
        self.sender_label: QLabel | None = None
        if sender_name:
            self.sender_label = QLabel(sender_name, self)
            self.sender_label.setObjectName("senderName")
            self.sender_label.setTextFormat(Qt.TextFormat.PlainText)
            font = self.sender_label.font()
            font.setBold(True)
            self.sender_label.setFont(font)
            self.color_sender()
            layout.addWidget(self.sender_label)
        self.body = QLabel(self)
        self.body.setObjectName("messageBody")
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.TextFormat.PlainText)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        layout.addWidget(self.body)
        meta = QHBoxLayout()
        meta.setSpacing(5)
        meta.addStretch(1)
        self.edited = QLabel("edited", self)
        self.edited.setObjectName("editedMark")
        self.time = QLabel(self)
        self.lock = QLabel(self)
        self.lock.setObjectName("lockIcon")
        self.ticks = QLabel(self)
        self.ticks.setObjectName("ticks")
        for w in (self.edited, self.time):
            w.setForegroundRole(QPalette.ColorRole.PlaceholderText)
            meta.addWidget(w)
        meta.addWidget(self.lock)
        meta.addWidget(self.ticks)
        layout.addLayout(meta)
        self.error_row = QWidget(self)
        row = QHBoxLayout(self.error_row)
        row.setContentsMargins(0, 2, 0, 0)
        self.error = QLabel(self.error_row)
        self.error.setObjectName("sendError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {icons.RED.name()};")
        self.retry = QPushButton("Retry", self.error_row)
        self.retry.setAccessibleName("Retry sending this message")
        self.retry.clicked.connect(lambda: emit(self.retry_requested, self.message.id))
        row.addWidget(self.error, 1)
        row.addWidget(self.retry)
        layout.addWidget(self.error_row)
        self.update_message(message)

    def update_message(self, message: MessageView) -> None:
        self.message = message
        self.body.setText(message.body)
        self.edited.setVisible(message.edited)
        stamp = dt.datetime.fromtimestamp(message.timestamp)
        self.time.setText(stamp.strftime("%H:%M"))
        self.time.setToolTip(stamp.strftime("%c"))
        trust = lock_trust(message)
        self.lock.setPixmap(icons.lock_pixmap(trust))
        lock_text = icons.LOCK_TEXT[trust]
        if message.encryption != "none":
            lock_text += f" ({ENCRYPTION_NAMES.get(message.encryption, message.encryption)})"
        self.lock.setToolTip(lock_text)
        self.lock.setAccessibleName(lock_text)
        self.lock.setProperty("trust", trust)
        outgoing = message.direction == "out"
        self.ticks.setVisible(outgoing)
        if outgoing:
            tick, tip = TICKS.get(message.state, ("", message.state))
            self.ticks.setText(tick)
            self.ticks.setToolTip(tip)
            self.ticks.setAccessibleName(tip)
            self.ticks.setProperty("state", message.state)
            color = {
                "read": icons.GREEN,
                "failed": icons.RED,
            }.get(message.state)
            self.ticks.setStyleSheet(f"color: {color.name()};" if color else "")
            if color is None:
                self.ticks.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        failed = outgoing and message.state == "failed"
        self.error_row.setVisible(failed)
        if failed:
            reason = message.error or "The server did not accept it."
            self.error.setText(f"Not sent: {reason}")
        who = "You" if outgoing else (self.sender_name or message.peer)
        summary = f"{who}: {message.body}. {lock_text}."
        self.setAccessibleName(summary)

    def color_sender(self) -> None:
        if self.sender_label is not None:
            color = colors.text_color(self.sender_name)  # against the application's palette
            self.sender_label.setStyleSheet(f"color: {color.name()};")

    def fit(self, max_width: int) -> None:
        """Wrap only when the text is wider than the bubble may be (labels wrap early)."""
        self.setMaximumWidth(max_width)
        metrics = self.body.fontMetrics()
        lines = self.body.text().splitlines() or [""]
        natural = max(metrics.horizontalAdvance(line) for line in lines) + 4
        if self.sender_label is not None:
            natural = max(natural, self.sender_label.sizeHint().width())
        self.body.setMinimumWidth(min(natural, max_width - 24))

    def _on_self_context_menu(self, pos: QPoint) -> None:
        menu = QMenu(self)
        copy = menu.addAction("Copy text")
        info = menu.addAction("Message info…")
        chosen = menu.exec(self.mapToGlobal(pos))
        if chosen is copy:
            QGuiApplication.clipboard().setText(self.message.body)
        elif chosen is info:
            emit(self.info_requested, self.message)


class DecryptionNotice(QFrame):
    """What happened, what to do, and a button that does it."""

    repair_requested = Signal(int)

    def __init__(
        self, peer: str, device_id: int | None, reason: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("notice")
        self.device_id = device_id
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        icon = QLabel(self)
        icon.setPixmap(icons.lock_pixmap("untrusted", 18))
        layout.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        device = f" (from their device {device_id})" if device_id is not None else ""
        reason = reason.strip()
        if reason and not reason.endswith("."):
            reason += "."
        text = (
            f"A message from {peer}{device} could not be decrypted. {reason} "
            "Repair starts a fresh secure session with that device; then ask them to send "
            "the message again."
        ).replace("  ", " ")
        self.text = QLabel(text, self)
        self.text.setObjectName("noticeText")
        self.text.setWordWrap(True)
        layout.addWidget(self.text, 1)
        self.repair = QPushButton("Repair", self)
        self.repair.setAccessibleName(f"Repair the secure session with device {device_id}")
        self.repair.setEnabled(device_id is not None)
        self.repair.clicked.connect(self._on_repair_clicked)
        layout.addWidget(self.repair, 0, Qt.AlignmentFlag.AlignVCenter)
        self.setAccessibleName(text)

    def _on_repair_clicked(self) -> None:
        if self.device_id is not None:
            self.repair.setEnabled(False)
            self.repair.setText("Repairing…")
            emit(self.repair_requested, self.device_id)

    def repaired(self, ok: bool) -> None:
        self.repair.setText("Repaired" if ok else "Repair")
        self.repair.setEnabled(not ok)


class ChatView(QScrollArea):
    """A vertical list of widgets; conversations are short pages (history loads 50)."""

    retry_requested = Signal(str)
    repair_requested = Signal(int)
    info_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatView")
        self.setAccessibleName("Messages")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.peer = ""
        self._applying = False
        self.group = False  # a room: incoming bubbles name their writer
        self._last_sender: str | None = None
        self.bubbles: dict[str, MessageBubble] = {}
        self.notices: list[DecryptionNotice] = []
        self.decorate: Callable[[MessageBubble], None] | None = None  # e.g. files.py widgets
        self._last_day: dt.date | None = None
        self._stick_to_bottom = True
        self.verticalScrollBar().rangeChanged.connect(self._on_scrollbar_range_changed)
        self.verticalScrollBar().valueChanged.connect(self._on_scrollbar_value_changed)
        self._reset_content()
        self.apply_palette()

    def _reset_content(self) -> None:
        content = QWidget()
        content.setObjectName("chatContent")
        self._layout = QVBoxLayout(content)
        self._layout.setContentsMargins(12, 12, 12, 12)
        self._layout.setSpacing(6)
        self._layout.addStretch(1)
        self.setWidget(content)
        self.bubbles.clear()
        self.notices.clear()
        self._last_day = None
        self._last_sender = None

    def changeEvent(self, event: QEvent) -> None:
        # The system switched light/dark: recompute the tinted bubbles, nick colors, locks.
        super().changeEvent(event)
        changes = (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)
        if event.type() in changes and not self._applying:
            self.refresh_palette()

    def refresh_palette(self) -> None:
        """Re-tint after a palette change. A widget with a style sheet keeps its polished
        palette, so the colors come from the application's palette, and the main window
        (which does get PaletteChange) calls this too."""
        self.apply_palette()
        for bubble in self.bubbles.values():
            bubble.color_sender()
            bubble.update_message(bubble.message)

    def apply_palette(self) -> None:
        self._applying = True
        try:
            self._apply_palette()
        finally:
            self._applying = False

    def _apply_palette(self) -> None:
        pal = QApplication.palette()
        base = pal.color(QPalette.ColorRole.Base)
        highlight = pal.color(QPalette.ColorRole.Highlight)
        text = pal.color(QPalette.ColorRole.Text)
        incoming = blend(base, text, 0.07)
        outgoing = blend(base, highlight, 0.22)
        notice = blend(base, icons.AMBER, 0.16)
        self.setStyleSheet(
            f"QWidget#chatContent {{ background: {base.name()}; }}"
            f"QFrame#bubbleIn {{ background: {incoming.name()}; border-radius: 12px; }}"
            f"QFrame#bubbleOut {{ background: {outgoing.name()}; border-radius: 12px; }}"
            f"QFrame#notice {{ background: {notice.name()}; border-radius: 8px;"
            f" border: 1px solid {icons.AMBER.name()}; }}"
            "QLabel#daySeparator { padding: 6px; font-weight: 600; }"
        )

    def set_conversation(
        self, peer: str, messages: list[MessageView], *, group: bool = False
    ) -> None:
        self.peer = peer
        self.group = group
        self._reset_content()
        for message in sorted(messages, key=lambda m: m.timestamp):
            self.add_message(message)
        self._stick_to_bottom = True

    def _maybe_add_day(self, timestamp: float) -> None:
        day = dt.datetime.fromtimestamp(timestamp).date()
        if day != self._last_day:
            self._last_day = day
            self._last_sender = None
            label = QLabel(day_text(day))
            label.setObjectName("daySeparator")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
            self._append(label, Qt.AlignmentFlag.AlignCenter)

    def _append(self, widget: QWidget, align: Qt.AlignmentFlag) -> None:
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        if align != Qt.AlignmentFlag.AlignLeft:
            row.addStretch(1)
        row.addWidget(widget, 100 if isinstance(widget, DecryptionNotice) else 0)
        if align != Qt.AlignmentFlag.AlignRight:
            row.addStretch(1)
        self._layout.addLayout(row)
        self._fit_width(widget)

    def add_message(self, message: MessageView) -> None:
        existing = self.bubbles.get(message.id)
        if existing is not None:
            existing.update_message(message)
            return
        self._maybe_add_day(message.timestamp)
        if message.notice:
            self.add_notice(message.sender_device, message.body, at=None)
            return
        sender_name = ""
        if self.group and message.direction == "in":
            nick = sender_nick(message)
            if nick != self._last_sender:  # a run of messages by one member is named once
                sender_name = nick
            self._last_sender = nick
        elif message.direction == "out":
            self._last_sender = None
        bubble = MessageBubble(message, sender_name=sender_name)
        bubble.retry_requested.connect(self.retry_requested)
        bubble.info_requested.connect(self.info_requested)
        self.bubbles[message.id] = bubble
        if self.decorate is not None:
            self.decorate(bubble)
        outgoing = message.direction == "out"
        self._append(
            bubble, Qt.AlignmentFlag.AlignRight if outgoing else Qt.AlignmentFlag.AlignLeft
        )

    def add_notice(
        self, device_id: int | None, reason: str, at: float | None = 0.0
    ) -> DecryptionNotice:
        if at is not None:
            self._maybe_add_day(at or dt.datetime.now().timestamp())
        who = "someone in this group chat" if self.group else self.peer
        notice = DecryptionNotice(who, device_id, reason)
        notice.repair_requested.connect(self.repair_requested)
        self.notices.append(notice)
        self._append(notice, Qt.AlignmentFlag.AlignCenter)
        return notice

    def update_state(self, message_id: str, state: str, error: str | None) -> None:
        bubble = self.bubbles.get(message_id)
        if bubble is not None:
            bubble.update_message(replace(bubble.message, state=state, error=error))

    def correct(self, message_id: str, body: str) -> None:
        bubble = self.bubbles.get(message_id)
        if bubble is not None:
            bubble.update_message(replace(bubble.message, body=body, edited=True))
            self._fit_width(bubble)

    def last_outgoing(self) -> MessageView | None:
        outgoing = [b.message for b in self.bubbles.values() if b.message.direction == "out"]
        return max(outgoing, key=lambda m: m.timestamp) if outgoing else None

    def last_incoming(self) -> MessageView | None:
        incoming = [b.message for b in self.bubbles.values() if b.message.direction == "in"]
        return max(incoming, key=lambda m: m.timestamp) if incoming else None

    def _fit_width(self, widget: QWidget) -> None:
        width = max(240, int(self.viewport().width() * 0.72))
        if isinstance(widget, MessageBubble):
            widget.fit(width)
        elif isinstance(widget, DecryptionNotice):
            widget.setMaximumWidth(max(width, int(self.viewport().width() * 0.9)))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        for bubble in self.bubbles.values():
            self._fit_width(bubble)
        for notice in self.notices:
            self._fit_width(notice)

    def _on_scrollbar_range_changed(self, _low: int, high: int) -> None:
        if self._stick_to_bottom:
            self.verticalScrollBar().setValue(high)

    def _on_scrollbar_value_changed(self, value: int) -> None:
        self._stick_to_bottom = value >= self.verticalScrollBar().maximum() - 8
