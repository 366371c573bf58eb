"""ui/ may import PySide6, qasync, the standard library, segno and hsluv, and from our own
package only omemo_desktop.service.api (and ui/ itself)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

UI = Path(__file__).resolve().parents[2] / "omemo_desktop" / "ui"
THIRD_PARTY = {"PySide6", "qasync", "segno", "hsluv"}


def imported(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                names.append("omemo_desktop.ui." + (node.module or ""))
            elif node.module:
                names.append(node.module)
    return names


def test_ui_imports_only_the_service_api() -> None:
    problems = []
    files = list(UI.rglob("*.py"))
    assert len(files) > 5
    for path in files:
        for name in imported(path):
            root = name.split(".")[0]
            if root == "omemo_desktop":
                if not (name == "omemo_desktop.service.api" or name.startswith("omemo_desktop.ui")):
                    problems.append(f"{path.name} imports {name}")
            elif root not in THIRD_PARTY and root not in sys.stdlib_module_names:
                problems.append(f"{path.name} imports {name}")
    assert not problems, problems
