"""Work-arounds for bugs of the Qt binding, each probed at import so a fixed version is
left alone.

PySide6 6.12 on Python 3.11: `SignalInstance.emit()` returns `True` without taking a
reference to it, so every emit of a Python-side signal loses one reference to `True`; after
enough emits the interpreter aborts at exit ("bool_dealloc: deallocating True or False").
Python 3.12+ makes True immortal, which hides the bug there. `emit()` below gives the
reference back when (and only when) the probe sees the loss.
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


def emit(signal: Any, *args: Any) -> None:
    """`signal.emit(*args)`, minus the binding's reference leak."""
    signal.emit(*args)
    if EMIT_LOSES_TRUE:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))
