"""The main window: accounts, conversations and contacts on the left, the chat on the right."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import (
    QApplication,
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

from . import icons
from .chat_view import ENCRYPTION_NAMES, ChatView
from .composer import Composer
from .files import FileSharing
from .qt_compat import emit
from .tasks import TaskRunner
from .values import setting_bool
from .widgets import Banner

# The dialogs, pages, rooms, about and bridge modules and service.api (its many dataclasses)
# are imported where first used, not here: the window paints before any of them is needed, and
# importing them up front cost ~40-60 ms of cold start (issue #13).
if TYPE_CHECKING:
    from omemo_desktop.service.api import (
        ChatStateChanged,
        ConnectionStateChanged,
        ContactView,
        DecryptionFailed,
        DeviceView,
        ErrorOccurred,
        MessageCorrected,
        MessageReceived,
        MessageStateChanged,
        MessageStored,
        MessageView,
        MessengerApi,
        OptOutReceived,
        PresenceChanged,
        RoomInvitationDeclined,
        RoomInvitationReceived,
        RoomMembersChanged,
        RoomRenamed,
        RoomView,
        RosterChanged,
        SubscriptionRequested,
        TrustChanged,
        TrustDecisionNeeded,
    )

    from .bridge import EventBridge
    from .dialogs import (
        AddAccountDialog,
        AddContactDialog,
        OptOutDialog,
        SearchDialog,
        SettingsDialog,
        SubscriptionDialog,
        TrustDialog,
        VerificationUriDialog,
    )
    from .pages import ContactPage, OwnDevicesPage
    from .rooms import (
        InvitationDialog,
        InviteDialog,
        JoinRoomDialog,
        ParticipantsPanel,
        RoomSettingsDialog,
    )

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


def connection_dot(state: str, size: int = 10) -> QPixmap:
    color = {"connected": icons.ONLINE, "failed": icons.RED, "connecting": icons.AWAY}.get(
        state, icons.GREY
    )
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(color)
    p.drawEllipse(1, 1, size - 2, size - 2)
    p.end()
    return pm


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
        self.encryption_capable: dict[Key, str] = {}  # from their devices: omemo2 | legacy | ""
        self.opt_out_dialog: OptOutDialog | None = None
        self.opt_out_requests: dict[Key, str] = {}  # unanswered opt-outs: reason
        self.connection: dict[str, str] = {}
        self.pending_notices: dict[Key, list[tuple[int, str, float]]] = {}
        self.trust_dialogs: dict[Key, TrustDialog] = {}
        self.subscription_dialogs: dict[Key, SubscriptionDialog] = {}
        self.rooms: dict[str, dict[str, RoomView]] = {}  # account -> room JID -> room
        self.invitation_dialogs: dict[Key, InvitationDialog] = {}
        self._member_timer = QTimer(self)  # owned by the window: dies with it
        self._member_timer.setSingleShot(True)
        self._member_timer.setInterval(3000)
        self._member_timer.timeout.connect(self._on_member_timer_timeout)
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
        self.next_tab_action = self._action("Chats / contacts / groups", "Ctrl+T", self._toggle_tab)
        self.join_room_action = self._action(
            "&Join or create a group chat…", "Ctrl+J", self.open_join_room
        )
        self.invite_action = self._action(
            "&Invite to this group chat…", "Ctrl+Shift+I", self.open_invite
        )
        self.room_settings_action = self._action(
            "Group chat &settings…", "Ctrl+Shift+G", self.open_room_settings
        )
        self.members_action = self._action("Show &members", "Ctrl+Shift+M", self._toggle_members)
        for n in range(1, 10):  # Ctrl+1 … Ctrl+9: the accounts, in the switcher's order
            self._action(f"Account {n}", f"Ctrl+{n}", partial(self.switch_account, n - 1))
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addActions([self.add_account_action, self.settings_action])
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        contacts = menu.addMenu("&Contacts")
        contacts.addActions([self.add_contact_action, self.contact_info_action, self.search_action])
        groups = menu.addMenu("&Group chats")
        groups.addActions(
            [
                self.join_room_action,
                self.invite_action,
                self.members_action,
                self.room_settings_action,
            ]
        )
        security = menu.addMenu("&Security")
        security.addActions([self.own_devices_action, self.verify_uri_action])
        self.about_action = self._action("&About omemo-desktop", None, self._open_about)
        menu.addMenu("&Help").addAction(self.about_action)

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
        self.room_list = self._make_list("Group chats")
        self.tabs.addTab(self.room_list, "Groups")
        self.tabs.currentChanged.connect(lambda _i: self._update_groups_hint())
        side_layout.addWidget(self.tabs, 1)
        self.groups_hint = QLabel(
            "No group chats yet. “Group chat…” below joins a room or creates one; "
            "invitations you accept show up here too."
        )
        self.groups_hint.setWordWrap(True)
        self.groups_hint.hide()
        side_layout.addWidget(self.groups_hint)
        buttons_row = QHBoxLayout()
        self.add_contact_button = QPushButton("Add contact…")
        self.add_contact_button.setAccessibleName("Add contact")
        self.add_contact_button.setToolTip("Ctrl+N")
        self.add_contact_button.clicked.connect(self.open_add_contact)
        buttons_row.addWidget(self.add_contact_button)
        self.join_room_button = QPushButton("Group chat…")
        self.join_room_button.setAccessibleName("Join or create a group chat")
        self.join_room_button.setToolTip("Join or create a group chat (Ctrl+J)")
        self.join_room_button.clicked.connect(self.open_join_room)
        buttons_row.addWidget(self.join_room_button)
        side_layout.addLayout(buttons_row)
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
        widget.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
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
        self.members_button = QToolButton()
        self.members_button.setText("Members")
        self.members_button.setCheckable(True)
        self.members_button.setChecked(True)
        self.members_button.setAccessibleName("Show the members of this group chat")
        self.members_button.setToolTip("Members and the trust of their devices (Ctrl+Shift+M)")
        self.members_button.toggled.connect(self._on_members_button_toggled)
        head.addWidget(self.members_button)
        self.room_settings_button = QToolButton()
        self.room_settings_button.setText("Settings")
        self.room_settings_button.setAccessibleName("Group chat settings")
        self.room_settings_button.setToolTip("Name, encryption, leave (Ctrl+Shift+G)")
        self.room_settings_button.clicked.connect(self.open_room_settings)
        head.addWidget(self.room_settings_button)
        layout.addLayout(head)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(line)
        self.chat = ChatView()
        self.chat.retry_requested.connect(self._on_chat_retry_requested)
        self.chat.repair_requested.connect(self._on_chat_repair_requested)
        self.chat.info_requested.connect(self._on_chat_info_requested)
        self.chat.older_requested.connect(self._on_chat_older_requested)
        middle = QSplitter(Qt.Orientation.Horizontal)
        middle.setChildrenCollapsible(False)
        middle.addWidget(self.chat)
        middle.setStretchFactor(0, 1)
        self._middle = middle
        self._participants: ParticipantsPanel | None = None  # made when a room first needs it
        layout.addWidget(middle, 1)
        self.chat_banner = Banner()
        layout.addWidget(self.chat_banner)
        self.edit_banner = QLabel("Editing your last message — Esc cancels")
        self.edit_banner.setObjectName("editBanner")
        self.edit_banner.hide()
        layout.addWidget(self.edit_banner)
        self.files = FileSharing(
            self.runner, lambda: (self.messenger, self.account, self.peer), self.show_error, self
        )
        self.chat.decorate = self.files.decorate
        self.files.accept_drops_on(self.chat)
        layout.addWidget(self.files.bar)
        row = QHBoxLayout()
        row.addWidget(self.files.attach_button, 0, Qt.AlignmentFlag.AlignBottom)
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
        from .bridge import EventBridge

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
        b.room_members_changed.connect(self._on_bridge_room_members_changed)
        b.room_invitation_received.connect(self._on_bridge_room_invitation_received)
        b.room_invitation_declined.connect(self._on_bridge_room_invitation_declined)
        b.room_renamed.connect(self._on_bridge_room_renamed)
        b.opt_out_received.connect(self._on_bridge_opt_out_received)
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
            self.encrypt.setdefault(key, self._initial_encrypt(account, c))
            if c.unread:
                self.unread[key] = c.unread
        self.rooms[account] = {r.jid: r for r in self.messenger.rooms(account)}
        for r in self.rooms[account].values():
            self.encrypt[(account, r.jid)] = r.omemo_capable
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
            self.join_room_action,
        ):
            action.setEnabled(has_account)
        self.join_room_button.setEnabled(has_account)
        self._update_room_actions()
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

    def _room(self, jid: str, account: str | None = None) -> RoomView | None:
        return self.rooms.get(account or self.account or "", {}).get(jid)

    def _title(self, jid: str, account: str | None = None) -> str:
        """What a conversation is called: the room's name, the contact's, or the JID."""
        account = account or self.account or ""
        room = self._room(jid, account)
        if room is not None:
            from .rooms import local_room_name, room_title

            return room_title(room, local_room_name(self.settings, account, jid))
        return display_name(self._contact(jid, account), jid)

    def _refresh_lists(self) -> None:
        account = self.account
        if account is None:
            self.chat_list.clear()
            self.contact_list.clear()
            self.room_list.clear()
            return
        needle = self.filter.text().strip().lower()
        contacts = self.contacts.get(account, {})
        rooms = self.rooms.get(account, {})
        known = set(contacts) | {p for (a, p) in self.activity if a == account}

        def matches(jid: str) -> bool:
            return not needle or needle in jid.lower() or needle in self._title(jid).lower()

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
        joined = sorted((j for j in rooms if matches(j)), key=lambda j: self._title(j).lower())
        self._fill(self.room_list, account, joined, conversations=False)
        self._update_groups_hint()
        self._update_unread_total()

    def _update_groups_hint(self) -> None:
        empty = not self.rooms.get(self.account or "", {})
        self.groups_hint.setVisible(
            self.account is not None and empty and self.tabs.currentWidget() is self.room_list
        )

    def _fill(
        self, widget: QListWidget, account: str, jids: list[str], conversations: bool
    ) -> None:
        widget.blockSignals(True)
        widget.clear()
        for jid in jids:
            contact = self._contact(jid, account)
            room = self._room(jid, account)
            name = self._title(jid, account)
            unread = self.unread.get((account, jid), 0)
            presence = icons.presence_color(contact.available, contact.show) if contact else None
            icon = QIcon(icons.avatar_pixmap(jid, name, 36, presence=presence, unread=unread))
            from .rooms import room_status

            state = (
                room_status(room, with_nick=False)
                if room is not None
                else presence_text(contact)
                if contact
                else "Not in your contacts"
            )
            second = self.preview.get((account, jid), "") if conversations else state
            item = QListWidgetItem(icon, f"{name}\n{second}" if second else name)
            item.setData(Qt.ItemDataRole.UserRole, jid)
            access = f"{name}, {state}"
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
        self._update_account_box()

    def _update_account_box(self) -> None:
        """Every account side by side in the switcher: its connection and its unread count."""
        for i in range(self.account_box.count()):
            jid = str(self.account_box.itemData(i))
            unread = sum(n for (a, _), n in self.unread.items() if a == jid)
            state = self.connection.get(jid, "disconnected")
            text = CONNECTION_TEXT.get(state, state)
            self.account_box.setItemText(i, f"{jid} ({unread})" if unread else jid)
            self.account_box.setItemIcon(i, QIcon(connection_dot(state)))
            self.account_box.setItemData(
                i,
                f"{jid}, {text}" + (f", {unread} unread" if unread else ""),
                Qt.ItemDataRole.AccessibleTextRole,
            )
            self.account_box.setItemData(i, text, Qt.ItemDataRole.ToolTipRole)

    def switch_account(self, index: int, *_checked: object) -> None:
        if 0 <= index < self.account_box.count():
            self.account_box.setCurrentIndex(index)

    def _on_list_item_activated(self, item: QListWidgetItem) -> None:
        self.open_chat(str(item.data(Qt.ItemDataRole.UserRole)))

    def _toggle_tab(self) -> None:
        self.tabs.setCurrentIndex((self.tabs.currentIndex() + 1) % self.tabs.count())

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
        room = self._room(peer)
        title = self._title(peer)
        self.peer_avatar.setPixmap(icons.avatar_pixmap(peer, title, 40))
        self.peer_avatar.setAccessibleName("Group chat picture" if room else "Contact picture")
        self.peer_name.setText(title)
        self.peer_name.setToolTip(peer)
        self._update_peer_status()
        self._update_encryption_button()
        self.chat_banner.clear()
        self._show_room_parts(room)
        if room is None:
            self._learn_encryption_version(account, peer)
        self.chat.set_conversation(peer, [], group=room is not None)
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
        self.chat.set_conversation(peer, messages, group=self._room(peer) is not None)
        real = [m for m in messages if not m.notice]
        if real:
            last = real[-1]
            self.preview[(account, peer)] = self._preview_text(account, last)
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
        if (account, peer) in self.opt_out_requests and self.opt_out_dialog is None:
            self.request_encryption(peer, False)  # they asked while the chat was closed
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
        room = self._room(self.peer or "")
        if room is not None:
            from .rooms import room_status

            self.peer_status.setText(room_status(room))
        elif typing:
            self.peer_status.setText("typing…")
        elif contact is not None:
            self.peer_status.setText(presence_text(contact))
        else:
            self.peer_status.setText("Not in your contacts")

    def _update_encryption_button(self) -> None:
        if self.account is None or self.peer is None:
            return
        key = (self.account, self.peer)
        room = self._room(self.peer)
        if room is not None and not room.omemo_capable:
            # Not a choice here: the service refuses OMEMO in such a room; say why.
            self.encryption_button.blockSignals(True)
            self.encryption_button.setChecked(False)
            self.encryption_button.blockSignals(False)
            self.encryption_button.setEnabled(False)
            self.encryption_button.setText("Not encrypted")
            self.encryption_button.setIcon(QIcon(icons.lock_pixmap("none", 16)))
            from .rooms import omemo_unavailable_text

            self.encryption_button.setToolTip(omemo_unavailable_text(room))
            self.encryption_button.setAccessibleName("Not encrypted: OMEMO is unavailable here")
            return
        self.encryption_button.setEnabled(True)
        on = self.encrypt.get(key, self.settings.value("default_encryption", "omemo") == "omemo")
        self.encryption_button.blockSignals(True)
        self.encryption_button.setChecked(on)
        self.encryption_button.blockSignals(False)
        if on:
            used = self.encryption_in_use.get(key) or self.encryption_capable.get(key, "")
            version = ENCRYPTION_NAMES.get(used, "OMEMO") if used else "OMEMO"
            self.encryption_button.setText(f"Encrypted · {version}")
            self.encryption_button.setIcon(QIcon(icons.lock_pixmap("trusted", 16)))
            known = (
                f"Messages are end-to-end encrypted with {version}."
                if used
                else "Messages are end-to-end encrypted with OMEMO; none of their devices "
                "is known yet, so the version is chosen when you send."
            )
            self.encryption_button.setToolTip(f"{known} Click to turn off.")
        else:
            self.encryption_button.setText("Not encrypted")
            self.encryption_button.setIcon(QIcon(icons.lock_pixmap("none", 16)))
            self.encryption_button.setToolTip(
                "The server can read these messages. Click to encrypt."
            )
        self.encryption_button.setAccessibleName(self.encryption_button.text())

    def _on_encryption_button_toggled(self, on: bool) -> None:
        if self.account and self.peer:
            self.request_encryption(self.peer, on)

    def _initial_encrypt(self, account: str, contact: ContactView) -> bool:
        """The person's choice for this contact, else the default from the settings."""
        stored = self.settings.value(f"encryption/{account}/{contact.jid}")
        if stored in ("omemo", "plain"):
            return bool(stored == "omemo")
        if contact.encryption == "plain":
            return False
        return str(self.settings.value("default_encryption", "omemo")) == "omemo"

    def request_encryption(
        self, peer: str, on: bool, cancelled: Callable[[], None] | None = None
    ) -> None:
        """Turning OMEMO on is immediate; turning it off asks first (the opt-out dialog)."""
        if on or self.account is None:
            self.set_encryption(peer, on)
            return
        if self.opt_out_dialog is not None:
            self.opt_out_dialog.close()
        key = (self.account, peer)
        asked = self.opt_out_requests.get(key)
        from .dialogs import OptOutDialog

        dialog = OptOutDialog(
            self._title(peer), reason=asked or None, requested=asked is not None, parent=self
        )
        self.opt_out_dialog = dialog
        dialog.accepted.connect(lambda: self._stop_encrypting(key, asked is not None))

        def keep() -> None:
            self._update_encryption_button()
            if asked is not None and key == (self.account, self.peer):
                self.chat_banner.show_text(
                    "warning",
                    f"Your messages to {self._title(peer)} wait unsent: they asked to continue "
                    "without encryption. They go out once you agree (click the lock button) "
                    "or once they send an encrypted message again.",
                )
            if cancelled is not None:
                cancelled()

        dialog.rejected.connect(keep)
        dialog.finished.connect(lambda _r: setattr(self, "opt_out_dialog", None))
        dialog.open()

    def _stop_encrypting(self, key: Key, requested: bool) -> None:
        self.set_encryption(key[1], False)
        if requested and self.messenger is not None:
            # The opt-out holds every send to them until this (XEP-0384 §10).
            self.opt_out_requests.pop(key, None)
            self.runner.run(
                self.messenger.confirm_plaintext(*key),
                on_error=lambda text, _e: self.show_error(text),
            )
            if key == (self.account, self.peer):
                self.chat_banner.clear()

    def _on_bridge_opt_out_received(self, event: OptOutReceived) -> None:
        """Their notice reaches the chat as a message; ask now if the chat is open."""
        key = (event.account, event.peer)
        self.opt_out_requests[key] = event.reason
        if self._is_open(*key):  # replaces a dialog opened by hand, which would not confirm
            self.request_encryption(event.peer, False)

    def set_encryption(self, peer: str, on: bool) -> None:
        if self.account is None:
            return
        self.encrypt[(self.account, peer)] = on
        # Kept per contact in the GUI's settings, so the choice survives a restart.
        self.settings.setValue(f"encryption/{self.account}/{peer}", "omemo" if on else "plain")
        setter = getattr(self.messenger, "set_contact_encryption", None)
        if callable(setter):
            self.runner.run(setter(self.account, peer, "omemo" if on else "plain"))
        self._update_encryption_button()

    def _learn_encryption_version(self, account: str, peer: str) -> None:
        """Before any message, tell the OMEMO version from the contact's devices."""
        key = (account, peer)
        if self.messenger is None or key in self.encryption_in_use:
            return
        if key in self.encryption_capable:
            return

        def learned(devices: list[DeviceView]) -> None:
            spaces = {d.namespace for d in devices}
            self.encryption_capable[key] = (
                "omemo2" if spaces & {"omemo2", "both"} else "legacy" if spaces else ""
            )
            if key == (self.account, self.peer):
                self._update_encryption_button()

        self.runner.run(
            self.messenger.devices(account, peer),
            on_result=learned,
            on_error=lambda text, _e: log.info("devices of %s unknown: %s", peer, text),
        )

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
        from omemo_desktop.service.api import TrustRequired

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

        room = self._room(peer)
        repair = (
            self._repair_in_room(account, room, device_id)
            if room is not None
            else self.messenger.reset_session(account, peer, device_id)
        )
        self.runner.run(repair, on_result=done, on_error=failed)

    async def _repair_in_room(self, account: str, room: RoomView, device_id: int) -> None:
        """In a room the notice knows only the device id: find the member it belongs to."""
        assert self.messenger is not None
        for jid in room.members:
            if jid == account:
                continue
            if any(d.device_id == device_id for d in await self.messenger.devices(account, jid)):
                await self.messenger.reset_session(account, jid, device_id)
                return
        from omemo_desktop.service.api import ServiceError

        raise ServiceError(
            f"No member of {self._title(room.jid, account)} uses device {device_id} any more. "
            "Ask whoever sent the message to send it again."
        )

    def _on_chat_older_requested(self, before: float) -> None:
        """Scrolled to the top of the chat: the previous page of history goes above."""
        if self.messenger is None or self.account is None or not self.peer:
            return
        key = (self.account, self.peer)

        def got(messages: list[MessageView]) -> None:
            if key == (self.account, self.peer):  # still the same chat
                self.chat.prepend_history(messages)

        def failed(text: str, _error: BaseException) -> None:
            if key == (self.account, self.peer):
                self.chat.older_failed()
                self.chat_banner.show_text("danger", text)

        self.runner.run(
            self.messenger.history(*key, limit=ChatView.PAGE, before=before),
            on_result=got,
            on_error=failed,
        )

    def _on_chat_info_requested(self, message: MessageView) -> None:
        from .dialogs import MessageInfoDialog

        MessageInfoDialog(message, self).open()

    # ----------------------------------------------------------------- events

    def _note_activity(
        self, account: str, peer: str, message: MessageView, count_unread: bool
    ) -> None:
        key = (account, peer)
        self.activity[key] = message.timestamp
        self.preview[key] = self._preview_text(account, message)
        if message.encryption != "none":
            self.encryption_in_use[key] = message.encryption
            if key == (self.account, self.peer):
                self._update_encryption_button()
        if count_unread:
            self.unread[key] = self.unread.get(key, 0) + 1
        if account == self.account:
            self._refresh_lists()
        else:
            self._update_unread_total()

    def _preview_text(self, account: str, message: MessageView) -> str:
        if message.direction == "out":
            prefix = "You: "
        elif self._room(message.peer, account) is not None:
            from .rooms import nick_of

            prefix = f"{nick_of(message.sender)}: "  # in a room, say who wrote it
        else:
            prefix = ""
        from omemo_desktop.service.api import shared_file

        if (file := shared_file(message)) is not None:
            return (prefix + "File: " + file.name)[:60]  # never the link: it holds the key
        return (prefix + message.body.replace("\n", " "))[:60]

    def _is_open(self, account: str, peer: str) -> bool:
        return (account, peer) == (self.account, self.peer) and self.stack.currentWidget() is (
            self.chat_page
        )

    def _on_bridge_connection_state_changed(self, event: ConnectionStateChanged) -> None:
        self.connection[event.account] = event.state
        self._update_account_box()
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
        if self._contact(message.peer, event.account) is None:
            self._sync_rooms(event.account)  # may be a room autojoined since
        is_open = self._is_open(event.account, message.peer)
        active = is_open and self.isActiveWindow()
        if not message.notice and message.encryption != "none" and message.direction == "in":
            self.opt_out_requests.pop((event.account, message.peer), None)  # back on OMEMO
        if is_open:
            self.chat.add_message(message)
            self._update_peer_status(typing=False)
            self._update_encryption_button()
        self._note_activity(event.account, message.peer, message, count_unread=not is_open)
        if is_open:
            self._mark_displayed()
            if self._room(message.peer, event.account) is not None:
                self._schedule_member_refresh()
        if not active:
            self._notify(event.account, message)

    def _notify(self, account: str, message: MessageView) -> None:
        if not setting_bool(self.settings.value("notifications", True)):
            return
        if self.tray is None:
            # No tray (e.g. GNOME without an extension): ask for attention in the task bar
            # instead (the window manager's urgency hint).
            QApplication.alert(self, 0)
            return
        name = self._title(message.peer, account)
        body = (
            message.body
            if setting_bool(self.settings.value("notification_previews", False))
            else "New message"
        )
        from omemo_desktop.service.api import shared_file

        if (file := shared_file(message)) is not None and body != "New message":
            body = "File: " + file.name  # the link holds the key: never into the notification
        if self._room(message.peer, account) is not None:
            from .rooms import nick_of

            body = f"{nick_of(message.sender)}: {body}"
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
            self.encrypt.setdefault((event.account, c.jid), self._initial_encrypt(event.account, c))
        if event.account == self.account:
            self._refresh_lists()

    def _on_bridge_subscription_requested(self, event: SubscriptionRequested) -> None:
        key = (event.account, event.jid)
        if key in self.subscription_dialogs:
            return
        from .dialogs import SubscriptionDialog

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
        room = self._room(event.peer, event.account)
        from .dialogs import TrustDialog

        dialog = TrustDialog(
            self.messenger,
            self.runner,
            event.account,
            event.peer,
            event.devices,
            event.key_changed,
            self,
            room_name=self._title(event.peer, event.account) if room is not None else None,
        )
        self.trust_dialogs[key] = dialog
        dialog.finished.connect(lambda _r: self.trust_dialogs.pop(key, None))
        dialog.show()
        dialog.raise_()

    def _on_bridge_trust_changed(self, event: TrustChanged) -> None:
        log.debug("trust of %s/%s is now %s", event.peer, event.device_id, event.trust)
        room = self._room(self.peer or "", event.account)
        if room is not None and event.peer in room.members and self._participants_shown():
            self.participants.refresh_trust()

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

    # ----------------------------------------------------------------- group chats

    def _show_room_parts(self, room: RoomView | None) -> None:
        """Switch the chat header between a contact and a room (members, settings)."""
        is_room = room is not None
        self.details_button.setVisible(not is_room)
        self.members_button.setVisible(is_room)
        self.room_settings_button.setVisible(is_room)
        if is_room or self._participants is not None:
            self.participants.setVisible(is_room and self.members_button.isChecked())
        if room is not None and self.messenger is not None and self.account is not None:
            self._show_participants(room)
            if not room.omemo_capable:
                from .rooms import omemo_unavailable_text

                self.chat_banner.show_text("warning", omemo_unavailable_text(room))
        self._update_room_actions()

    @property
    def participants(self) -> ParticipantsPanel:
        """The members panel beside a room's chat, made (and rooms.py imported) on first use:
        a start-up without group chats never needs it."""
        if self._participants is None:
            from .rooms import ParticipantsPanel

            panel = ParticipantsPanel()
            panel.details_requested.connect(self.open_member_page)
            panel.invite_requested.connect(self.open_invite)
            panel.remove_requested.connect(self._on_participants_remove_requested)
            panel.hide()
            self._middle.addWidget(panel)
            self._middle.setStretchFactor(1, 0)
            self._middle.setSizes([max(self._middle.width() - 250, 520), 250])
            self._participants = panel
        return self._participants

    def _participants_shown(self) -> bool:
        return self._participants is not None and self._participants.isVisible()

    def _show_participants(self, room: RoomView) -> None:
        if self.messenger is None or self.account is None:
            return
        names = {jid: c.name for jid, c in self.contacts.get(self.account, {}).items() if c.name}
        self.participants.show_room(self.messenger, self.runner, self.account, room, names)

    def _update_room_actions(self) -> None:
        in_room = self.account is not None and self._room(self.peer or "") is not None
        for action in (self.invite_action, self.room_settings_action, self.members_action):
            action.setEnabled(in_room)
        self.contact_info_action.setEnabled(self.account is not None and not in_room)

    def _toggle_members(self) -> None:
        if self._room(self.peer or "") is not None:
            self.members_button.toggle()

    def _on_members_button_toggled(self, on: bool) -> None:
        visible = on and self._room(self.peer or "") is not None
        if visible or self._participants is not None:
            self.participants.setVisible(visible)

    def _store_room(self, account: str, room: RoomView) -> None:
        before = self.rooms.setdefault(account, {}).get(room.jid)
        if before == room:
            return
        self.rooms[account][room.jid] = room
        if before is None or before.omemo_capable != room.omemo_capable:
            # A room's features are known only once the join completed: follow them.
            self.encrypt[(account, room.jid)] = room.omemo_capable
        if account == self.account:
            self._refresh_lists()
            if room.jid == self.peer:
                self.peer_name.setText(self._title(room.jid))
                self._update_peer_status()
                self._update_encryption_button()
                self._show_participants(room)
                if room.omemo_capable and self.chat_banner.kind == "warning":
                    self.chat_banner.clear()  # the "OMEMO unavailable" note no longer holds

    def _sync_rooms(self, account: str) -> None:
        """Take the service's rooms (autojoin from bookmarks happens in the background)."""
        if self.messenger is None:
            return
        for room in self.messenger.rooms(account):
            self._store_room(account, room)

    def open_join_room(self, room: str = "") -> JoinRoomDialog | None:
        if self.messenger is None or self.account is None:
            return None
        account = self.account
        from .rooms import JoinRoomDialog

        dialog = JoinRoomDialog(self.messenger, self.runner, account, room or "", self)
        dialog.joined.connect(lambda r: self._store_room(account, r))
        dialog.accepted.connect(
            lambda: (
                self._open_room(account, dialog.result_room.jid)
                if dialog.result_room is not None
                else None
            )
        )
        dialog.open()
        return dialog

    def _open_room(self, account: str, room: str) -> None:
        if account != self.account:
            self.reload_accounts(select=account)
        self.tabs.setCurrentWidget(self.room_list)
        self.open_chat(room)

    def open_invite(self) -> InviteDialog | None:
        room = self._room(self.peer or "")
        if self.messenger is None or self.account is None or room is None:
            return None
        account = self.account
        contacts = list(self.contacts.get(account, {}).values())
        from .rooms import InviteDialog

        dialog = InviteDialog(self.messenger, self.runner, account, room, contacts, self)
        dialog.invited.connect(lambda r: self._store_room(account, r))
        dialog.open()
        return dialog

    def open_room_settings(self) -> RoomSettingsDialog | None:
        room = self._room(self.peer or "")
        if self.messenger is None or self.account is None or room is None:
            return None
        account = self.account
        from .rooms import RoomSettingsDialog

        dialog = RoomSettingsDialog(self.messenger, self.runner, self.settings, account, room, self)
        dialog.updated.connect(lambda r: self._store_room(account, r))
        dialog.renamed.connect(lambda _jid, _name: self._on_room_renamed())
        dialog.left.connect(lambda jid: self._on_room_left(account, jid))
        dialog.open()
        return dialog

    def _on_room_renamed(self) -> None:
        self._refresh_lists()
        if self.peer is not None:
            self.peer_name.setText(self._title(self.peer))

    def _on_room_left(self, account: str, room: str) -> None:
        self.rooms.get(account, {}).pop(room, None)
        self.activity.pop((account, room), None)
        self.unread.pop((account, room), None)
        if (account, room) == (self.account, self.peer):
            self.peer = None
            if self._participants is not None:
                self._participants.hide()
            self._show_welcome("You left the group chat.", False)
        self._refresh_lists()
        self._update_room_actions()

    def open_member_page(self, jid: str) -> ContactPage | None:
        """A room member's devices with trust switches: the same page as for a contact."""
        if self.messenger is None or self.account is None:
            return None
        from omemo_desktop.service.api import ContactView

        contact = self._contact(jid) or ContactView(jid=jid, name="", subscription="none")
        from .pages import ContactPage

        page = ContactPage(
            self.messenger,
            self.runner,
            self.account,
            contact,
            self.encrypt.get((self.account, jid), True),
            self,
        )
        page.encryption_toggled.connect(
            lambda j, mode: self.request_encryption(
                j, mode == "omemo", lambda: page.set_encrypt(True)
            )
        )
        page.finished.connect(lambda _r: self.participants.refresh_trust())
        page.open()
        return page

    def _schedule_member_refresh(self) -> None:
        """A message in the open room may follow a trust decision made by policy (blind,
        TOFU), which raises no event: refresh the members' trust, at most every 3 s."""
        if not self._member_timer.isActive() and self._participants_shown():
            self._member_timer.start()

    def _on_member_timer_timeout(self) -> None:
        if self._participants_shown():
            self.participants.refresh_trust()

    def _on_participants_remove_requested(self, jid: str) -> None:
        room = self._room(self.peer or "")
        if self.messenger is None or self.account is None or room is None:
            return
        account = self.account
        self.runner.run(
            self.messenger.remove_from_room(account, room.jid, jid),
            on_result=lambda r: self._store_room(account, r),
            on_error=lambda text, _e: self.chat_banner.show_text(
                "danger", f"{jid} was not removed: {text}"
            ),
        )

    def _on_bridge_room_members_changed(self, event: RoomMembersChanged) -> None:
        self._sync_rooms(event.account)  # a room joined in the background shows up here
        room = self._room(event.room, event.account)
        if room is not None:
            self._store_room(event.account, replace(room, members=event.members))

    def _on_bridge_room_invitation_received(self, event: RoomInvitationReceived) -> None:
        key = (event.account, event.room)
        if key in self.invitation_dialogs or self._room(event.room, event.account):
            return
        from .rooms import InvitationDialog

        dialog = InvitationDialog(event.account, event.room, event.inviter, self)
        self.invitation_dialogs[key] = dialog

        def answered(room: str, answer: str) -> None:
            if self.messenger is None:
                return
            if answer == "decline":  # XEP-0045: the room tells the inviter
                self.runner.run(
                    self.messenger.decline_invitation(
                        event.account, room, event.inviter, dialog.reason.text().strip()
                    ),
                    on_error=lambda text, _e: self.show_error(text),
                )
                return
            self.runner.run(
                self.messenger.join_room(event.account, room),
                on_result=lambda r: self._on_invitation_joined(event.account, r),
                on_error=lambda text, _e: self.show_error(f"Could not join {room}: {text}"),
            )

        dialog.answered.connect(answered)
        dialog.finished.connect(lambda _r: self.invitation_dialogs.pop(key, None))
        dialog.show()
        dialog.raise_()
        if not self.isActiveWindow() and self.tray is not None:
            self.tray.showMessage(
                "Group chat invitation",
                f"{event.inviter} invites you to {event.room}",
                icons.app_icon(),
                5000,
            )

    def _on_bridge_room_renamed(self, event: RoomRenamed) -> None:
        room = self._room(event.room, event.account)
        if room is not None:
            self._store_room(event.account, replace(room, name=event.name))

    def _on_bridge_room_invitation_declined(self, event: RoomInvitationDeclined) -> None:
        text = f"{event.invitee} declined your invitation to {event.room}"
        text += f": “{event.reason}”" if event.reason else "."
        self.statusBar().showMessage(text, 15000)
        if self._is_open(event.account, event.room):
            self.chat_banner.show_text("info", text)

    def _on_invitation_joined(self, account: str, room: RoomView) -> None:
        self._store_room(account, room)
        self._open_room(account, room.jid)

    # ----------------------------------------------------------------- dialogs

    def show_error(self, text: str) -> None:
        self.statusBar().showMessage(text, 15000)
        if self.stack.currentWidget() is self.chat_page:
            self.chat_banner.show_text("danger", text)

    def open_add_account(self) -> AddAccountDialog | None:
        if self.messenger is None:
            return None
        from .dialogs import AddAccountDialog

        dialog = AddAccountDialog(self.messenger, self.runner, self)
        dialog.account_added.connect(lambda jid: self.reload_accounts(select=jid))
        dialog.open()
        return dialog

    def open_add_contact(self) -> AddContactDialog | None:
        if self.messenger is None or self.account is None:
            return None
        from .dialogs import AddContactDialog

        dialog = AddContactDialog(self.messenger, self.runner, self.account, self)
        dialog.open()
        return dialog

    def open_search(self) -> SearchDialog | None:
        if self.messenger is None or self.account is None:
            return None
        from .dialogs import SearchDialog

        dialog = SearchDialog(self.messenger, self.runner, self.account, self)
        dialog.result_chosen.connect(lambda m: self.open_chat(m.peer))
        dialog.open()
        return dialog

    def open_contact_page(self) -> ContactPage | None:
        if self.messenger is None or self.account is None or self.peer is None:
            return None
        from omemo_desktop.service.api import ContactView

        contact = self._contact(self.peer) or ContactView(
            jid=self.peer, name="", subscription="none"
        )
        from .pages import ContactPage

        page = ContactPage(
            self.messenger,
            self.runner,
            self.account,
            contact,
            self.encrypt.get((self.account, self.peer), True),
            self,
        )
        page.encryption_toggled.connect(
            lambda jid, mode: self.request_encryption(
                jid, mode == "omemo", lambda: page.set_encrypt(True)
            )
        )
        page.open()
        return page

    def open_own_devices(self) -> OwnDevicesPage | None:
        if self.messenger is None or self.account is None:
            return None
        from .pages import OwnDevicesPage

        page = OwnDevicesPage(self.messenger, self.runner, self.account, self)
        page.open()
        return page

    def open_verification_uri(self, uri: str) -> VerificationUriDialog | None:
        if self.messenger is None or self.account is None:
            return None
        from .dialogs import VerificationUriDialog

        dialog = VerificationUriDialog(self.messenger, self.runner, self.account, uri, self)
        dialog.open()
        return dialog

    def _open_about(self) -> None:
        from .about import open_about

        open_about(self)

    def open_settings(self) -> SettingsDialog:
        from .dialogs import SettingsDialog

        dialog = SettingsDialog(self.settings, self)
        dialog.accepted.connect(self._on_settings_saved)
        dialog.open()
        return dialog

    def _on_settings_saved(self) -> None:
        if self.messenger is None:
            return
        policy = str(self.settings.value("trust_policy"))
        for account in self.messenger.accounts():  # the policy is for every account
            self.runner.run(self.messenger.set_trust_policy(account, policy))

    def open_uri(self, uri: str) -> None:
        """An xmpp: link (command line, a second launch): see ui/links.py."""
        from .links import open_uri

        open_uri(self, uri)

    def _raise(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def _quit(self) -> None:
        self.close()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "chat"):  # light/dark
            self.chat.refresh_palette()
            self._refresh_lists()
            if self._participants is not None:
                self._participants.repaint_icons()
            self._update_encryption_button()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.bridge is not None:
            self.bridge.detach()
        if self.tray is not None:
            self.tray.hide()
        super().closeEvent(event)
        emit(self.quit_requested)

    def show_message_box(self, title: str, text: str) -> None:
        QMessageBox.warning(self, title, text)
