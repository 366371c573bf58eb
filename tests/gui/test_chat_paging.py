"""Long conversations: scrolling to the top pages older history in (the service's `before`
cursor) without moving what the reader sees; the view keeps a bounded number of widgets."""

from __future__ import annotations

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication

from omemo_desktop.service.api import MessageView, ServiceError
from omemo_desktop.ui.chat_view import ChatView, MessageBubble
from omemo_desktop.ui.main_window import MainWindow
from tests.gui.conftest import ALICE, BOB, YESTERDAY_NOON
from tests.gui.test_chat import open_bob
from tests.helpers.fake_messenger import FakeMessenger

# Before the fixture's "m-old" (yesterday noon), 10 minutes apart: two days, two separators.
START = YESTERDAY_NOON - 86_400


def message(i: int, when: float | None = None) -> MessageView:
    return MessageView(
        f"p{i}",
        ALICE,
        BOB,
        "out" if i % 3 == 0 else "in",
        f"message number {i}" + " with a longer tail" * (i % 4),
        START + i * 600 if when is None else when,
        "omemo2",
        sender_device=4242,
        trust="trusted",
        state="read",
    )


def top_row_y(chat: ChatView, bubble: MessageBubble) -> int:
    return bubble.mapTo(chat.viewport(), QPoint(0, 0)).y()


def test_scrolling_to_the_top_loads_the_previous_page_in_place(
    window: MainWindow, drive, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    for i in range(120):
        fake.add_message(message(i))
    # Messages sharing one timestamp at the page boundary are neither lost nor doubled.
    fake.add_message(message(1000, when=START + 70 * 600))
    open_bob(window, drive)
    chat = window.chat
    drive.until(lambda: chat.message_count == 50)  # the newest page: p71..p119 and m-old
    assert len(chat.bubbles) == ChatView.FIRST and "p91" in chat.bubbles
    assert chat.has_older and "p90" not in chat.bubbles
    drive.settle(0.05)
    bar = chat.verticalScrollBar()
    assert bar.value() == bar.maximum() > 0  # opened at the newest message
    # At the top: first the rest of the page already fetched, in place.
    top = chat.bubbles["p91"]
    bar.setValue(0)
    seen_at = top_row_y(chat, top)
    drive.until(lambda: "p71" in chat.bubbles)
    drive.settle(0.05)
    assert bar.value() > 0 and top_row_y(chat, top) == seen_at
    assert len(fake.called("history")) == 1
    # Then the previous page from the service: p70 and p1000 share the boundary's second.
    top = chat.bubbles["p71"]
    bar.setValue(0)
    seen_at = top_row_y(chat, top)
    drive.until(lambda: chat.message_count == 99)  # 50 fetched, p71 among them again
    call = fake.called("history")[-1]
    assert call.kwargs["limit"] == 50 and call.kwargs["before"] > START + 71 * 600
    drive.settle(0.05)
    # The reader still sees the same message at the same place, with older ones above it.
    assert bar.value() > 0 and top_row_y(chat, top) == seen_at
    assert {"p70", "p1000", "p69"} <= set(chat.bubbles)
    # The rest, then the end of history: no more requests.
    for _ in range(30):
        bar.setValue(0)
        drive.settle(0.03)
        if "p0" in chat.bubbles and not chat.has_older:
            break
    assert "p0" in chat.bubbles and not chat.has_older
    calls = len(fake.called("history"))
    bar.setValue(0)
    drive.settle(0.1)
    assert len(fake.called("history")) == calls
    assert chat.message_count == 122 and len(chat.bubbles) <= ChatView.LIVE_CAP
    days = [d.text() for d in chat.findChildren(type(window.peer_name), "daySeparator")]
    assert len(days) == len(set(days))  # one separator per day


def test_a_long_chat_keeps_a_bounded_window_of_widgets(qtbot) -> None:  # type: ignore[no-untyped-def]
    chat = ChatView()
    qtbot.addWidget(chat)
    chat.resize(700, 500)
    chat.show()
    chat.set_conversation(BOB, [message(i) for i in range(200)])
    assert len(chat.bubbles) == ChatView.FIRST and chat.message_count == 200
    for i in range(200, 400):  # a busy chat grows at the bottom
        chat.add_message(message(i))
        QApplication.processEvents()
    assert len(chat.bubbles) <= ChatView.LIVE_CAP and "p399" in chat.bubbles
    last = chat.last_outgoing()
    assert last is not None and last.id == "p399"
    chat.update_state("p3", "failed", "no route")  # not live: the data is kept for later
    bar = chat.verticalScrollBar()
    for _ in range(60):  # scroll up through memory, a step at a time
        bar.setValue(0)
        QApplication.processEvents()
        if "p0" in chat.bubbles:
            break
    assert "p0" in chat.bubbles and len(chat.bubbles) <= ChatView.LIVE_CAP
    failed = chat.bubbles["p3"]
    assert failed.error_row.isVisibleTo(failed) and "no route" in failed.error.text()
    for _ in range(60):  # and back down to the newest
        bar.setValue(bar.maximum())
        QApplication.processEvents()
        if "p399" in chat.bubbles:
            break
    assert "p399" in chat.bubbles and len(chat.bubbles) <= ChatView.LIVE_CAP
    chat.scroll_to_newest()
    assert bar.value() == bar.maximum()


def test_older_history_that_fails_to_load_is_asked_for_again(
    window: MainWindow, drive, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    for i in range(80):
        fake.add_message(message(i))
    open_bob(window, drive)
    chat = window.chat
    drive.until(lambda: chat.message_count == 50)
    bar = chat.verticalScrollBar()
    fake.fail["history"] = ServiceError("The message store could not be read.")
    for _ in range(10):  # the rest of the first page from memory, then a request
        bar.setValue(0)
        drive.settle(0.03)
        if window.chat_banner.isVisible():
            break
    assert "could not be read" in window.chat_banner.label.text()
    assert chat.message_count == 50 and chat.has_older
    del fake.fail["history"]
    bar.setValue(bar.maximum())
    drive.settle(0.03)
    bar.setValue(0)
    drive.until(lambda: chat.message_count == 81)  # with the fixture's m-old
