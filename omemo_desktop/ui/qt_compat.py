"""Work-arounds for bugs of the Qt binding, each probed at import so a fixed version is
left alone.

PySide6 6.12 on Python 3.11: `SignalInstance.emit()` returns `True` without taking a
reference to it, so every emit of a Python-side signal loses one reference to `True`; after
enough emits the interpreter aborts at exit ("bool_dealloc: deallocating True or False").
Python 3.12+ makes True immortal, which hides the bug there. `emit()` below gives the
reference back when (and only when) the probe sees the loss.

The same binding loses a reference to `None` on nearly every call of a void Qt method
(setText, show, addWidget, ...). A session that builds bubbles while scrolling through a long
history makes millions of such calls and would abort ("none_dealloc"). No per-call fix is
possible, so when the probe sees the loss, None is made effectively immortal (as Python 3.12
does): its count is raised once by 2**40, which no session can use up.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal


class _Probe(QObject):
    fired = Signal(int)


def _emit_loses_a_reference() -> bool:
    probe = _Probe()
    before = sys.getrefcount(True)
    probe.fired.emit(0)
    lost = sys.getrefcount(True) < before
    if lost:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))
    return lost


EMIT_LOSES_TRUE = _emit_loses_a_reference()


def _void_calls_lose_none() -> bool:
    probe = _Probe()
    before = sys.getrefcount(None)
    for _ in range(16):
        probe.setObjectName("probe")
    return sys.getrefcount(None) <= before - 16


VOID_CALLS_LOSE_NONE = _void_calls_lose_none()
if VOID_CALLS_LOSE_NONE and sys.version_info < (3, 12):  # 3.12+: None is immortal anyway
    ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40


def emit(signal: Any, *args: Any) -> None:
    """`signal.emit(*args)`, minus the binding's reference leak."""
    signal.emit(*args)
    if EMIT_LOSES_TRUE:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))
