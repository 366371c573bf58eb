"""Small checks shared by the main window, the dialogs and the room dialogs.

Kept apart from dialogs.py so the main window (and rooms.py) can use them at start-up without
importing every dialog class (see issue #13, GUI cold start)."""

from __future__ import annotations

import re

JID_RE = re.compile(r"^[^@/\s]+@[^@/\s]+\.[^@/\s]+$|^[^@/\s]+@localhost$")


def check_jid(jid: str) -> str | None:
    """None if the address looks usable, else a sentence saying what to fix."""
    if not jid:
        return "Enter an address such as alice@example.org."
    if not JID_RE.match(jid):
        return f"“{jid}” is not an XMPP address. It looks like name@example.org."
    return None


def setting_bool(value: object) -> bool:
    """QSettings hands back "true"/"false" strings from an INI file."""
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)
