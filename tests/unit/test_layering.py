"""The layering rules of docs/ARCHITECTURE.md, checked by walking every import with ast."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "omemo_desktop"

# layer -> (allowed omemo_desktop subpackages, forbidden third-party roots)
RULES: dict[str, tuple[set[str], set[str]]] = {
    "omemo": ({"omemo"}, {"slixmpp", "PySide6", "qasync", "sqlite3", "keyring", "omemo_desktop"}),
    "storage": ({"storage", "omemo"}, {"slixmpp", "PySide6", "qasync"}),
    "xmpp": ({"xmpp"}, {"PySide6", "qasync", "sqlite3", "keyring", "cryptography"}),
    "service": ({"service", "omemo", "storage", "xmpp", "paths"}, {"PySide6", "qasync"}),
    "ui": ({"ui", "service.api"}, set()),
}
# Oracles are for tests only.
NEVER = {"omemo", "twomemo", "oldmemo", "slixmpp_omemo", "x3dh", "doubleratchet", "xeddsa"}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    pkg_parts = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(pkg_parts[: len(pkg_parts) - node.level + 1])
                mod = ".".join([*base, node.module] if node.module else base)
                names.append(mod)
                if not node.module:
                    names += [f"{mod}.{a.name}" for a in node.names]
            elif node.module:
                names.append(node.module)
    return names


def test_layers_import_only_what_they_may() -> None:
    problems: list[str] = []
    for layer, (allowed, forbidden) in RULES.items():
        for path in (PACKAGE / layer).rglob("*.py"):
            for name in _imports(path):
                root = name.split(".")[0]
                if root == "omemo_desktop":
                    inner = name.removeprefix("omemo_desktop").lstrip(".")
                    if inner and not any(inner == a or inner.startswith(a + ".") for a in allowed):
                        problems.append(f"{path.relative_to(PACKAGE)} imports {name}")
                elif root in forbidden:
                    problems.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert not problems, "\n".join(problems)


def test_the_app_never_imports_the_reference_implementations() -> None:
    problems = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in PACKAGE.rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in NEVER
    ]
    assert not problems, "\n".join(problems)
