"""The conversation: message bubbles, day separators, locks, ticks, notices, Retry, Repair."""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import math
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette, QPixmap, QResizeEvent
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

from . import colors, icons
from .qt_compat import emit

# service.api (events, views: many dataclasses) is imported where used, not at start-up:
# the window paints before the service exists (issue #13, GUI cold start).
if TYPE_CHECKING:
    from omemo_desktop.service.api import MessageView

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


_LOCKS: dict[tuple[str, int, float], QPixmap] = {}


def _lock_pixmap(trust: str) -> QPixmap:
    """icons.lock_pixmap, painted once per trust level, text color and screen scale."""
    screen = QGuiApplication.primaryScreen()
    key = (
        trust,
        QApplication.palette().color(QPalette.ColorRole.WindowText).rgba(),
        screen.devicePixelRatio() if screen else 1.0,
    )
    pixmap = _LOCKS.get(key)
    if pixmap is None:
        pixmap = _LOCKS[key] = icons.lock_pixmap(trust)
    return pixmap


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
        self._meta = meta = QHBoxLayout()
        meta.setSpacing(5)
        meta.addStretch(1)
        self._edited: QLabel | None = None  # built for corrected messages only
        self.time = QLabel(self)
        self.time.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.lock = QLabel(self)
        self.lock.setObjectName("lockIcon")
        self.ticks = QLabel(self)
        self.ticks.setObjectName("ticks")
        self._tick_color: QColor | None = None
        meta.addWidget(self.time)
        meta.addWidget(self.lock)
        meta.addWidget(self.ticks)
        layout.addLayout(meta)
        self._error_row: QWidget | None = None  # built for failed sends only
        self.update_message(message)

    @property
    def edited(self) -> QLabel:
        """The "edited" mark, before the time (built on first use: most never need it)."""
        if self._edited is None:
            self._edited = QLabel("edited", self)
            self._edited.setObjectName("editedMark")
            self._edited.setForegroundRole(QPalette.ColorRole.PlaceholderText)
            self._edited.setVisible(False)
            self._meta.insertWidget(self._meta.indexOf(self.time), self._edited)
        return self._edited

    def _build_error_row(self) -> QWidget:
        self._error_row = QWidget(self)
        row = QHBoxLayout(self._error_row)
        row.setContentsMargins(0, 2, 0, 0)
        self._error = QLabel(self._error_row)
        self._error.setObjectName("sendError")
        self._error.setWordWrap(True)
        self._error.setStyleSheet(f"color: {icons.RED.name()};")
        self._retry = QPushButton("Retry", self._error_row)
        self._retry.setAccessibleName("Retry sending this message")
        self._retry.clicked.connect(lambda: emit(self.retry_requested, self.message.id))
        row.addWidget(self._error, 1)
        row.addWidget(self._retry)
        layout = self.layout()
        assert layout is not None
        layout.addWidget(self._error_row)
        return self._error_row

    @property
    def error_row(self) -> QWidget:
        return self._error_row or self._build_error_row()

    @property
    def error(self) -> QLabel:
        self.error_row  # noqa: B018  (built on first use)
        return self._error

    @property
    def retry(self) -> QPushButton:
        self.error_row  # noqa: B018  (built on first use)
        return self._retry

    def update_message(self, message: MessageView) -> None:
        self.message = message
        self.body.setText(message.body)
        if message.edited or self._edited is not None:
            self.edited.setVisible(message.edited)
        stamp = dt.datetime.fromtimestamp(message.timestamp)
        self.time.setText(stamp.strftime("%H:%M"))
        self.time.setToolTip(stamp.strftime("%c"))
        trust = lock_trust(message)
        self.lock.setPixmap(_lock_pixmap(trust))
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
            if color != self._tick_color:  # a style sheet per label is costly: only on change
                self._tick_color = color
                self.ticks.setStyleSheet(f"color: {color.name()};" if color else "")
            if color is None:
                self.ticks.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        failed = outgoing and message.state == "failed"
        if self._error_row is not None or failed:
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
        self,
        peer: str,
        device_id: int | None,
        reason: str,
        parent: QWidget | None = None,
        *,
        opt_out: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("notice")
        self.device_id = device_id
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        icon = QLabel(self)
        icon.setPixmap(icons.lock_pixmap("none" if opt_out else "untrusted", 18))
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
        if opt_out:  # the contact's request to go unencrypted (the service's sentence)
            text = reason
        self.text = QLabel(text, self)
        self.text.setObjectName("noticeText")
        self.text.setWordWrap(True)
        layout.addWidget(self.text, 1)
        self.repair = QPushButton("Repair", self)
        self.repair.setAccessibleName(f"Repair the secure session with device {device_id}")
        self.repair.setEnabled(device_id is not None)
        self.repair.clicked.connect(self._on_repair_clicked)
        layout.addWidget(self.repair, 0, Qt.AlignmentFlag.AlignVCenter)
        self.repair.setVisible(not opt_out)  # nothing is broken
        self.setAccessibleName(text)

    def _on_repair_clicked(self) -> None:
        if self.device_id is not None:
            self.repair.setEnabled(False)
            self.repair.setText("Repairing…")
            emit(self.repair_requested, self.device_id)

    def repaired(self, ok: bool) -> None:
        self.repair.setText("Repaired" if ok else "Repair")
        self.repair.setEnabled(not ok)


