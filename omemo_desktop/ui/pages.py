"""The contact page (every device of a contact) and the own-devices page (our fingerprint,
its QR code, the verification link)."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from omemo_desktop.service.api import ContactView, DeviceView, MessengerApi

from . import icons
from .dialogs import (
    NAMESPACE_NAMES,
    TRUST_NAMES,
    CompareDialog,
    device_title,
    last_seen_text,
)
from .fingerprint import FingerprintView, groups, qr_pixmap
from .qt_compat import emit
from .tasks import TaskRunner
from .widgets import Banner, Busy


class DeviceCard(QFrame):
    """One device: fingerprint, label, namespace, last seen, active or stale, trust, reset."""

    trust_requested = Signal(object, str)
    reset_requested = Signal(object)
    remove_requested = Signal(object)

    def __init__(
        self,
        device: DeviceView,
        parent: QWidget | None = None,
        *,
        this_device: bool = False,
        can_remove: bool = False,
    ) -> None:
        super().__init__(parent)
        self.device = device
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName(f"{device_title(device)}, {TRUST_NAMES.get(device.trust, '')}")
        layout = QVBoxLayout(self)
        head = QHBoxLayout()
        title = device_title(device) + (" (this device)" if this_device else "")
        name = QLabel(f"<b>{title}</b>")
        head.addWidget(name)
        head.addStretch(1)
        state = "active" if device.active else "stale (not in their device list any more)"
        details = QLabel(
            f"{NAMESPACE_NAMES.get(device.namespace, device.namespace)} · id {device.device_id}"
            f" · {state} · {last_seen_text(device.last_seen)}"
        )
        details.setForegroundRole(details.foregroundRole())
        layout.addLayout(head)
        layout.addWidget(details)
        layout.addWidget(FingerprintView(device.fingerprint, self))
        row = QHBoxLayout()
        self.lock = QLabel()
        lock_trust = {"verified": "verified", "trusted": "trusted"}.get(device.trust, "untrusted")
        self.lock.setPixmap(icons.lock_pixmap(lock_trust, 16))
        self.lock.setAccessibleName(TRUST_NAMES.get(device.trust, device.trust))
        row.addWidget(self.lock)
        self.trust_label = QLabel(TRUST_NAMES.get(device.trust, device.trust))
        row.addWidget(self.trust_label)
        row.addStretch(1)
        self.trust_switch: QCheckBox | None = None
        self.compare: QPushButton | None = None
        self.reset: QPushButton | None = None
        self.remove: QPushButton | None = None
        if not this_device:
            self.trust_switch = QCheckBox("Trusted")
            self.trust_switch.setAccessibleName(f"Trust {device_title(device)}")
            self.trust_switch.setChecked(device.trust in ("trusted", "verified"))
            self.trust_switch.toggled.connect(self._on_trust_switch_toggled)
            row.addWidget(self.trust_switch)
            self.compare = QPushButton("Compare…")
            self.compare.setAccessibleName(f"Compare the fingerprint of {device_title(device)}")
            self.compare.clicked.connect(self._on_compare_clicked)
            row.addWidget(self.compare)
            if not device.own:
                self.reset = QPushButton("Reset session")
                self.reset.setAccessibleName(
                    f"Reset the secure session with {device_title(device)}"
                )
                self.reset.setToolTip(
                    "Starts a fresh secure session; use it when messages from this device "
                    "cannot be decrypted."
                )
                self.reset.clicked.connect(lambda: emit(self.reset_requested, self.device))
                row.addWidget(self.reset)
            if can_remove:
                self.remove = QPushButton("Remove")
                self.remove.setAccessibleName(f"Remove {device_title(device)} from my devices")
                self.remove.clicked.connect(lambda: emit(self.remove_requested, self.device))
                row.addWidget(self.remove)
        layout.addLayout(row)

    def _on_trust_switch_toggled(self, checked: bool) -> None:
        emit(self.trust_requested, self.device, "trusted" if checked else "distrusted")

    def _on_compare_clicked(self) -> None:
        dialog = CompareDialog(self.device.jid, self.device, self)
        if dialog.exec() and dialog.result_trust:
            emit(self.trust_requested, self.device, dialog.result_trust)

    def mark_dead(self) -> None:
        """Point out a device that looks abandoned; removing it is one click away."""
        hint = QLabel(
            "This device has not been heard from for a long time. If you no longer use it, "
            "remove it so nobody encrypts for it any more."
        )
        hint.setWordWrap(True)
        hint.setStyleSheet(f"color: {icons.AMBER.name()};")
        layout = self.layout()
        if isinstance(layout, QVBoxLayout):
            layout.insertWidget(layout.count() - 1, hint)

    def set_trust(self, trust: str) -> None:
        self.trust_label.setText(TRUST_NAMES.get(trust, trust))
        lock_trust = {"verified": "verified", "trusted": "trusted"}.get(trust, "untrusted")
        self.lock.setPixmap(icons.lock_pixmap(lock_trust, 16))
        if self.trust_switch is not None:
            self.trust_switch.blockSignals(True)
            self.trust_switch.setChecked(trust in ("trusted", "verified"))
            self.trust_switch.blockSignals(False)


class _DevicePage(QDialog):
    def __init__(
        self, messenger: MessengerApi, runner: TaskRunner, account: str, parent: QWidget | None
    ) -> None:
        super().__init__(parent)
        self.messenger, self.runner, self.account = messenger, runner, account
        self.cards: dict[int, DeviceCard] = {}
        self.confirm: QMessageBox | None = None
        self._layout = QVBoxLayout(self)
        self.banner = Banner(self)
        self.busy = Busy(self)

    def _device_area(self) -> QVBoxLayout:
        area = QScrollArea(self)
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setAccessibleName("Devices")
        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addStretch(1)
        area.setWidget(inner)
        self._layout.addWidget(area, 1)
        return layout

    def _close_buttons(self) -> None:
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setAccessibleName("Close")
        buttons.rejected.connect(self.reject)
        self._layout.addWidget(buttons)

    def _on_card_trust_requested(self, device: DeviceView, trust: str) -> None:
        card = self.cards.get(device.device_id)
        self.runner.run(
            self.messenger.set_trust(self.account, device.jid, device.device_id, trust),
            on_result=lambda _: card.set_trust(trust) if card else None,
            on_error=self._on_failed,
        )

    def _on_card_reset_requested(self, device: DeviceView) -> None:
        self.busy.start(f"Starting a fresh session with {device_title(device)}…")
        self.runner.run(
            self.messenger.reset_session(self.account, device.jid, device.device_id),
            on_result=lambda _: self._done(f"A fresh session with {device_title(device)} started."),
            on_error=self._on_failed,
        )

    def _done(self, text: str) -> None:
        self.busy.stop()
        self.banner.show_text("info", text)

    def _on_failed(self, text: str, _error: BaseException) -> None:
        self.busy.stop()
        self.banner.show_text("danger", text)


class ContactPage(_DevicePage):
    """Every device of a contact, with trust switches and session resets."""

    encryption_toggled = Signal(str, str)  # jid, "omemo" | "plain" (no bool: see dialogs.py)

    def __init__(
        self,
        messenger: MessengerApi,
        runner: TaskRunner,
        account: str,
        contact: ContactView,
        encrypt: bool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(messenger, runner, account, parent)
        self.contact = contact
        self.setWindowTitle(f"{contact.name or contact.jid} — contact details")
        self.setAccessibleName(f"Contact details of {contact.jid}")
        self.resize(620, 560)
        head = QHBoxLayout()
        avatar = QLabel()
        avatar.setPixmap(icons.avatar_pixmap(contact.jid, contact.name, 56))
        head.addWidget(avatar)
        names = QLabel(
            f"<span style='font-size:large'><b>{contact.name or contact.jid}</b></span><br>"
            f"{contact.jid}<br>{subscription_text(contact.subscription)}"
        )
        names.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        head.addWidget(names, 1)
        self._layout.addLayout(head)
        self.encrypt = QCheckBox("Encrypt messages to this contact with OMEMO")
        self.encrypt.setAccessibleName("Encrypt messages to this contact")
        self.encrypt.setChecked(encrypt)
        self.encrypt.toggled.connect(
            lambda on: emit(self.encryption_toggled, contact.jid, "omemo" if on else "plain")
        )
        self._layout.addWidget(self.encrypt)
        self.version = QLabel("Which OMEMO version they use shows once their devices are known.")
        self.version.setObjectName("omemoVersion")
        self.version.setWordWrap(True)
        self._layout.addWidget(self.version)
        self._layout.addWidget(QLabel("<b>Devices</b>"))
        self._layout.addWidget(self.banner)
        self._layout.addWidget(self.busy)
        self._devices = self._device_area()
        self._close_buttons()
        self.busy.start("Fetching their devices…")
        self.runner.run(
            messenger.devices(account, contact.jid),
            on_result=self._on_devices,
            on_error=self._on_failed,
        )

    def set_encrypt(self, on: bool) -> None:
        """Put the switch back without asking again (the person kept encryption on)."""
        self.encrypt.blockSignals(True)
        self.encrypt.setChecked(on)
        self.encrypt.blockSignals(False)

    def _on_devices(self, devices: list[DeviceView]) -> None:
        self.busy.stop()
        self.version.setText(version_text(devices))
        if not devices:
            self.banner.show_text(
                "warning",
                f"{self.contact.jid} has no OMEMO devices we can see. If they use OMEMO, "
                "make sure you share presence with each other, then open this page again.",
            )
        for device in sorted(devices, key=lambda d: (not d.active, d.device_id)):
            card = DeviceCard(device, self)
            card.trust_requested.connect(self._on_card_trust_requested)
            card.reset_requested.connect(self._on_card_reset_requested)
            self.cards[device.device_id] = card
            self._devices.insertWidget(self._devices.count() - 1, card)


class OwnDevicesPage(_DevicePage):
    """Our fingerprint, a QR code of the verification link, a copy button, our devices."""

    def __init__(
        self,
        messenger: MessengerApi,
        runner: TaskRunner,
        account: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(messenger, runner, account, parent)
        self.uri = ""
        self.fingerprint = ""
        self.setWindowTitle(f"My devices — {account}")
        self.setAccessibleName("My devices and fingerprint")
        self.resize(640, 720)
        top = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(QLabel("<b>This device's fingerprint</b>"))
        hint = QLabel(
            "Let a contact scan the code, or read these eight groups out to them, so they "
            "can verify you."
        )
        hint.setWordWrap(True)
        left.addWidget(hint)
        self._fp_holder = QVBoxLayout()
        left.addLayout(self._fp_holder)
        self.uri_label = QLabel()
        self.uri_label.setWordWrap(True)
        self.uri_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.uri_label.setAccessibleName("Verification link")
        left.addWidget(self.uri_label)
        row = QHBoxLayout()
        self.copy = QPushButton("Copy verification link")
        self.copy.setAccessibleName("Copy verification link")
        self.copy.setEnabled(False)
        self.copy.clicked.connect(self._on_copy_clicked)
        row.addWidget(self.copy)
        row.addStretch(1)
        left.addLayout(row)
        left.addStretch(1)
        top.addLayout(left, 1)
        self.qr = QLabel()
        self.qr.setAccessibleName("QR code of the verification link")
        self.qr.setFixedSize(220, 220)
        self.qr.setScaledContents(True)
        top.addWidget(self.qr, 0, Qt.AlignmentFlag.AlignTop)
        self._layout.addLayout(top)
        self._layout.addWidget(self.banner)
        self._layout.addWidget(self.busy)
        self._layout.addWidget(QLabel("<b>My other devices</b>"))
        self._devices = self._device_area()
        self._close_buttons()
        self.busy.start("Loading your keys…")
        self.runner.run(
            messenger.own_fingerprint(account), on_result=self._on_own, on_error=self._on_failed
        )

    def _on_own(self, result: tuple[str, str]) -> None:
        self.fingerprint, self.uri = result
        self.fingerprint_view = FingerprintView(self.fingerprint, self, point_size=13)
        self._fp_holder.addWidget(self.fingerprint_view)
        self.uri_label.setText(f"<small>{self.uri}</small>")
        self.qr.setPixmap(qr_pixmap(self.uri))
        self.copy.setEnabled(True)
        self.runner.run(
            self.messenger.devices(self.account, self.account),
            on_result=self._on_devices,
            on_error=self._on_failed,
        )

    def _on_devices(self, devices: list[DeviceView]) -> None:
        self.busy.stop()
        mine = "".join(groups(self.fingerprint))
        can_remove = callable(getattr(self.messenger, "remove_device", None))
        for device in sorted(devices, key=lambda d: (not d.active, d.device_id)):
            this = "".join(groups(device.fingerprint)) == mine
            if this:
                continue
            card = DeviceCard(device, self, can_remove=can_remove)
            if is_dead(device):
                card.mark_dead()
            card.trust_requested.connect(self._on_card_trust_requested)
            card.reset_requested.connect(self._on_card_reset_requested)
            card.remove_requested.connect(self._on_card_remove_requested)
            self.cards[device.device_id] = card
            self._devices.insertWidget(self._devices.count() - 1, card)
        if not self.cards:
            empty = QLabel("No other devices use this account with OMEMO.")
            empty.setWordWrap(True)
            self._devices.insertWidget(0, empty)

    def _on_copy_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.uri)
        self.banner.show_text(
            "info", "Copied. Send it to your contact over a channel you already trust."
        )

    def _on_card_remove_requested(self, device: DeviceView) -> None:
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Remove this device?")
        box.setText(
            f"Remove {device_title(device)} from your devices? Your contacts stop encrypting "
            "for it from their next message. Do this for a device you lost or no longer use; "
            "if it is still in use, it adds itself back the next time it goes online."
        )
        yes = box.addButton("Remove", QMessageBox.ButtonRole.AcceptRole)
        yes.setAccessibleName(f"Remove {device_title(device)}")
        no = box.addButton(QMessageBox.StandardButton.Cancel)
        no.setAccessibleName("Cancel")
        box.setDefaultButton(no)
        yes.clicked.connect(lambda: self._remove(device))
        self.confirm = box
        box.open()

    def _remove(self, device: DeviceView) -> None:
        card = self.cards.get(device.device_id)
        if card is not None and card.remove is not None:
            card.remove.setEnabled(False)
        self.busy.start(f"Removing {device_title(device)}…")

        def removed(_: None) -> None:
            self.cards.pop(device.device_id, None)
            if card is not None:
                card.deleteLater()
            self._done(f"{device_title(device)} was removed from your devices.")

        def failed(text: str, error: BaseException) -> None:
            if card is not None and card.remove is not None:
                card.remove.setEnabled(True)
            self._on_failed(text, error)

        self.runner.run(
            self.messenger.remove_device(self.account, device.device_id),
            on_result=removed,
            on_error=failed,
        )


DEAD_AFTER = 30 * 86_400  # a device silent this long is probably lost or reinstalled


def is_dead(device: DeviceView, now: float | None = None) -> bool:
    """Stale (gone from the list) or not heard from for a month."""
    if not device.active:
        return True
    if device.last_seen is None:
        return False  # never messaged us: no evidence either way
    return (now if now is not None else time.time()) - device.last_seen > DEAD_AFTER


def version_text(devices: list[DeviceView]) -> str:
    spaces = {d.namespace for d in devices}
    if spaces & {"omemo2", "both"}:
        mixed = " (some devices only have legacy OMEMO)" if "legacy" in spaces else ""
        version = "OMEMO 2" + mixed
    elif spaces:
        version = "OMEMO (legacy), the version their app supports"
    else:
        return "No OMEMO devices of theirs are known, so encryption cannot be used yet."
    return f"In use: {version}."


def subscription_text(subscription: str) -> str:
    return {
        "both": "You see each other's online status.",
        "to": "You see their online status; they don't see yours.",
        "from": "They see your online status; you don't see theirs.",
        "none": "You don't share online status yet.",
    }.get(subscription, "")
