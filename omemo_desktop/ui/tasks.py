"""Runs service coroutines on the asyncio (qasync) loop and routes their outcome to the UI."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

BUG_TEXT = (
    "Something went wrong inside omemo-desktop ({name}). Try again; if it keeps happening, "
    "please report it with the log file."
)


def describe_error(error: BaseException) -> str:
    """The text to show a person: the service's own sentence, or a clear 'this is our bug'."""
    # Imported here: the window (and this runner) exist before the service is imported.
    from omemo_desktop.service.api import ServiceError

    if isinstance(error, ServiceError):
        return str(error) or "The operation failed. Check your connection and try again."
    return BUG_TEXT.format(name=type(error).__name__)


class TaskRunner:
    """Keeps a reference to every task it starts (so none is garbage-collected mid-flight)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._tasks: set[asyncio.Task[Any]] = set()
        self.on_unhandled_error: Callable[[str], None] | None = None

    def run(
        self,
        coro: Coroutine[Any, Any, T],
        on_result: Callable[[T], None] | None = None,
        on_error: Callable[[str, BaseException], None] | None = None,
    ) -> asyncio.Task[T]:
        task = self.loop.create_task(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task[T]) -> None:
            self._tasks.discard(t)
            if t.cancelled():
                return
            error = t.exception()
            if error is None:
                if on_result is not None:
                    on_result(t.result())
                return
            from omemo_desktop.service.api import ServiceError

            if not isinstance(error, ServiceError):
                log.error("unexpected error in a UI task", exc_info=error)
            text = describe_error(error)
            if on_error is not None:
                on_error(text, error)
            elif self.on_unhandled_error is not None:
                self.on_unhandled_error(text)

        task.add_done_callback(done)
        return task

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
