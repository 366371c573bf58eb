"""Dialogs: add account, add contact, trust decisions, compare fingerprints, subscription
requests, verification URIs, search, message info and settings."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from omemo_desktop.service.api import DeviceView, MessageView, MessengerApi

from .fingerprint import FingerprintView
from .qt_compat import emit
from .tasks import TaskRunner
from .values import check_jid, setting_bool
from .widgets import Banner, Busy

NAMESPACE_NAMES = {"omemo2": "OMEMO 2", "legacy": "OMEMO (legacy)", "both": "OMEMO 2 and legacy"}
TRUST_NAMES = {
    "undecided": "Not decided yet",
    "trusted": "Trusted",
    "verified": "Verified",
    "distrusted": "Not trusted",
}


def check_server(server: str) -> str | None:
    if not server:
        return None
    host, _, port = server.rpartition(":") if ":" in server else (server, "", "")
    if not host or " " in host:
        return "Write the server as host or host:port, for example xmpp.example.org:5222."
    if port and (not port.isdigit() or not 0 < int(port) < 65536):
        return f"“{port}” is not a port number. Use a number from 1 to 65535, such as 5222."
    return None


def device_title(device: DeviceView) -> str:
    return device.label or f"Device {device.device_id}"


def last_seen_text(when: float | None) -> str:
    if when is None:
        return "never seen"
    return "last seen " + dt.datetime.fromtimestamp(when).strftime("%d %b %Y, %H:%M").lstrip("0")


class AddAccountDialog(QDialog):
    """Log in to an existing account or create one; errors stay in the dialog."""

    account_added = Signal(str)

    def __init__(
        self, messenger: MessengerApi, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.messenger = messenger
        self.runner = runner
        self._task: object | None = None
        self.setWindowTitle("Add an account")
        self.setAccessibleName("Add an account")
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Sign in with your XMPP address and password. Your password is kept in the "
            "system keyring, never in a plain file."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.jid = QLineEdit()
        self.jid.setPlaceholderText("alice@example.org")
        self.jid.setAccessibleName("XMPP address")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("Password")
        self.server = QLineEdit()
        self.server.setPlaceholderText("optional, e.g. xmpp.example.org:5222")
        self.server.setAccessibleName("Server (optional, host:port)")
        self.server.setToolTip("Leave empty to find the server from the address (DNS).")
        self.register = QCheckBox("Create this account on the server")
        self.register.setAccessibleName("Create this account on the server")
        self.register.toggled.connect(self._on_register_toggled)
        form.addRow("&Address:", self.jid)
        form.addRow("&Password:", self.password)
        form.addRow("&Server:", self.server)
        form.addRow("", self.register)
        layout.addLayout(form)
        self.error = Banner(self)
        self.error.setObjectName("banner")
        layout.addWidget(self.error)
        self.busy = Busy(self)
        layout.addWidget(self.busy)
        self.buttons = QDialogButtonBox()
        self.ok = self.buttons.addButton("Log in", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setAccessibleName("Log in")
        self.ok.setDefault(True)
        self.cancel = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel.setAccessibleName("Cancel")
        self.ok.clicked.connect(self._on_ok_clicked)
        self.cancel.clicked.connect(self._on_cancel_clicked)
        layout.addWidget(self.buttons)

    def _on_register_toggled(self, checked: bool) -> None:
        self.ok.setText("Create account" if checked else "Log in")
        self.ok.setAccessibleName(self.ok.text())

    def _set_busy(self, busy: bool) -> None:
        for w in (self.jid, self.password, self.server, self.register, self.ok):
            w.setEnabled(not busy)

    def _on_ok_clicked(self) -> None:
        jid = self.jid.text().strip()
        server = self.server.text().strip()
        problem = check_jid(jid) or check_server(server)
        if problem is None and not self.password.text():
            problem = "Enter the password of this account."
        if problem is not None:
            self.error.show_text("danger", problem)
            return
        self.error.clear()
        self._set_busy(True)
        where = server or jid.split("@", 1)[1]
        verb = "Creating the account on" if self.register.isChecked() else "Connecting to"
        self.busy.start(f"{verb} {where}…")
        self._task = self.runner.run(
            self.messenger.add_account(
                jid,
                self.password.text(),
                server=server or None,
                register=self.register.isChecked(),
            ),
            on_result=lambda _: self._on_added(jid),
            on_error=self._on_failed,
        )

    def _on_added(self, jid: str) -> None:
        self.busy.stop()
        emit(self.account_added, jid)
        self.accept()

    def _on_failed(self, text: str, _error: BaseException) -> None:
        self.busy.stop()
        self._set_busy(False)
        self.error.show_text("danger", text)

    def _on_cancel_clicked(self) -> None:
        task = self._task
        if task is not None and hasattr(task, "cancel"):
            task.cancel()
        self.reject()


class AddContactDialog(QDialog):
    def __init__(
        self,
        messenger: MessengerApi,
        runner: TaskRunner,
        account: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.messenger, self.runner, self.account = messenger, runner, account
        self.setWindowTitle("Add a contact")
        self.setAccessibleName("Add a contact")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.jid = QLineEdit()
        self.jid.setPlaceholderText("bob@example.org")
        self.jid.setAccessibleName("Contact's address")
        self.name = QLineEdit()
        self.name.setPlaceholderText("optional")
        self.name.setAccessibleName("Name (optional)")
        form.addRow("&Address:", self.jid)
        form.addRow("&Name:", self.name)
        layout.addLayout(form)
        note = QLabel("They will be asked to share their online status with you.")
        note.setWordWrap(True)
        layout.addWidget(note)
        self.error = Banner(self)
        layout.addWidget(self.error)
        self.busy = Busy(self)
        layout.addWidget(self.busy)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Add")
        self.ok.setAccessibleName("Add contact")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        buttons.accepted.connect(self._on_add_clicked)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _on_add_clicked(self) -> None:
        jid = self.jid.text().strip()
        problem = check_jid(jid)
        if problem:
            self.error.show_text("danger", problem)
            return
        self.ok.setEnabled(False)
        self.busy.start(f"Adding {jid}…")
        self.runner.run(
            self.messenger.add_contact(self.account, jid, self.name.text().strip()),
            on_result=lambda _: self.accept(),
            on_error=self._on_failed,
        )

    def _on_failed(self, text: str, _error: BaseException) -> None:
        self.busy.stop()
        self.ok.setEnabled(True)
        self.error.show_text("danger", text)


class CompareDialog(QDialog):
    """Fingerprint comparison, out of band: read them out, then say whether they match."""

    def __init__(self, peer: str, device: DeviceView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare fingerprints")
        self.setAccessibleName("Compare fingerprints")
        self.result_trust: str | None = None
        layout = QVBoxLayout(self)
        text = QLabel(
            f"Ask {peer} to open <b>Menu → My devices</b> on {device_title(device)} and read "
            "out their fingerprint, in person or on a call you trust. Compare all eight "
            "groups; the colors help you spot a difference quickly."
        )
        text.setWordWrap(True)
        layout.addWidget(text)
        layout.addWidget(FingerprintView(device.fingerprint, self, point_size=14))
        buttons = QHBoxLayout()
        self.match = QPushButton("They match — mark verified")
        self.match.setAccessibleName("They match, mark this device verified")
        self.mismatch = QPushButton("They differ — don't trust")
        self.mismatch.setAccessibleName("They differ, do not trust this device")
        later = QPushButton("Not now")
        later.setAccessibleName("Not now")
        self.match.clicked.connect(lambda: self._decide("verified"))
        self.mismatch.clicked.connect(lambda: self._decide("distrusted"))
        later.clicked.connect(self.reject)
        for b in (self.match, self.mismatch, later):
            buttons.addWidget(b)
        layout.addLayout(buttons)

    def _decide(self, trust: str) -> None:
        self.result_trust = trust
        self.accept()


class DeviceDecisionRow(QFrame):
    decided = Signal(object, str)  # DeviceView, trust

    def __init__(self, peer: str, device: DeviceView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.peer = peer
        self.device = device
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        owner = f"{device.jid} · " if device.jid and device.jid != peer else ""  # room member
        title = QLabel(
            f"<b>{owner}{device_title(device)}</b> · "
            f"{NAMESPACE_NAMES.get(device.namespace, '')} · {last_seen_text(device.last_seen)}"
        )
        layout.addWidget(title)
        self.fingerprint = FingerprintView(device.fingerprint, self)
        layout.addWidget(self.fingerprint)
        row = QHBoxLayout()
        self.trust = QPushButton("Trust")
        self.trust.setAccessibleName(f"Trust {device_title(device)}")
        self.distrust = QPushButton("Don't trust")
        self.distrust.setAccessibleName(f"Don't trust {device_title(device)}")
        self.compare = QPushButton("Compare…")
        self.compare.setAccessibleName(f"Compare the fingerprint of {device_title(device)}")
        self.status = QLabel()
        self.trust.clicked.connect(lambda: emit(self.decided, self.device, "trusted"))
        self.distrust.clicked.connect(lambda: emit(self.decided, self.device, "distrusted"))
        self.compare.clicked.connect(self._on_compare_clicked)
        for b in (self.trust, self.distrust, self.compare):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(self.status)
        layout.addLayout(row)

    def _on_compare_clicked(self) -> None:
        dialog = CompareDialog(self.peer, self.device, self)
        if dialog.exec() and dialog.result_trust:
            emit(self.decided, self.device, dialog.result_trust)

    def set_done(self, trust: str) -> None:
        for b in (self.trust, self.distrust, self.compare):
            b.setEnabled(False)
        self.status.setText(TRUST_NAMES.get(trust, trust))

    def set_failed(self, text: str) -> None:
        self.status.setText(text)


class TrustDialog(QDialog):
    """Raised by TrustDecisionNeeded: the message waits until every new device is decided."""

    def __init__(
        self,
        messenger: MessengerApi,
        runner: TaskRunner,
        account: str,
        peer: str,
        devices: tuple[DeviceView, ...],
        key_changed: bool,
        parent: QWidget | None = None,
        *,
        room_name: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.messenger, self.runner = messenger, runner
        self.account, self.peer = account, peer
        self.key_changed = key_changed
        self.room_name = room_name
        where = f"members of {room_name}" if room_name else peer
        self.setWindowTitle(f"New devices of {where}")
        self.setAccessibleName(f"Trust decisions for {where}")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        self.banner = Banner(self)
        if room_name and key_changed:
            self.banner.show_text(
                "danger",
                f"⚠ The security key of a member of {room_name} has changed. This happens "
                "when they set up the app again, but it can also mean someone is intercepting "
                "the group's messages. Compare fingerprints with them before you trust the new "
                "key. Your message to the group waits until you decide.",
            )
        elif room_name:
            self.banner.show_text(
                "warning",
                f"Members of {room_name} have devices you have not decided about. A group "
                "message is encrypted only for devices you trust, so it waits until you "
                "decide. Compare fingerprints if you can; trust only devices you recognise.",
            )
        elif key_changed:
            self.banner.show_text(
                "danger",
                f"⚠ The security key of {peer} has changed. This happens when they set up "
                "the app again, but it can also mean someone is intercepting your messages. "
                "Compare fingerprints with them before you trust the new key. Your message "
                "waits until you decide.",
            )
        else:
            self.banner.show_text(
                "warning",
                f"{peer} has devices you have not decided about. Your message is encrypted "
                "only for devices you trust, so it waits until you decide. Compare "
                "fingerprints if you can; trust only devices you recognise.",
            )
        layout.addWidget(self.banner)
        area = QScrollArea(self)
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setAccessibleName("Devices")
        inner = QWidget()
        self._rows_layout = QVBoxLayout(inner)
        self._rows_layout.setContentsMargins(0, 0, 0, 0)
        self.rows: dict[int, DeviceDecisionRow] = {}
        self._rows_layout.addStretch(1)
        area.setWidget(inner)
        layout.addWidget(area, 1)
        self.add_devices(devices)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.later = QPushButton("Decide later")
        self.later.setAccessibleName("Decide later; the message keeps waiting")
        self.later.clicked.connect(self.reject)
        buttons.addWidget(self.later)
        layout.addLayout(buttons)
        self._pending: set[int] = {d.device_id for d in devices}

    def add_devices(self, devices: tuple[DeviceView, ...]) -> None:
        for device in devices:
            if device.device_id in self.rows:
                continue
            row = DeviceDecisionRow(self.peer, device, self)
            row.decided.connect(self._on_row_decided)
            self.rows[device.device_id] = row
            self._rows_layout.insertWidget(self._rows_layout.count() - 1, row)
            if hasattr(self, "_pending"):
                self._pending.add(device.device_id)

    def _on_row_decided(self, device: DeviceView, trust: str) -> None:
        row = self.rows[device.device_id]
        row.set_done(trust)

        def done(_: None) -> None:
            self._pending.discard(device.device_id)
            if not self._pending:
                self.accept()

        def failed(text: str, _e: BaseException) -> None:
            row.set_failed(text)
            for b in (row.trust, row.distrust, row.compare):
                b.setEnabled(True)

        self.runner.run(
            self.messenger.set_trust(
                self.account, device.jid or self.peer, device.device_id, trust
            ),
            on_result=done,
            on_error=failed,
        )


class SubscriptionDialog(QDialog):
    # Carries "allow" / "deny": PySide6 6.12 leaks a reference to True/False on every emit
    # of a Python-defined signal with a bool argument (it crashes the interpreter at exit).
    answered = Signal(str, str)

    def __init__(self, account: str, jid: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jid = jid
        self.setWindowTitle("Contact request")
        self.setAccessibleName(f"Contact request from {jid}")
        layout = QVBoxLayout(self)
        text = QLabel(
            f"<b>{jid}</b> wants to add you ({account}) as a contact and see when you are "
            "online. Allow this only if you know them."
        )
        text.setWordWrap(True)
        layout.addWidget(text)
        buttons = QDialogButtonBox()
        self.allow = buttons.addButton("Allow", QDialogButtonBox.ButtonRole.AcceptRole)
        self.allow.setAccessibleName(f"Allow {jid}")
        self.deny = buttons.addButton("Deny", QDialogButtonBox.ButtonRole.RejectRole)
        self.deny.setAccessibleName(f"Deny {jid}")
        self.allow.clicked.connect(lambda: self._answer(True))
        self.deny.clicked.connect(lambda: self._answer(False))
        layout.addWidget(buttons)

    def _answer(self, approve: bool) -> None:
        emit(self.answered, self.jid, "allow" if approve else "deny")
        self.accept() if approve else self.reject()


class VerificationUriDialog(QDialog):
    """Paste (or open) an xmpp: verification URI; matches become verified, mismatches warn."""

    def __init__(
        self,
        messenger: MessengerApi,
        runner: TaskRunner,
        account: str,
        uri: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.messenger, self.runner, self.account = messenger, runner, account
        self.setWindowTitle("Verify with a link")
        self.setAccessibleName("Verify with a verification link")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Paste the verification link your contact showed or sent you over a channel you "
            "trust (it starts with xmpp: and contains their fingerprints)."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.uri = QLineEdit()
        self.uri.setPlaceholderText("xmpp:bob@example.org?omemo2-sid-1234=…")
        self.uri.setAccessibleName("Verification link")
        if not uri:
            clip = QGuiApplication.clipboard().text().strip()
            uri = clip if clip.startswith("xmpp:") else ""
        self.uri.setText(uri)
        layout.addWidget(self.uri)
        self.outcome = Banner(self)
        layout.addWidget(self.outcome)
        self.busy = Busy(self)
        layout.addWidget(self.busy)
        buttons = QDialogButtonBox()
        self.apply = buttons.addButton("Verify", QDialogButtonBox.ButtonRole.ActionRole)
        self.apply.setAccessibleName("Verify")
        self.apply.setDefault(True)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.setAccessibleName("Close")
        self.apply.clicked.connect(self._on_apply_clicked)
        close.clicked.connect(self.accept)
        layout.addWidget(buttons)

    def _on_apply_clicked(self) -> None:
        uri = self.uri.text().strip()
        if not uri.startswith("xmpp:") or "?" not in uri:
            self.outcome.show_text(
                "danger",
                "This is not a verification link. It starts with xmpp: and contains "
                "fingerprints after a question mark; ask your contact for it again.",
            )
            return
        self.outcome.clear()
        self.apply.setEnabled(False)
        self.busy.start("Checking the fingerprints…")
        self.runner.run(
            self.messenger.apply_verification_uri(self.account, uri),
            on_result=self._on_applied,
            on_error=self._on_failed,
        )

    def _on_applied(self, devices: list[DeviceView]) -> None:
        self.busy.stop()
        self.apply.setEnabled(True)
        verified = [d for d in devices if d.trust == "verified"]
        other = [d for d in devices if d.trust != "verified"]
        if verified and not other:
            names = ", ".join(f"{device_title(d)} of {d.jid}" for d in verified)
            self.outcome.show_text("info", f"✔ Verified: {names}. The fingerprints match.")
        else:
            self.outcome.show_text("danger", mismatch_text(other))

    def _on_failed(self, text: str, _error: BaseException) -> None:
        self.busy.stop()
        self.apply.setEnabled(True)
        self.outcome.show_text("danger", f"⚠ {text}")


def mismatch_text(devices: list[DeviceView]) -> str:
    who = devices[0].jid if devices else "this contact"
    return (
        f"⚠ The fingerprints in this link do NOT match the keys {who} uses here. Someone may "
        "be intercepting your messages, or the link is old. Nothing was marked verified. "
        f"Do not trust these keys until you have checked with {who} in person."
    )


class SearchDialog(QDialog):
    result_chosen = Signal(object)  # MessageView

    def __init__(
        self,
        messenger: MessengerApi,
        runner: TaskRunner,
        account: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.messenger, self.runner, self.account = messenger, runner, account
        self.setWindowTitle("Search messages")
        self.setAccessibleName("Search messages")
        self.resize(520, 420)
        layout = QVBoxLayout(self)
        self.query = QLineEdit()
        self.query.setPlaceholderText("Search all conversations of this account")
        self.query.setAccessibleName("Search text")
        self.query.setClearButtonEnabled(True)
        self.query.returnPressed.connect(self._on_query_return_pressed)
        layout.addWidget(self.query)
        self.status = QLabel("Type words and press Enter.")
        layout.addWidget(self.status)
        self.results = QListWidget()
        self.results.setAccessibleName("Search results")
        self.results.setWordWrap(True)
        self.results.itemActivated.connect(self._on_results_item_activated)
        layout.addWidget(self.results, 1)

    def _on_query_return_pressed(self) -> None:
        text = self.query.text().strip()
        if not text:
            return
        self.status.setText("Searching…")
        self.runner.run(
            self.messenger.search(self.account, text),
            on_result=self._on_found,
            on_error=lambda t, _e: self.status.setText(t),
        )

    def _on_found(self, messages: list[MessageView]) -> None:
        self.results.clear()
        self.status.setText(
            f"{len(messages)} message{'s' if len(messages) != 1 else ''} found."
            if messages
            else "Nothing found. Try fewer or different words."
        )
        for message in messages:
            when = dt.datetime.fromtimestamp(message.timestamp).strftime("%d %b %Y %H:%M")
            who = "You" if message.direction == "out" else message.peer
            item = QListWidgetItem(f"{message.peer} · {when}\n{who}: {message.body}")
            item.setData(Qt.ItemDataRole.UserRole, message)
            self.results.addItem(item)

    def _on_results_item_activated(self, item: QListWidgetItem) -> None:
        emit(self.result_chosen, item.data(Qt.ItemDataRole.UserRole))
        self.accept()


class MessageInfoDialog(QDialog):
    def __init__(self, message: MessageView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Message info")
        self.setAccessibleName("Message info")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        when = dt.datetime.fromtimestamp(message.timestamp).strftime("%c")
        enc = {"omemo2": "OMEMO 2", "legacy": "OMEMO (legacy)", "none": "Not encrypted"}
        rows = [
            ("Sent" if message.direction == "out" else "Received", when),
            ("Encryption", enc.get(message.encryption, message.encryption)),
            ("Status", message.state),
        ]
        if message.direction == "in" and message.sender and "/" in message.sender:
            rows.append(("From", message.sender))  # in a room: room@service/nick
        if message.sender_device is not None:
            rows.append(("Sender device", str(message.sender_device)))
        if message.direction == "out":
            devices = ", ".join(str(d) for d in message.encrypted_for) or "none"
            rows.append(("Encrypted for devices", devices))
        if message.error:
            rows.append(("Problem", message.error))
        for key, value in rows:
            label = QLabel(value)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(f"{key}:", label)
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setAccessibleName("Close")
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


class OptOutDialog(QDialog):
    """Stop encrypting for a contact (the OMEMO opt-out): say plainly what that changes.

    `requested` is for when the contact asked for it (XEP-0384 §10): until the person
    answers, nothing goes out unencrypted.
    """

    def __init__(
        self,
        peer: str,
        *,
        reason: str | None = None,
        requested: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.peer = peer
        self.setWindowTitle("Stop encrypting?")
        self.setAccessibleName(f"Stop encrypting messages to {peer}?")
        self.setMinimumWidth(480)
        layout = QVBoxLayout(self)
        if requested:
            asked = f"{peer} asks to continue without end-to-end encryption"
            asked += f": “{reason}”." if reason else "."
            head = asked + " Nothing is sent to them until you answer."
        else:
            head = f"Messages to {peer} will no longer be end-to-end encrypted."
        self.banner = Banner(self)
        self.banner.show_text(
            "warning",
            f"{head} Unencrypted messages can be read by your server, by theirs and by "
            "anyone who controls them. Your secure sessions are kept, so you can turn "
            "encryption back on at any time.",
        )
        layout.addWidget(self.banner)
        buttons = QDialogButtonBox()
        self.keep = buttons.addButton("Keep encrypting", QDialogButtonBox.ButtonRole.RejectRole)
        self.keep.setAccessibleName("Keep encrypting")
        self.keep.setDefault(True)
        self.stop = buttons.addButton("Send unencrypted", QDialogButtonBox.ButtonRole.AcceptRole)
        self.stop.setAccessibleName(f"Send unencrypted messages to {peer}")
        self.keep.clicked.connect(self.reject)
        self.stop.clicked.connect(self.accept)
        layout.addWidget(buttons)


TRUST_POLICIES = [
    ("manual", "Ask me about every new device (safest)"),
    ("tofu", "Trust a contact's first devices, ask about later ones"),
    ("blind", "Trust every device without asking (convenient, less safe)"),
]


class SettingsDialog(QDialog):
    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("Settings")
        self.setAccessibleName("Settings")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.trust_policy = QComboBox()
        self.trust_policy.setAccessibleName("Trust policy for new devices")
        for key, text in TRUST_POLICIES:
            self.trust_policy.addItem(text, key)
        policy = str(settings.value("trust_policy", "manual"))
        self.trust_policy.setCurrentIndex(max(0, [k for k, _ in TRUST_POLICIES].index(policy)))
        self.encryption = QComboBox()
        self.encryption.setAccessibleName("Default encryption for new contacts")
        self.encryption.addItem("Encrypted with OMEMO (recommended)", "omemo")
        self.encryption.addItem("Not encrypted", "plain")
        self.encryption.setCurrentIndex(
            0 if settings.value("default_encryption", "omemo") == "omemo" else 1
        )
        self.notifications = QCheckBox("Show a desktop notification for new messages")
        self.notifications.setAccessibleName("Desktop notifications")
        self.notifications.setChecked(setting_bool(settings.value("notifications", True)))
        self.previews = QCheckBox("Include the message text in notifications")
        self.previews.setAccessibleName("Message text in notifications")
        self.previews.setChecked(setting_bool(settings.value("notification_previews", False)))
        form.addRow("New devices:", self.trust_policy)
        form.addRow("Encryption:", self.encryption)
        form.addRow("", self.notifications)
        form.addRow("", self.previews)
        layout.addLayout(form)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Save).setAccessibleName("Save settings")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        buttons.accepted.connect(self._on_save_clicked)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _on_save_clicked(self) -> None:
        self.settings.setValue("trust_policy", self.trust_policy.currentData())
        self.settings.setValue("default_encryption", self.encryption.currentData())
        self.settings.setValue("notifications", self.notifications.isChecked())
        self.settings.setValue("notification_previews", self.previews.isChecked())
        self.settings.sync()
        self.accept()


def bold(font: QFont) -> QFont:
    font.setBold(True)
    return font