class _Entry:
    """One item of the conversation, live or not: a message (or a history notice) or a
    notice raised while the chat is open."""

    __slots__ = ("key", "notice", "timestamp", "view")

    def __init__(
        self,
        key: str,
        timestamp: float,
        view: MessageView | None = None,
        notice: tuple[int | None, str] | None = None,
    ) -> None:
        self.key = key
        self.timestamp = timestamp
        self.view = view
        self.notice = notice

    def is_notice(self) -> bool:
        return self.notice is not None or (self.view is not None and self.view.notice)


class _Row:
    """A live entry: its row in the layout, its widget and (first of a day) its separator."""

    __slots__ = ("day", "entry", "layout", "widget")

    def __init__(self, entry: _Entry, widget: QWidget, layout: QVBoxLayout) -> None:
        self.entry = entry
        self.widget = widget
        self.layout = layout
        self.day: QLabel | None = None


def _day(timestamp: float) -> dt.date:
    return dt.datetime.fromtimestamp(timestamp).date()


class ChatView(QScrollArea):
    """The conversation as a vertical list of widgets, kept cheap at any length.

    Every message known to the view is kept as data (`_entries`, oldest first); only a
    contiguous window of them, at most LIVE_CAP, has widgets (`_live`). Scrolling to the top
    of that window builds the previous PAGE from memory, and once memory is exhausted asks
    the owner for older history (`older_requested`, answered with `prepend_history`);
    scrolling to its bottom builds the next PAGE. Widgets leaving the window are destroyed,
    so a chat of thousands of messages costs what ~LIVE_CAP bubbles cost (layout passes of
    word-wrapped labels are linear in the live rows: uncapped, filling grew quadratically).
    """

    PAGE = 50  # messages per history request
    STEP = 20  # bubbles built per scroll step at either end (~40 ms: no visible hitch)
    FIRST = 30  # bubbles built on opening: more than a tall window shows
    LIVE_CAP = 150

    retry_requested = Signal(str)
    repair_requested = Signal(int)
    info_requested = Signal(object)
    older_requested = Signal(float)  # the owner answers with prepend_history(messages before it)

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
        self.bubbles: dict[str, MessageBubble] = {}  # the live ones, by message id
        self.decorate: Callable[[MessageBubble], None] | None = None  # e.g. files.py widgets
        self._entries: list[_Entry] = []
        self._by_key: dict[str, _Entry] = {}
        self._live: list[_Row] = []
        self._lo = 0  # _live shows _entries[_lo:_lo + len(_live)]
        self._notice_serial = 0
        self.has_older = False  # the owner may have history before _entries[0]
        self._older_pending = False
        self._older_strict = False  # the last request included ties at the oldest timestamp
        self._page_scheduled = False
        self._stick_to_bottom = True
        self.verticalScrollBar().rangeChanged.connect(self._on_scrollbar_range_changed)
        self.verticalScrollBar().valueChanged.connect(self._on_scrollbar_value_changed)
        self._reset_content()
        self.apply_palette()

    # ---------------------------------------------------------------- state

    @property
    def notices(self) -> list[DecryptionNotice]:
        return [r.widget for r in self._live if isinstance(r.widget, DecryptionNotice)]

    @property
    def message_count(self) -> int:
        """Messages (and notices) known to the view, live or not."""
        return len(self._entries)

    def _reset_content(self) -> None:
        content = QWidget()
        content.setObjectName("chatContent")
        self._layout = QVBoxLayout(content)
        self._layout.setContentsMargins(12, 12, 12, 12)
        self._layout.setSpacing(6)
        self._layout.addStretch(1)
        self.setWidget(content)  # deletes the previous content with all its widgets
        self.bubbles.clear()
        self._entries = []
        self._by_key = {}
        self._live = []
        self._lo = 0

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

    # ---------------------------------------------------------------- filling

    def set_conversation(
        self,
        peer: str,
        messages: list[MessageView],
        *,
        group: bool = False,
        has_older: bool | None = None,
    ) -> None:
        """Show `messages` (the newest page of history, or all of a chat); `has_older`
        (default: a full page was given) says whether scrolling up may ask for more."""
        self.peer = peer
        self.group = group
        self._reset_content()
        with self._batch():
            for message in sorted(messages, key=lambda m: m.timestamp):
                if message.id not in self._by_key:
                    self._entries.append(self._message_entry(message))
            self._lo = max(0, len(self._entries) - self.FIRST)
            self._insert_rows(0, self._lo, len(self._entries))
        self.has_older = len(messages) >= self.PAGE if has_older is None else has_older
        self._older_pending = False
        self._older_strict = False
        self._stick_to_bottom = True

    def prepend_history(self, messages: list[MessageView]) -> None:
        """Older messages the owner fetched for `older_requested`; the view stays put."""
        requested_strict = self._older_strict
        self._older_pending = False
        self._older_strict = False
        oldest = self._entries[0].timestamp if self._entries else float("inf")
        new = [
            m
            for m in sorted(messages, key=lambda m: m.timestamp)
            if m.id not in self._by_key and m.timestamp <= oldest
        ]
        if not new:
            if len(messages) >= self.PAGE and not requested_strict and self._entries:
                # A full page of messages sharing the oldest timestamp: skip past them.
                self._older_pending = self._older_strict = True
                emit(self.older_requested, self._entries[0].timestamp)
            else:
                self.has_older = False
            return
        if len(messages) < self.PAGE:
            self.has_older = False
        self._entries[0:0] = [self._message_entry(m) for m in new]
        self._lo += len(new)
        self._show_older()

    def older_failed(self) -> None:
        """The owner could not fetch older history: scrolling up again asks again."""
        self._older_pending = self._older_strict = False

    def _message_entry(self, message: MessageView) -> _Entry:
        entry = _Entry(message.id, message.timestamp, view=message)
        self._by_key[message.id] = entry
        return entry

    def _insert_entry(self, entry: _Entry) -> None:
        """Put a new entry in time order; give it widgets when it falls in the window."""
        index = bisect.bisect_right(self._entries, entry.timestamp, key=lambda e: e.timestamp)
        hi = self._lo + len(self._live)
        self._entries.insert(index, entry)
        if index < self._lo or (index == self._lo and self._lo > 0 and self._live):
            self._lo += 1  # older than the window: built when scrolled to
        elif index <= hi:
            self._insert_rows(index - self._lo, index, index + 1, show=False)
            if self._stick_to_bottom and len(self._live) > self.LIVE_CAP:
                self._remove_rows(0, len(self._live) - self.LIVE_CAP)
        # else: newer than the window (the user reads older history): built when scrolled to

    def add_message(self, message: MessageView) -> None:
        existing = self._by_key.get(message.id)
        if existing is not None:
            existing.view = message
            bubble = self.bubbles.get(message.id)
            if bubble is not None:
                bubble.update_message(message)
            return
        entry = _Entry(message.id, message.timestamp, view=message)
        self._by_key[message.id] = entry
        self._insert_entry(entry)

    def add_notice(
        self, device_id: int | None, reason: str, at: float | None = 0.0
    ) -> DecryptionNotice | None:
        """A failed decryption (now, or `at` a time): it goes below the newest message, where
        the reader looks, and its widget is returned (None while the reader is scrolled up
        in older history: it is built when they come back down)."""
        self._notice_serial += 1
        key = f"\x00notice-{self._notice_serial}"
        when = at or dt.datetime.now().timestamp()
        if self._entries:
            when = max(when, self._entries[-1].timestamp)
        entry = _Entry(key, when, notice=(device_id, reason))
        self._by_key[key] = entry
        self._insert_entry(entry)
        for row in reversed(self._live):
            if row.entry is entry and isinstance(row.widget, DecryptionNotice):
                return row.widget
        return None

    def update_state(self, message_id: str, state: str, error: str | None) -> None:
        entry = self._by_key.get(message_id)
        if entry is None or entry.view is None:
            return
        entry.view = replace(entry.view, state=state, error=error)
        bubble = self.bubbles.get(message_id)
        if bubble is not None:
            bubble.update_message(entry.view)

    def correct(self, message_id: str, body: str) -> None:
        entry = self._by_key.get(message_id)
        if entry is None or entry.view is None:
            return
        entry.view = replace(entry.view, body=body, edited=True)
        bubble = self.bubbles.get(message_id)
        if bubble is not None:
            bubble.update_message(entry.view)
            self._fit_width(bubble)

    def _last(self, direction: str) -> MessageView | None:
        for entry in reversed(self._entries):
            view = entry.view
            if view is not None and not view.notice and view.direction == direction:
                return view
        return None

    def last_outgoing(self) -> MessageView | None:
        return self._last("out")

    def last_incoming(self) -> MessageView | None:
        return self._last("in")

    # ---------------------------------------------------------------- rows

    def _sender_name(self, index: int) -> str:
        """In a room, an incoming message names its writer, once per run (and per day)."""
        view = self._entries[index].view
        if not self.group or view is None or view.direction != "in" or view.notice:
            return ""
        nick = sender_nick(view)
        prev = self._entries[index - 1].view if index > 0 else None
        if (
            prev is not None
            and not prev.notice
            and prev.direction == "in"
            and sender_nick(prev) == nick
            and _day(prev.timestamp) == _day(view.timestamp)
        ):
            return ""
        return nick

    def _build_row(self, index: int) -> _Row:
        entry = self._entries[index]
        content = self.widget()
        widget: QWidget
        if entry.is_notice():
            if entry.notice is not None:
                device, reason = entry.notice
            else:
                assert entry.view is not None
                device, reason = entry.view.sender_device, entry.view.body
            who = "someone in this group chat" if self.group else self.peer
            opt_out = entry.view is not None and entry.view.error == "opt-out"
            notice = DecryptionNotice(who, device, reason, content, opt_out=opt_out)
            notice.repair_requested.connect(self.repair_requested)
            widget, align = notice, Qt.AlignmentFlag.AlignCenter
        else:
            assert entry.view is not None
            bubble = MessageBubble(entry.view, content, sender_name=self._sender_name(index))
            bubble.retry_requested.connect(self.retry_requested)
            bubble.info_requested.connect(self.info_requested)
            self.bubbles[entry.key] = bubble
            if self.decorate is not None:
                self.decorate(bubble)
            outgoing = entry.view.direction == "out"
            widget = bubble
            align = Qt.AlignmentFlag.AlignRight if outgoing else Qt.AlignmentFlag.AlignLeft
        layout = QVBoxLayout()
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        line = QHBoxLayout()
        line.setContentsMargins(0, 0, 0, 0)
        if align != Qt.AlignmentFlag.AlignLeft:
            line.addStretch(1)
        line.addWidget(widget, 100 if isinstance(widget, DecryptionNotice) else 0)
        if align != Qt.AlignmentFlag.AlignRight:
            line.addStretch(1)
        layout.addLayout(line)
        self._fit_width(widget)
        return _Row(entry, widget, layout)

    def _insert_rows(self, at: int, start: int, end: int, *, show: bool = True) -> None:
        """Build widgets for _entries[start:end] at position `at` of the live window.
        `show` makes them visible now, so the next synchronous layout pass counts them
        (otherwise Qt shows them from the event loop, with one layout pass for all)."""
        if start >= end:
            return
        rows = [self._build_row(i) for i in range(start, end)]
        for k, row in enumerate(rows):
            self._layout.insertLayout(1 + at + k, row.layout)  # 0 is the top stretch
            if show:
                row.widget.show()
        self._live[at:at] = rows
        for i in range(at, min(at + len(rows) + 1, len(self._live))):
            self._fix_day(i)

    def _remove_rows(self, start: int, end: int) -> None:
        if start >= end:
            return
        focus = QApplication.focusWidget()
        for row in self._live[start:end]:
            if focus is not None and (focus is row.widget or row.widget.isAncestorOf(focus)):
                # Hiding a focused widget hands focus to the next bubble, and the scroll
                # area scrolls to show it: keep focus (and the position) on the view.
                self.setFocus()
                focus = None
            self._layout.removeItem(row.layout)
            if isinstance(row.widget, MessageBubble):
                self.bubbles.pop(row.entry.key, None)
            for widget in (row.day, row.widget):
                if widget is not None:
                    widget.hide()
                    widget.setParent(None)  # Python owns it now: freed with the row
            row.layout.deleteLater()
        del self._live[start:end]
        if start == 0:
            self._lo += end - start
        if self._live:
            self._fix_day(min(start, len(self._live) - 1))

    def _fix_day(self, i: int) -> None:
        """The first row of the window and the first of each day carry the day's name."""
        row = self._live[i]
        day = _day(row.entry.timestamp)
        wanted = i == 0 or _day(self._live[i - 1].entry.timestamp) != day
        if wanted and row.day is None:
            label = QLabel(day_text(day), self.widget())
            label.setObjectName("daySeparator")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
            label.setAccessibleName(day_text(day))
            row.layout.insertWidget(0, label)
            label.show()
            row.day = label
        elif not wanted and row.day is not None:
            row.layout.removeWidget(row.day)
            row.day.hide()
            row.day.setParent(None)
            row.day = None

    # ---------------------------------------------------------------- paging

    @contextlib.contextmanager
    def _batch(self) -> Iterator[None]:
        """Many rows in or out with one layout pass and one repaint. Showing a child of a
        visible widget activates the parent's layout at once (Qt does, to place it before
        it shows): per bubble that is a pass over every row, so a page cost seconds."""
        self.setUpdatesEnabled(False)
        self._layout.setEnabled(False)
        try:
            yield
        finally:
            self._layout.setEnabled(True)
            self._layout.invalidate()
            self.setUpdatesEnabled(True)

    def _settle_layout(self) -> None:
        """Run the pending layout passes now (content, then the scroll area's range)."""
        for _ in range(3):
            QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)

    def _keep_in_place(self, anchor: _Row, change: Callable[[], None]) -> None:
        """Apply `change` to the window while `anchor` stays where the reader sees it."""
        before = anchor.widget.y()  # the bubble, not its row: a day label may come or go
        bar = self.verticalScrollBar()
        value = bar.value()
        self._stick_to_bottom = False  # no jump to the bottom while the range changes
        try:
            with self._batch():
                change()
            self._settle_layout()
            bar.setValue(value + anchor.widget.y() - before)
        finally:
            self._stick_to_bottom = bar.value() >= bar.maximum() - 8

    def _show_older(self) -> None:
        if not self._live:  # nothing built yet: the newest, as on opening
            self._lo = max(0, len(self._entries) - self.FIRST)
            self._insert_rows(0, self._lo, len(self._entries))
            return
        if self._lo == 0:
            return
        start = max(0, self._lo - self.STEP)

        def change() -> None:
            self._insert_rows(0, start, self._lo)
            self._lo = start
            if len(self._live) > self.LIVE_CAP:
                self._remove_rows(self.LIVE_CAP, len(self._live))

        self._keep_in_place(self._live[0], change)

    def _show_newer(self) -> None:
        hi = self._lo + len(self._live)
        end = min(len(self._entries), hi + self.STEP)
        if not self._live or hi >= end:
            return

        def change() -> None:
            self._insert_rows(len(self._live), hi, end)
            if len(self._live) > self.LIVE_CAP:
                self._remove_rows(0, len(self._live) - self.LIVE_CAP)

        self._keep_in_place(self._live[-1], change)  # the top trim never reaches it

    def _schedule_paging(self) -> None:
        if not self._page_scheduled:
            self._page_scheduled = True
            QTimer.singleShot(0, self._page)

    def _page(self) -> None:
        self._page_scheduled = False
        self._settle_layout()  # a range seen mid-layout (0 while filling) is no reason to page
        bar = self.verticalScrollBar()
        if bar.value() <= bar.minimum():
            if self._lo > 0:
                self._show_older()
            elif self.has_older and not self._older_pending and self._entries:
                # Ties at the oldest timestamp come back too (deduplicated by id), so
                # messages sharing a second at a page boundary are not skipped.
                self._older_pending = True
                emit(
                    self.older_requested,
                    math.nextafter(self._entries[0].timestamp, math.inf),
                )
        elif bar.value() >= bar.maximum() - 8:
            if self._lo + len(self._live) < len(self._entries):
                self._show_newer()
            elif len(self._live) > self.LIVE_CAP:
                self._remove_rows(0, len(self._live) - self.LIVE_CAP)

    def scroll_to_newest(self) -> None:
        """Jump to the newest message (rebuilding the window there if needed)."""
        if self._lo + len(self._live) < len(self._entries):
            with self._batch():
                self._remove_rows(0, len(self._live))
                self._lo = max(0, len(self._entries) - self.FIRST)
                self._insert_rows(0, self._lo, len(self._entries))
            self._settle_layout()
        self._stick_to_bottom = True
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    # ---------------------------------------------------------------- geometry

    def _fit_width(self, widget: QWidget) -> None:
        width = max(240, int(self.viewport().width() * 0.72))
        if isinstance(widget, MessageBubble):
            widget.fit(width)
        elif isinstance(widget, DecryptionNotice):
            widget.setMaximumWidth(max(width, int(self.viewport().width() * 0.9)))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            for row in self._live:
                self._fit_width(row.widget)

    def _on_scrollbar_range_changed(self, _low: int, high: int) -> None:
        if self._stick_to_bottom:
            self.verticalScrollBar().setValue(high)
        if high == 0 and (self._lo > 0 or self.has_older):
            self._schedule_paging()  # the window does not fill the view: fetch more

    def _on_scrollbar_value_changed(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._stick_to_bottom = value >= bar.maximum() - 8
        if value <= bar.minimum() or self._stick_to_bottom:
            self._schedule_paging()
