"""Two app windows on the real service and a real Prosody: Alice creates a room, invites Bob
from the room, Bob accepts the invitation, Alice's first group message waits for her trust
decision about Bob's device in the room's trust dialog, and Bob reads it with Alice's nick.

Clicks go through QAbstractButton.click(), not QTest: QTest processes Qt events outside the
running asyncio loop, and the real service's coroutines need the loop to be running.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from omemo_desktop.service.messenger import Messenger
from omemo_desktop.storage.secrets import SecretStore
from omemo_desktop.ui.main_window import MainWindow
from omemo_desktop.ui.rooms import InvitationDialog
from omemo_desktop.ui.tasks import TaskRunner
from tests.gui.conftest import find_top
from tests.helpers.memory_keyring import MemoryKeyring
from tests.helpers.prosody import ProsodyServer

ROOM = "crew@conference.localhost"


@pytest.mark.integration
def test_group_chat_between_two_windows(  # type: ignore[no-untyped-def]
    prosody: ProsodyServer, tmp_path: Path, qtbot, drive, runner: TaskRunner
) -> None:
    quit_on_close = QApplication.quitOnLastWindowClosed()
    QApplication.setQuitOnLastWindowClosed(False)  # a closed window must not stop the loop
    keyring = MemoryKeyring()
    messengers: dict[str, Messenger] = {}
    windows: dict[str, MainWindow] = {}

    async def until(condition: Callable[[], object], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "condition not met in time"
            await asyncio.sleep(0.02)

    async def scenario() -> None:
        for name in ("alice", "bob"):
            prosody.register(name, "pw")
            m = Messenger(
                data_dir=tmp_path / name, ca_file=prosody.ca_file, secrets=SecretStore(keyring)
            )
            messengers[name] = m
            settings = QSettings(str(tmp_path / f"{name}.ini"), QSettings.Format.IniFormat)
            win = MainWindow(runner, settings)
            qtbot.addWidget(win)
            win.attach(m)
            win.show()
            windows[name] = win
            await m.add_account(f"{name}@localhost", "pw", server=prosody.address)
            win.reload_accounts()
        alice, bob = windows["alice"], windows["bob"]
        # Bob takes any device (his side is not under test); Alice decides in the dialog.
        await messengers["bob"].set_trust_policy("bob@localhost", "blind")

        join = alice.open_join_room()
        assert join is not None
        join.room.setText(ROOM)
        join.ok.click()
        await until(lambda: alice.peer == ROOM)
        assert alice.encryption_button.isEnabled() and alice.encryption_button.isChecked()

        invite = alice.open_invite()
        assert invite is not None
        invite.who.setEditText("bob@localhost")
        invite.ok.click()
        await until(lambda: not invite.isVisible())
        assert "bob@localhost" in alice.participants.member_text("bob@localhost")

        def invitation() -> InvitationDialog | None:
            found = [d for d in find_top(InvitationDialog) if d.parent() is bob]
            return found[0] if found and isinstance(found[0], InvitationDialog) else None

        await until(lambda: invitation() is not None)
        dialog = invitation()
        assert dialog is not None
        dialog.join.click()
        await until(lambda: bob.peer == ROOM)
        assert "encrypted (OMEMO)" in bob.peer_status.text()

        alice.composer.setPlainText("hello crew")
        alice.send_button.click()
        key = (alice.account or "", ROOM)
        await until(lambda: key in alice.trust_dialogs)
        trust = alice.trust_dialogs[key]
        assert "members of crew" in trust.windowTitle()
        assert all(row.device.jid == "bob@localhost" for row in trust.rows.values())
        for row in list(trust.rows.values()):
            row.trust.click()

        def received() -> bool:
            return any(b.message.body == "hello crew" for b in bob.chat.bubbles.values())

        await until(received, timeout=30)
        bubble = next(b for b in bob.chat.bubbles.values() if b.message.body == "hello crew")
        assert bubble.sender_label is not None and bubble.sender_label.text() == "alice"
        assert bubble.message.encryption == "omemo2"
        await until(lambda: "trusted device" in alice.participants.member_text("bob@localhost"))
        if os.environ.get("SHOT_DIR"):  # to look at it: SHOT_DIR=/tmp pytest ...
            alice.grab().save(str(Path(os.environ["SHOT_DIR"]) / "live-alice.png"))
            bob.grab().save(str(Path(os.environ["SHOT_DIR"]) / "live-bob.png"))

    async def close() -> None:
        for win in windows.values():
            win.bridge.detach() if win.bridge is not None else None
        for m in messengers.values():
            await m.close()

    async def main() -> None:
        try:
            await scenario()
        finally:
            await close()

    # One run of the loop for all of it: qasync's run_until_complete processes Qt events
    # once more after the loop stopped, and service callbacks must not run then.
    try:
        drive.loop.run_until_complete(main())
    finally:
        QApplication.setQuitOnLastWindowClosed(quit_on_close)
