"""The main window: accounts, conversations and contacts on the left, the chat on the right."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from PySide6.QtCore import QSettings, QSize, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QSystemTrayIcon,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from omemo_desktop.service.api import (
    ChatStateChanged,
    ConnectionStateChanged,
    ContactView,
    DecryptionFailed,
    ErrorOccurred,
    MessageCorrected,
    MessageReceived,
    MessageStateChanged,
    MessageStored,
    MessageView,
    MessengerApi,
    PresenceChanged,
    RosterChanged,
    SubscriptionRequested,
    TrustChanged,
    TrustDecisionNeeded,
    TrustRequired,
)

from . import icons
from .bridge import EventBridge
from .chat_view import ENCRYPTION_NAMES, ChatView
from .composer import Composer
from .dialogs import (
    AddAccountDialog,
    AddContactDialog,
    MessageInfoDialog,
    SearchDialog,
    SettingsDialog,
    SubscriptionDialog,
    TrustDialog,
    VerificationUriDialog,
    _bool,
)
from .pages import ContactPage, OwnDevicesPage
from .qt_compat import emit
from .tasks import TaskRunner
from .widgets import Banner

log = logging.getLogger(__name__)

CONNECTION_TEXT = {
    "connecting": "Connecting…",
    "connected": "Online",
    "disconnected": "Offline",
    "failed": "Could not connect",
}
SHOW_TEXT = {"away": "Away", "xa": "Away for a while", "dnd": "Busy", "chat": "Free to chat"}
Key = tuple[str, str]


def presence_text(contact: ContactView) -> str:
    if not contact.available:
        return "Offline"
    text = SHOW_TEXT.get(contact.show, "Online")
    return f"{text} — {contact.status}" if contact.status else text


def display_name(contact: ContactView | None, jid: str) -> str:
    return contact.name if contact is not None and contact.name else jid


class MainWindow(QMainWindow):
    """Shown before the service exists (it paints first); `attach()` connects the service."""

    conversation_opened = Signal(str, str)
    quit_requested = Signal()

    def __init__(self, runner: TaskRunner, settings: QSettings) -> None:
        super().__init__()
        self.runner = runner
        self.settings = settings
        self.messenger: MessengerApi | None = None
        self.bridge: EventBridge | None = None
        self.account: str | None = None
        self.peer: str | None = None
        self.contacts: dict[str, dict[str, ContactView]] = {}
        self.unread: dict[Key, int] = {}
        self.activity: dict[Key, float] = {}
        self.preview: dict[Key, str] = {}
        self.encrypt: dict[Key, bool] = {}
        self.encryption_in_use: dict[Key, str] = {}
        self.connection: dict[str, str] = {}
        self.pending_notices: dict[Key, list[tuple[int, str, float]]] = {}
        self.trust_dialogs: dict[Key, TrustDialog] = {}
        self.subscription_dialogs: dict[Key, SubscriptionDialog] = {}
        self.tray: QSystemTrayIcon | None = None
        runner.on_unhandled_error = self.show_error
        self.setWindowTitle("omemo-desktop")
        self.setWindowIcon(icons.app_icon())
        self.setAccessibleName("omemo-desktop")
        self.resize(980, 660)
        self._build_actions()
        self._build_ui()
        self._setup_tray()
        self._set_ready(False)
        self.statusBar().showMessage("Starting…")

    # ----------------------------------------------------------------- building

    def _action(self, text: str, shortcut: QKeySequence | str | None, slot: object) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.add_account_action = self._action(
            "&Add account…", "Ctrl+Shift+N", self.open_add_account
        )
        self.settings_action = self._action("&Settings…", "Ctrl+,", self.open_settings)
        self.quit_action = self._action("&Quit", "Ctrl+Q", self._quit)
        self.quit_action.setShortcut("Ctrl+Q")
        self.add_contact_action = self._action("Add &contact…", "Ctrl+N", self.open_add_contact)
        self.search_action = self._action("&Search messages…", "Ctrl+F", self.open_search)
        self.contact_info_action = self._action(
            "Contact &details…", "Ctrl+I", self.open_contact_page
        )
        self.own_devices_action = self._action(
            "&My devices and fingerprint…", "Ctrl+Shift+D", self.open_own_devices
        )
        self.verify_uri_action = self._action(
            "&Verify with a link…", "Ctrl+Shift+V", lambda: self.open_verification_uri("")
        )
        self.focus_composer_action = self._action(
            "Write a message", "Ctrl+L", lambda: self.composer.setFocus()
        )
        self.next_tab_action = self._action("Chats / contacts", "Ctrl+T", self._toggle_tab)
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addActions([self.add_account_action, self.settings_action])
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        contacts = menu.addMenu("&Contacts")
        contacts.addActions([self.add_contact_action, self.contact_info_action, self.search_action])
        security = menu.addMenu("&Security")
        security.addActions([self.own_devices_action, self.verify_uri_action])

    def _build_ui(self) -> None:
        splitter = QSplitter(self)
        splitter.setChildrenCollapsible(False)
        self.setCentralWidget(splitter)

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(8, 8, 4, 8)
        row = QHBoxLayout()
        self.account_box = QComboBox()
        self.account_box.setAccessibleName("Account")
        self.account_box.setToolTip("The account you are using")
        self.account_box.currentIndexChanged.connect(self._on_account_box_index_changed)
        row.addWidget(self.account_box, 1)
        self.add_account_button = QToolButton()
        self.add_account_button.setText("+")
        self.add_account_button.setAccessibleName("Add account")
        self.add_account_button.setToolTip("Add an account (Ctrl+Shift+N)")
        self.add_account_button.clicked.connect(self.open_add_account)
        row.addWidget(self.add_account_button)
        side_layout.addLayout(row)
        self.connection_label = QLabel("Offline")
        self.connection_label.setAccessibleName("Connection state")
        side_layout.addWidget(self.connection_label)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter contacts")
        self.filter.setAccessibleName("Filter contacts")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(lambda _t: self._refresh_lists())
        side_layout.addWidget(self.filter)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Chats and contacts")
        self.chat_list = self._make_list("Conversations")
        self.contact_list = self._make_list("Contacts")
        self.tabs.addTab(self.chat_list, "Chats")
        self.tabs.addTab(self.contact_list, "Contacts")
        side_layout.addWidget(self.tabs, 1)
        self.add_contact_button = QPushButton("Add contact…")
        self.add_contact_button.setAccessibleName("Add contact")
        self.add_contact_button.setToolTip("Ctrl+N")
        self.add_contact_button.clicked.connect(self.open_add_contact)
        side_layout.addWidget(self.add_contact_button)
        side.setMinimumWidth(240)
        splitter.addWidget(side)

        self.stack = QStackedWidget()
        self.welcome = self._build_welcome()
        self.stack.addWidget(self.welcome)
        self.chat_page = self._build_chat_page()
        self.stack.addWidget(self.chat_page)
        splitter.addWidget(self.stack)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([290, 690])

    def _make_list(self, name: str) -> QListWidget:
        widget = QListWidget()
        widget.setAccessibleName(name)
        widget.setIconSize(QSize(36, 36))
        widget.setSpacing(2)
        widget.setUniformItemSizes(True)
        widget.itemActivated.connect(self._on_list_item_activated)
        widget.itemClicked.connect(self._on_list_item_activated)
        return widget

    def _build_welcome(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        self.welcome_label = QLabel("Starting…")
        self.welcome_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.welcome_label.setWordWrap(True)
        layout.addWidget(self.welcome_label)
        self.welcome_button = QPushButton("Add an account…")
        self.welcome_button.setAccessibleName("Add an account")
        self.welcome_button.clicked.connect(self.open_add_account)
        self.welcome_button.hide()
        layout.addWidget(self.welcome_button, 0, Qt.AlignmentFlag.AlignCenter)
        layout.addStretch(2)
        return page

    def _build_chat_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(4, 8, 8, 8)
        head = QHBoxLayout()
        self.peer_avatar = QLabel()
        self.peer_avatar.setAccessibleName("Contact picture")
        head.addWidget(self.peer_avatar)
        names = QVBoxLayout()
        names.setSpacing(0)
        self.peer_name = QLabel()
        self.peer_name.setObjectName("peerName")
        font = self.peer_name.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.peer_name.setFont(font)
        self.peer_status = QLabel()
        self.peer_status.setObjectName("peerStatus")
        self.peer_status.setAccessibleName("Contact status")
        names.addWidget(self.peer_name)
        names.addWidget(self.peer_status)
        head.addLayout(names, 1)
        self.encryption_button = QToolButton()
        self.encryption_button.setCheckable(True)
        self.encryption_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.encryption_button.setAccessibleName("Encryption for this contact")
        self.encryption_button.toggled.connect(self._on_encryption_button_toggled)
        head.addWidget(self.encryption_button)
        self.details_button = QToolButton()
        self.details_button.setText("Details")
        self.details_button.setAccessibleName("Contact details and devices")
        self.details_button.setToolTip("Devices, fingerprints and trust (Ctrl+I)")
        self.details_button.clicked.connect(self.open_contact_page)
        head.addWidget(self.details_button)
        layout.addLayout(head)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(line)
        self.chat = ChatView()
        self.chat.retry_requested.connect(self._on_chat_retry_requested)
        self.chat.repair_requested.connect(self._on_chat_repair_requested)
        self.chat.info_requested.connect(self._on_chat_info_requested)
        layout.addWidget(self.chat, 1)
        self.chat_banner = Banner()
        layout.addWidget(self.chat_banner)
        self.edit_banner = QLabel("Editing your last message — Esc cancels")
        self.edit_banner.setObjectName("editBanner")
        self.edit_banner.hide()
        layout.addWidget(self.edit_banner)
        row = QHBoxLayout()
        self.composer = Composer()
        self.composer.submitted.connect(self._on_composer_submitted)
        self.composer.edit_last_requested.connect(self._on_composer_edit_last_requested)
        self.composer.edit_cancelled.connect(self.edit_banner.hide)
        self.composer.chat_state_changed.connect(self._on_composer_chat_state_changed)
        row.addWidget(self.composer, 1)
        self.send_button = QPushButton("Send")
        self.send_button.setAccessibleName("Send message")
        self.send_button.setToolTip("Enter")
        self.send_button.clicked.connect(self._on_send_button_clicked)
        row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        layout.addLayout(row)
        return page

    def _setup_tray(self) -> None:
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return
        self.tray = QSystemTrayIcon(icons.app_icon(), self)
        self.tray.setToolTip("omemo-desktop")
        self.tray.activated.connect(lambda _reason: self._raise())
        self.tray.show()

    # ----------------------------------------------------------------- service

    def attach(self, messenger: MessengerApi) -> None:
        self.messenger = messenger
        self.bridge = EventBridge(messenger.events, self)
        b = self.bridge
        b.connection_state_changed.connect(self._on_bridge_connection_state_changed)
        b.message_received.connect(self._on_bridge_message_received)
        b.message_stored.connect(self._on_bridge_message_stored)
        b.message_state_changed.connect(self._on_bridge_message_state_changed)
        b.message_corrected.connect(self._on_bridge_message_corrected)
        b.chat_state_changed.connect(self._on_bridge_chat_state_changed)
        b.presence_changed.connect(self._on_bridge_presence_changed)
        b.subscription_requested.connect(self._on_bridge_subscription_requested)
        b.roster_changed.connect(self._on_bridge_roster_changed)
        b.trust_decision_needed.connect(self._on_bridge_trust_decision_needed)
        b.trust_changed.connect(self._on_bridge_trust_changed)
        b.decryption_failed.connect(self._on_bridge_decryption_failed)
        b.error_occurred.connect(self._on_bridge_error_occurred)
        self._set_ready(True)
        self.statusBar().clearMessage()
        self.reload_accounts()

    def reload_accounts(self, select: str | None = None) -> None:
        if self.messenger is None:
            return
        accounts = self.messenger.accounts()
        current = select or self.account
        self.account_box.blockSignals(True)
        self.account_box.clear()
        for jid in accounts:
            self.account_box.addItem(jid, jid)
        self.account_box.blockSignals(False)
        if accounts:
            index = accounts.index(current) if current in accounts else 0
            self.account_box.setCurrentIndex(index)
            self._select_account(accounts[index])
        else:
            self.account = None
            self._show_welcome("Welcome! Add your XMPP account to start chatting securely.", True)
        self._set_ready(True)

    def _select_account(self, account: str) -> None:
        if self.messenger is None:
            return
        self.account = account
        self.peer = None
        contacts = self.messenger.contacts(account)
        self.contacts[account] = {c.jid: c for c in contacts}
        for c in contacts:
            key = (account, c.jid)
            self.encrypt.setdefault(key, c.encryption != "plain")
            if c.unread:
                self.unread[key] = c.unread
        self._update_connection_label()
        self._refresh_lists()
        self._show_welcome("Pick a conversation or a contact on the left.", False)

    def _set_ready(self, ready: bool) -> None:
        has_account = ready and self.account is not None
        for action in (
            self.add_contact_action,
            self.search_action,
            self.own_devices_action,
            self.verify_uri_action,
            self.contact_info_action,
        ):
            action.setEnabled(has_account)
        self.add_account_action.setEnabled(ready)
        self.add_account_button.setEnabled(ready)
        self.add_contact_button.setEnabled(has_account)
        self.welcome_button.setEnabled(ready)

    def _show_welcome(self, text: str, with_button: bool) -> None:
        self.welcome_label.setText(text)
        self.welcome_button.setVisible(with_button)
        self.stack.setCurrentWidget(self.welcome)

    # ----------------------------------------------------------------- lists

    def _contact(self, jid: str, account: str | None = None) -> ContactView | None:
        return self.contacts.get(account or self.account or "", {}).get(jid)

    def _refresh_lists(self) -> None:
        account = self.account
        if account is None:
            self.chat_list.clear()
            self.contact_list.clear()
            return
        needle = self.filter.text().strip().lower()
        contacts = self.contacts.get(account, {})
        known = set(contacts) | {p for (a, p) in self.activity if a == account}

        def matches(jid: str) -> bool:
            c = contacts.get(jid)
            return (
                not needle or needle in jid.lower() or (c is not None and needle in c.name.lower())
            )

        chats = sorted(
            (
                j
                for j in known
                if matches(j) and ((account, j) in self.activity or self.unread.get((account, j)))
            ),
            key=lambda j: -self.activity.get((account, j), 0.0),
        )
        self._fill(self.chat_list, account, chats, conversations=True)
        roster = sorted(
            (j for j in contacts if matches(j)),
            key=lambda j: (not contacts[j].available, display_name(contacts[j], j).lower()),
        )
        self._fill(self.contact_list, account, roster, conversations=False)
        self._update_unread_total()

    def _fill(
        self, widget: QListWidget, account: str, jids: list[str], conversations: bool
    ) -> None:
        widget.blockSignals(True)
        widget.clear()
        for jid in jids:
            contact = self._contact(jid, account)
            name = display_name(contact, jid)
            unread = self.unread.get((account, jid), 0)
            presence = icons.presence_color(contact.available, contact.show) if contact else None
            icon = QIcon(icons.avatar_pixmap(jid, name, 36, presence=presence, unread=unread))
            second = (
                self.preview.get((account, jid), "")
                if conversations
                else (presence_text(contact) if contact else "Not in your contacts")
            )
            item = QListWidgetItem(icon, f"{name}\n{second}" if second else name)
            item.setData(Qt.ItemDataRole.UserRole, jid)
            access = f"{name}, {presence_text(contact) if contact else ''}"
            if unread:
                access += f", {unread} unread"
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, access)
            item.setToolTip(jid)
            widget.addItem(item)
            if jid == self.peer:
                item.setSelected(True)
        widget.blockSignals(False)

    def _update_unread_total(self) -> None:
        total = sum(self.unread.values())
        self.setWindowTitle(f"({total}) omemo-desktop" if total else "omemo-desktop")
        if self.tray is not None:
            self.tray.setIcon(icons.app_icon(total))
            self.tray.setToolTip(
                f"omemo-desktop — {total} unread message{'s' if total != 1 else ''}"
                if total
                else "omemo-desktop"
            )

    def _on_list_item_activated(self, item: QListWidgetItem) -> None:
        self.open_chat(str(item.data(Qt.ItemDataRole.UserRole)))

    def _toggle_tab(self) -> None:
        self.tabs.setCurrentIndex(1 - self.tabs.currentIndex())

    def _on_account_box_index_changed(self, index: int) -> None:
        jid = self.account_box.itemData(index)
        if jid:
            self._select_account(str(jid))
            self._set_ready(True)

    # ----------------------------------------------------------------- chat

    def open_chat(self, peer: str) -> None:
        if self.messenger is None or self.account is None:
            return
        account = self.account
        if self.peer and self.peer != peer:
            self.composer.finish()
            self.edit_banner.hide()
        self.peer = peer
        key = (account, peer)
        self.unread.pop(key, None)
        self.activity.setdefault(key, 0.0)
        contact = self._contact(peer)
        self.peer_avatar.setPixmap(icons.avatar_pixmap(peer, display_name(contact, peer), 40))
        self.peer_name.setText(display_name(contact, peer))
        self.peer_name.setToolTip(peer)
        self._update_peer_status()
        self._update_encryption_button()
        self.chat_banner.clear()
        self.chat.set_conversation(peer, [])
        self.stack.setCurrentWidget(self.chat_page)
        self.composer.setFocus()
        self._refresh_lists()
        self.runner.run(
            self.messenger.history(account, peer),
            on_result=lambda messages: self._on_history(account, peer, messages),
            on_error=lambda text, _e: self.chat_banner.show_text("danger", text),
        )

    def _on_history(self, account: str, peer: str, messages: list[MessageView]) -> None:
        if (account, peer) != (self.account, self.peer):
            return
        self.chat.set_conversation(peer, messages)
        real = [m for m in messages if not m.notice]
        if real:
            last = real[-1]
            prefix = "You: " if last.direction == "out" else ""
            self.preview[(account, peer)] = (prefix + last.body.replace("\n", " "))[:60]
            self.activity[(account, peer)] = max(
                self.activity.get((account, peer), 0), last.timestamp
            )
            self._refresh_lists()
        for device, reason, _at in self.pending_notices.get((account, peer), []):
            self.chat.add_notice(device, reason, at=_at)
        for m in reversed(messages):
            if m.encryption != "none":
                self.encryption_in_use[(account, peer)] = m.encryption
                break
        self._update_encryption_button()
        self._mark_displayed()
        emit(self.conversation_opened, account, peer)

    def _mark_displayed(self) -> None:
        last = self.chat.last_incoming()
        if last is not None and self.messenger is not None and self.account and self.peer:
            self.runner.run(
                self.messenger.mark_displayed(self.account, self.peer, last.id),
                on_error=lambda text, _e: log.info("marking displayed failed: %s", text),
            )

    def _update_peer_status(self, typing: bool = False) -> None:
        contact = self._contact(self.peer or "")
        if typing:
            self.peer_status.setText("typing…")
        elif contact is not None:
            self.peer_status.setText(presence_text(contact))
        else:
            self.peer_status.setText("Not in your contacts")

    def _update_encryption_button(self) -> None:
        if self.account is None or self.peer is None:
            return
        key = (self.account, self.peer)
        on = self.encrypt.get(key, self.settings.value("default_encryption", "omemo") == "omemo")
        self.encryption_button.blockSignals(True)
        self.encryption_button.setChecked(on)
        self.encryption_button.blockSignals(False)
        if on:
            version = ENCRYPTION_NAMES.get(self.encryption_in_use.get(key, ""), "OMEMO")
            self.encryption_button.setText(f"Encrypted ({version})")
            self.encryption_button.setIcon(QIcon(icons.lock_pixmap("trusted", 16)))
            self.encryption_button.setToolTip(
                "Messages are end-to-end encrypted. Click to turn off."
            )
        else:
            self.encryption_button.setText("Not encrypted")
            self.encryption_button.setIcon(QIcon(icons.lock_pixmap("none", 16)))
            self.encryption_button.setToolTip(
                "The server can read these messages. Click to encrypt."
            )
        self.encryption_button.setAccessibleName(self.encryption_button.text())

    def _on_encryption_button_toggled(self, on: bool) -> None:
        if self.account and self.peer:
            self.set_encryption(self.peer, on)

    def set_encryption(self, peer: str, on: bool) -> None:
        if self.account is None:
            return
        self.encrypt[(self.account, peer)] = on
        setter = getattr(self.messenger, "set_contact_encryption", None)
        if callable(setter):
            self.runner.run(setter(self.account, peer, "omemo" if on else "plain"))
        self._update_encryption_button()

    def _on_send_button_clicked(self) -> None:
        text = self.composer.toPlainText().strip()
        if text:
            self._on_composer_submitted(text)

    def _on_composer_submitted(self, text: str) -> None:
        if self.messenger is None or self.account is None or self.peer is None:
            return
        account, peer = self.account, self.peer
        if self.composer.editing is not None:
            self.composer.finish()
            self.edit_banner.hide()
            self.runner.run(
                self.messenger.correct_last_message(account, peer, text),
                on_error=lambda t, _e: self.chat_banner.show_text("danger", f"Not corrected: {t}"),
            )
            return
        encrypt = self.encrypt.get((account, peer), True)
        self.composer.finish()
        self.chat_banner.clear()
        self.runner.run(
            self.messenger.send_message(account, peer, text, encrypt=encrypt),
            on_result=lambda message: self._on_sent(account, peer, message),
            on_error=self._on_send_failed,
        )

    def _on_sent(self, account: str, peer: str, message: MessageView) -> None:
        self._note_activity(account, peer, message, count_unread=False)
        if (account, peer) == (self.account, self.peer):
            self.chat.add_message(message)

    def _on_send_failed(self, text: str, error: BaseException) -> None:
        if isinstance(error, TrustRequired):
            self.chat_banner.show_text(
                "warning", f"{text} Your message waits until you decide about their devices."
            )
        else:
            self.chat_banner.show_text("danger", f"Your message was not sent: {text}")

    def _on_composer_edit_last_requested(self) -> None:
        last = self.chat.last_outgoing()
        if last is None:
            return
        self.composer.start_edit(last.id, last.body)
        self.edit_banner.show()

    def _on_composer_chat_state_changed(self, state: str) -> None:
        if self.messenger is None or self.account is None or self.peer is None:
            return
        self.runner.run(
            self.messenger.send_chat_state(self.account, self.peer, state),
            on_error=lambda text, _e: log.info("chat state not sent: %s", text),
        )

    def _on_chat_retry_requested(self, message_id: str) -> None:
        if self.messenger is None or self.account is None:
            return
        self.chat.update_state(message_id, "pending", None)
        self.runner.run(
            self.messenger.retry_message(self.account, message_id),
            on_error=lambda text, _e: self.chat.update_state(message_id, "failed", text),
        )

    def _on_chat_repair_requested(self, device_id: int) -> None:
        if self.messenger is None or self.account is None or self.peer is None:
            return
        account, peer = self.account, self.peer
        notices = [n for n in self.chat.notices if n.device_id == device_id]

        def done(_: None) -> None:
            for n in notices:
                n.repaired(True)
            self.pending_notices[(account, peer)] = [
                n for n in self.pending_notices.get((account, peer), []) if n[0] != device_id
            ]

        def failed(text: str, _e: BaseException) -> None:
            for n in notices:
                n.repaired(False)
            self.chat_banner.show_text("danger", f"Repair did not work: {text}")

        self.runner.run(
            self.messenger.reset_session(account, peer, device_id), on_result=done, on_error=failed
        )

    def _on_chat_info_requested(self, message: MessageView) -> None:
        MessageInfoDialog(message, self).open()

    # ----------------------------------------------------------------- events

    def _note_activity(
        self, account: str, peer: str, message: MessageView, count_unread: bool
    ) -> None:
        key = (account, peer)
        self.activity[key] = message.timestamp
        prefix = "You: " if message.direction == "out" else ""
        self.preview[key] = (prefix + message.body.replace("\n", " "))[:60]
        if message.encryption != "none":
            self.encryption_in_use[key] = message.encryption
        if count_unread:
            self.unread[key] = self.unread.get(key, 0) + 1
        if account == self.account:
            self._refresh_lists()
        else:
            self._update_unread_total()

    def _is_open(self, account: str, peer: str) -> bool:
        return (account, peer) == (self.account, self.peer) and self.stack.currentWidget() is (
            self.chat_page
        )

    def _on_bridge_connection_state_changed(self, event: ConnectionStateChanged) -> None:
        self.connection[event.account] = event.state
        if event.account == self.account:
            self._update_connection_label(event.error)
        if event.state == "failed" and event.error:
            self.show_error(f"{event.account}: {event.error}")

    def _update_connection_label(self, error: str | None = None) -> None:
        state = self.connection.get(self.account or "", "disconnected")
        text = CONNECTION_TEXT.get(state, state)
        color = {"connected": icons.ONLINE, "failed": icons.RED}.get(state, icons.GREY)
        self.connection_label.setText(f"<span style='color:{color.name()}'>●</span> {text}")
        self.connection_label.setToolTip(error or text)
        self.connection_label.setAccessibleName(f"Connection: {text}")

    def _on_bridge_message_received(self, event: MessageReceived) -> None:
        message = event.message
        is_open = self._is_open(event.account, message.peer)
        active = is_open and self.isActiveWindow()
        if is_open:
            self.chat.add_message(message)
            self._update_peer_status(typing=False)
            self._update_encryption_button()
        self._note_activity(event.account, message.peer, message, count_unread=not is_open)
        if is_open:
            self._mark_displayed()
        if not active:
            self._notify(event.account, message)

    def _notify(self, account: str, message: MessageView) -> None:
        if self.tray is None or not _bool(self.settings.value("notifications", True)):
            return
        name = display_name(self._contact(message.peer, account), message.peer)
        body = (
            message.body
            if _bool(self.settings.value("notification_previews", False))
            else "New message"
        )
        self.tray.showMessage(name, body, icons.app_icon(), 5000)

    def _on_bridge_message_stored(self, event: MessageStored) -> None:
        message = event.message
        if self._is_open(event.account, message.peer):
            self.chat.add_message(message)
        self._note_activity(event.account, message.peer, message, count_unread=False)

    def _on_bridge_message_state_changed(self, event: MessageStateChanged) -> None:
        if self._is_open(event.account, event.peer):
            self.chat.update_state(event.message_id, event.state, event.error)
            if event.state == "failed":
                self.chat_banner.show_text(
                    "danger",
                    f"A message could not be sent: {event.error or 'the server refused it'}. "
                    "Press Retry next to it to try again.",
                )

    def _on_bridge_message_corrected(self, event: MessageCorrected) -> None:
        if self._is_open(event.account, event.peer):
            self.chat.correct(event.message_id, event.body)

    def _on_bridge_chat_state_changed(self, event: ChatStateChanged) -> None:
        if self._is_open(event.account, event.peer):
            self._update_peer_status(typing=event.state == "composing")

    def _on_bridge_presence_changed(self, event: PresenceChanged) -> None:
        contacts = self.contacts.setdefault(event.account, {})
        old = contacts.get(event.jid)
        if old is None:
            return
        contacts[event.jid] = replace(
            old, available=event.available, show=event.show, status=event.status
        )
        if event.account == self.account:
            self._refresh_lists()
            if event.jid == self.peer:
                self._update_peer_status()

    def _on_bridge_roster_changed(self, event: RosterChanged) -> None:
        self.contacts[event.account] = {c.jid: c for c in event.contacts}
        for c in event.contacts:
            self.encrypt.setdefault((event.account, c.jid), c.encryption != "plain")
        if event.account == self.account:
            self._refresh_lists()

    def _on_bridge_subscription_requested(self, event: SubscriptionRequested) -> None:
        key = (event.account, event.jid)
        if key in self.subscription_dialogs:
            return
        dialog = SubscriptionDialog(event.account, event.jid, self)
        self.subscription_dialogs[key] = dialog

        def answered(jid: str, answer: str) -> None:
            if self.messenger is not None:
                approve = answer == "allow"
                self.runner.run(self.messenger.answer_subscription(event.account, jid, approve))

        dialog.answered.connect(answered)
        dialog.finished.connect(lambda _r: self.subscription_dialogs.pop(key, None))
        dialog.show()

    def _on_bridge_trust_decision_needed(self, event: TrustDecisionNeeded) -> None:
        if self.messenger is None:
            return
        key = (event.account, event.peer)
        dialog = self.trust_dialogs.get(key)
        if dialog is not None and dialog.key_changed == event.key_changed:
            dialog.add_devices(event.devices)
            dialog.raise_()
            return
        if dialog is not None:
            dialog.close()
        dialog = TrustDialog(
            self.messenger,
            self.runner,
            event.account,
            event.peer,
            event.devices,
            event.key_changed,
            self,
        )
        self.trust_dialogs[key] = dialog
        dialog.finished.connect(lambda _r: self.trust_dialogs.pop(key, None))
        dialog.show()
        dialog.raise_()

    def _on_bridge_trust_changed(self, event: TrustChanged) -> None:
        log.debug("trust of %s/%s is now %s", event.peer, event.device_id, event.trust)

    def _on_bridge_decryption_failed(self, event: DecryptionFailed) -> None:
        key = (event.account, event.peer)
        now = time.time()
        self.pending_notices.setdefault(key, []).append((event.device_id, event.reason, now))
        if self._is_open(event.account, event.peer):
            self.chat.add_notice(event.device_id, event.reason, at=now)
        else:
            self.unread[key] = self.unread.get(key, 0) + 1
            self.activity[key] = now
            self.preview[key] = "A message could not be decrypted"
            if event.account == self.account:
                self._refresh_lists()

    def _on_bridge_error_occurred(self, event: ErrorOccurred) -> None:
        self.show_error(event.text)

    # ----------------------------------------------------------------- dialogs

    def show_error(self, text: str) -> None:
        self.statusBar().showMessage(text, 15000)
        if self.stack.currentWidget() is self.chat_page:
            self.chat_banner.show_text("danger", text)

    def open_add_account(self) -> AddAccountDialog | None:
        if self.messenger is None:
            return None
        dialog = AddAccountDialog(self.messenger, self.runner, self)
        dialog.account_added.connect(lambda jid: self.reload_accounts(select=jid))
        dialog.open()
        return dialog

    def open_add_contact(self) -> AddContactDialog | None:
        if self.messenger is None or self.account is None:
            return None
        dialog = AddContactDialog(self.messenger, self.runner, self.account, self)
        dialog.open()
        return dialog

    def open_search(self) -> SearchDialog | None:
        if self.messenger is None or self.account is None:
            return None
        dialog = SearchDialog(self.messenger, self.runner, self.account, self)
        dialog.result_chosen.connect(lambda m: self.open_chat(m.peer))
        dialog.open()
        return dialog

    def open_contact_page(self) -> ContactPage | None:
        if self.messenger is None or self.account is None or self.peer is None:
            return None
        contact = self._contact(self.peer) or ContactView(
            jid=self.peer, name="", subscription="none"
        )
        page = ContactPage(
            self.messenger,
            self.runner,
            self.account,
            contact,
            self.encrypt.get((self.account, self.peer), True),
            self,
        )
        page.encryption_toggled.connect(lambda jid, mode: self.set_encryption(jid, mode == "omemo"))
        page.open()
        return page

    def open_own_devices(self) -> OwnDevicesPage | None:
        if self.messenger is None or self.account is None:
            return None
        page = OwnDevicesPage(self.messenger, self.runner, self.account, self)
        page.open()
        return page

    def open_verification_uri(self, uri: str) -> VerificationUriDialog | None:
        if self.messenger is None or self.account is None:
            return None
        dialog = VerificationUriDialog(self.messenger, self.runner, self.account, uri, self)
        dialog.open()
        return dialog

    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.settings, self)
        dialog.accepted.connect(self._on_settings_saved)
        dialog.open()
        return dialog

    def _on_settings_saved(self) -> None:
        setter = getattr(self.messenger, "set_trust_policy", None)
        if callable(setter) and self.account is not None:
            self.runner.run(setter(self.account, str(self.settings.value("trust_policy"))))

    def open_uri(self, uri: str) -> None:
        """An xmpp: URI from the command line: verification links verify, others open a chat."""
        if "?" in uri and "omemo" in uri.split("?", 1)[1]:
            self.open_verification_uri(uri)
            return
        jid = uri.removeprefix("xmpp:").lstrip("/").split("?", 1)[0]
        if "@" in jid:
            self.open_chat(jid)

    def _raise(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def _quit(self) -> None:
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.bridge is not None:
            self.bridge.detach()
        if self.tray is not None:
            self.tray.hide()
        super().closeEvent(event)
        emit(self.quit_requested)

    def show_message_box(self, title: str, text: str) -> None:
        QMessageBox.warning(self, title, text)
