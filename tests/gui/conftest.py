"""GUI test fixtures: a qasync loop driven by the test, a fake messenger with sample data,
and the main window attached to it. Qt warnings fail the test."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QWidget

from omemo_desktop.service.api import ContactView, DeviceView, MessageView
from omemo_desktop.ui.main_window import MainWindow
from omemo_desktop.ui.tasks import TaskRunner
from tests.helpers.fake_messenger import FakeMessenger

YESTERDAY_NOON = dt.datetime.combine(
    dt.date.today() - dt.timedelta(days=1), dt.time(12, 0)
).timestamp()
ALICE = "alice@example.org"
BOB = "bob@example.org"
CAROL = "carol@example.org"
BOB_PHONE = DeviceView(
    BOB,
    4242,
    "6e3c9a01" + "0f1e2d3c" * 6 + "deadbeef",
    "omemo2",
    "trusted",
    label="Bob's phone",
    last_seen=1_700_000_000.0,
)
BOB_LAPTOP = DeviceView(BOB, 777, "1234abcd" * 8, "legacy", "undecided", label="Laptop")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.qt_log_level_fail("WARNING"))
        # The offscreen platform cannot resize or raise native windows; harmless.
        item.add_marker(pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise"))


class Driver:
    """Runs the qasync loop until a condition holds (tasks need a running loop)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def settle(self, seconds: float = 0.02) -> None:
        self.loop.run_until_complete(asyncio.sleep(seconds))

    def until(self, condition: Callable[[], object], timeout: float = 3.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("condition not met in time")
            self.settle(0.01)


@pytest.fixture
def loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    import qasync

    event_loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(event_loop)
    yield event_loop
    for task in asyncio.all_tasks(event_loop):
        task.cancel()
    event_loop.run_until_complete(asyncio.sleep(0))
    event_loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def drive(loop: asyncio.AbstractEventLoop) -> Driver:
    return Driver(loop)


@pytest.fixture
def runner(loop: asyncio.AbstractEventLoop) -> TaskRunner:
    return TaskRunner(loop)


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def fake() -> FakeMessenger:
    fake = FakeMessenger()
    fake.add_account_now(ALICE, "a1b2c3d4e5f60718" * 4)
    fake.set_contacts(
        ALICE,
        [
            ContactView(BOB, "Bob", "both", available=True),
            ContactView(CAROL, "Carol", "both", available=False),
        ],
    )
    fake.set_devices(ALICE, BOB, [BOB_PHONE, BOB_LAPTOP])
    fake.add_message(
        MessageView(
            "m-old",
            ALICE,
            BOB,
            "in",
            "Hi Alice!",
            YESTERDAY_NOON,
            "omemo2",
            sender_device=4242,
            trust="verified",
        )
    )
    return fake


@pytest.fixture
def window(qtbot, runner: TaskRunner, settings: QSettings, fake: FakeMessenger) -> MainWindow:  # type: ignore[no-untyped-def]
    win = MainWindow(runner, settings)
    qtbot.addWidget(win)
    win.attach(fake)
    win.show()
    return win


def find_top(kind: type[QWidget]) -> list[QWidget]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()]
