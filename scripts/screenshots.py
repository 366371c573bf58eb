"""Render the main views with realistic sample data into docs/screenshots/*.png.

    xvfb-run -a .venv/bin/python scripts/screenshots.py      (or with QT_QPA_PLATFORM=offscreen)

Uses the in-memory fake messenger from the tests, so no server or keyring is needed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_API", "pyside6")
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

APP = QApplication(sys.argv[:1])

import qasync  # noqa: E402  (after PySide6)

from omemo_desktop.service.api import (  # noqa: E402
    ChatStateChanged,
    ConnectionStateChanged,
    ContactView,
    DecryptionFailed,
    DeviceView,
    MessageView,
    RoomView,
    TrustDecisionNeeded,
)
from omemo_desktop.ui.main_window import MainWindow  # noqa: E402
from omemo_desktop.ui.tasks import TaskRunner  # noqa: E402
from omemo_desktop.ui.theme import SystemTheme  # noqa: E402
from tests.helpers.fake_messenger import FakeMessenger  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
ME = "alice@example.org"
BOB = "bob@example.org"
ROOM = "band@conference.example.org"


def at(days_ago: int, hour: int, minute: int) -> float:
    day = dt.date.today() - dt.timedelta(days=days_ago)
    return dt.datetime.combine(day, dt.time(hour, minute)).timestamp()


def sample_messenger() -> FakeMessenger:
    fake = FakeMessenger()
    fake.add_account_now(ME, "3f9a61c2d47b0e85a1c3e9f27d64b508e2a7c91f4b6d3085c7e1a9f2b4d60c83")
    fake.add_account_now("alice@work.example.com")
    fake.set_contacts(
        ME,
        [
            ContactView(BOB, "Bob Marley", "both", available=True, status="At the studio"),
            ContactView("carol@example.org", "Carol Danvers", "both", True, "away"),
            ContactView("dave@jabber.example", "Dave", "both", False),
            ContactView("erin@example.net", "Erin Li", "to", True, "dnd", "In a meeting"),
            ContactView("frank@example.org", "", "none", False),
        ],
    )
    phone = DeviceView(
        BOB,
        4242,
        "6e3c9a01b5f27d48c0a3e61f92d4b7058a1c6e3f07b29d54e8c1a6f3d20b9e74",
        "omemo2",
        "verified",
        "Bob's phone",
        True,
        time.time() - 120,
    )
    laptop = DeviceView(
        BOB,
        31337,
        "c4e0b8a2917d3f65e2a84c1b0d97f36a5e2c8b140f6d93a7b5e21c8d4f0a6b39",
        "legacy",
        "undecided",
        "Gajim on laptop",
        True,
        time.time() - 86_400 * 2,
    )
    fake.set_devices(ME, BOB, [phone, laptop])
    fake.set_devices(
        ME,
        ME,
        [
            DeviceView(ME, 1001, fake.fingerprints[ME], "omemo2", "verified", "This PC", own=True),
            DeviceView(
                ME,
                2002,
                "9b17e4c3a05d28f61c7e3a9b4d0f52e86a1c7b3e9d40f25a8c6e1b7d3f09a4c2",
                "both",
                "trusted",
                "Conversations on phone",
                True,
                time.time() - 3600,
                own=True,
            ),
            DeviceView(
                ME,
                3003,
                "4c8e2a6f1b9d3e7a5c0f8b2d6e4a1c9f7b3d5e0a8c6f2b4d1e9a7c3f5b0d8e6a",
                "legacy",
                "trusted",
                "Old tablet",
                True,
                time.time() - 86_400 * 140,
                own=True,
            ),
        ],
    )
    msgs = [
        (
            "1",
            "in",
            "Hey Alice! Did you get the photos from Saturday?",
            at(1, 18, 2),
            "verified",
            "read",
        ),
        (
            "2",
            "out",
            "Yes, they are lovely. The one at the lake is my favourite.",
            at(1, 18, 5),
            "trusted",
            "read",
        ),
        ("3", "in", "Shall we meet for lunch tomorrow?", at(0, 9, 41), "verified", "received"),
        ("4", "out", "Sure. 12:30 at the usual place?", at(0, 9, 44), "trusted", "read"),
        ("5", "in", "Perfect, see you there.", at(0, 9, 45), "untrusted", "received"),
        ("6", "out", "I'll bring the book I promised you.", at(0, 9, 47), "trusted", "delivered"),
        ("7", "out", "Here is the address: 12 Harbour Street", at(0, 9, 52), "trusted", "failed"),
    ]
    for mid, direction, body, ts, trust, state in msgs:
        fake.add_message(
            MessageView(
                f"m{mid}",
                ME,
                BOB,
                direction,
                body,
                ts,
                "legacy" if trust == "untrusted" else "omemo2",
                sender_device=31337 if trust == "untrusted" else 4242,
                trust=trust,
                state=state,
                edited=mid == "4",
                error="The server did not answer within 30 seconds. Check your connection."
                if state == "failed"
                else None,
                encrypted_for=(4242, 31337, 2002),
            )
        )
    add_room(fake, phone, laptop)
    return fake


def add_room(fake: FakeMessenger, phone: DeviceView, laptop: DeviceView) -> None:
    """A members-only room with three other members, one of them with an undecided device."""
    members = (ME, BOB, "carol@example.org", "erin@example.net", "grace@example.com")
    fake.add_room(ME, RoomView(ROOM, "The Band", "alice", members, True))
    fake.set_devices(
        ME,
        "carol@example.org",
        [DeviceView("carol@example.org", 5150, "5d" * 32, "omemo2", "verified", "Carol's phone")],
    )
    fake.set_devices(
        ME,
        "erin@example.net",
        [
            DeviceView("erin@example.net", 8080, "e1" * 32, "both", "trusted", "Dino"),
            DeviceView("erin@example.net", 9090, "9e" * 32, "omemo2", "distrusted", "Old PC"),
        ],
    )
    fake.set_devices(
        ME,
        "grace@example.com",
        [DeviceView("grace@example.com", 3003, "a7" * 32, "legacy", "undecided", "Monal")],
    )
    lines = [
        ("r1", "bob", "Rehearsal moved to Thursday, same time.", at(0, 10, 2)),
        ("r2", "bob", "Studio B this time, the big one.", at(0, 10, 3)),
        ("r3", "carol", "Works for me! I'll bring the new strings.", at(0, 10, 11)),
        ("r4", "", "Great, I'll book the van.", at(0, 10, 15)),
        ("r5", "erin", "Running late, start without me!", at(0, 10, 32)),
        ("r6", "grace", "Hi all, thanks for the invite!", at(0, 10, 40)),
    ]
    for mid, nick, body, ts in lines:
        fake.add_message(
            MessageView(
                mid,
                ME,
                ROOM,
                "out" if not nick else "in",
                body,
                ts,
                "omemo2",
                sender_device=4242,
                trust="untrusted" if nick == "grace" else "verified" if nick else "trusted",
                state="read" if not nick else "received",
                sender=f"{ROOM}/{nick}" if nick else ME,
            )
        )


def save(widget: QWidget, name: str) -> None:
    path = OUT / f"{name}.png"
    widget.grab().save(str(path))
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    loop = qasync.QEventLoop(APP)
    asyncio.set_event_loop(loop)

    def settle(seconds: float = 0.15) -> None:
        loop.run_until_complete(asyncio.sleep(seconds))

    fake = sample_messenger()
    settings = QSettings(str(OUT / ".screenshots.ini"), QSettings.Format.IniFormat)
    window = MainWindow(TaskRunner(loop), settings)
    window.attach(fake)
    window.resize(1040, 720)
    window.show()
    window.unread[(ME, "carol@example.org")] = 2
    window.activity[(ME, "carol@example.org")] = at(0, 8, 30)
    window.preview[(ME, "carol@example.org")] = "Can you send me the slides?"
    window.activity[(ME, "dave@jabber.example")] = at(3, 15, 0)
    window.preview[(ME, "dave@jabber.example")] = "You: Thanks, talk soon!"
    fake.emit(ConnectionStateChanged(ME, "connected"))
    window.open_chat(BOB)
    settle()
    fake.emit(
        DecryptionFailed(ME, BOB, 31337, "The secure session with this device is out of step")
    )
    fake.emit(ChatStateChanged(ME, BOB, "composing"))
    window.composer.setPlainText("Looking forward to it")
    settle()
    save(window, "main-window")

    fake.emit(
        TrustDecisionNeeded(
            ME, BOB, tuple(d for d in fake.device_map[(ME, BOB)] if d.trust == "undecided")
        )
    )
    settle()
    dialog = window.trust_dialogs[(ME, BOB)]
    dialog.resize(600, 300)
    settle()
    save(dialog, "trust-dialog")
    dialog.close()

    fake.emit(TrustDecisionNeeded(ME, BOB, (fake.device_map[(ME, BOB)][1],), key_changed=True))
    settle()
    dialog = window.trust_dialogs[(ME, BOB)]
    dialog.resize(600, 330)
    settle()
    save(dialog, "trust-dialog-key-changed")
    dialog.close()

    page = window.open_own_devices()
    assert page is not None
    page.resize(700, 700)
    settle(0.3)
    save(page, "own-fingerprint")
    page.close()

    contact = window.open_contact_page()
    assert contact is not None
    contact.resize(620, 470)
    settle(0.3)
    save(contact, "contact-devices")
    contact.close()

    window.open_chat(ROOM)
    settle(0.3)
    save(window, "group-chat")
    theme = SystemTheme(APP)
    theme.apply(Qt.ColorScheme.Dark)  # as on a desktop set to dark
    settle()
    save(window, "group-chat-dark")
    theme.apply(Qt.ColorScheme.Light)
    settle()
    join = window.open_join_room()
    assert join is not None
    lobby = "lobby@conference.example.org"
    fake.existing_rooms[lobby] = RoomView(lobby, "Lobby", "", (BOB,), False)
    join.room.setText(lobby)
    join.ok.click()  # an open room: the dialog stays and says why OMEMO is unavailable
    settle(0.3)
    join.adjustSize()
    settle()
    save(join, "join-group-chat")
    join.close()

    add = window.open_add_account()
    assert add is not None
    add.jid.setText("alice@example.org")
    add.password.setText("correct horse")
    add.server.setText("xmpp.example.org:5222")
    add.error.show_text(
        "danger",
        "The server rejected the password for alice@example.org. Check it and try again.",
    )
    settle()
    add.adjustSize()
    settle()
    save(add, "add-account")
    add.close()

    window.close()
    settle(0.05)
    loop.close()
    (OUT / ".screenshots.ini").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
