"""Group chats: join or create a room, invitations, inviting a contact, room settings and the
participants panel with every member's trust state (XEP-0045 rooms, OMEMO per XEP-0384 §5.8)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSettings, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPainter, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from omemo_desktop.service.api import ContactView, DeviceView, MessengerApi, RoomView

from . import icons
from .qt_compat import emit
from .tasks import TaskRunner
from .values import check_jid
from .widgets import Banner, Busy

OMEMO_IN_ROOMS = (
    "Messages in a group chat can be end-to-end encrypted with OMEMO only when the room is "
    "<b>members-only</b> and <b>non-anonymous</b>: your app has to know the real address of "
    "every member to find their devices and encrypt each message for all of them, and only "
    "members may read along. A room you create here is set up that way; then invite people "
    "to it."
)


def room_title(room: RoomView, local_name: str = "") -> str:
    return local_name or room.name or room.jid.split("@", 1)[0]


def omemo_unavailable_text(room: RoomView) -> str:
    """Why a room cannot use OMEMO, and what would change that."""
    return (
        f"{room_title(room)} is open to anyone or hides its members' addresses, so OMEMO "
        "cannot be used here: nobody can know whose devices a message would have to be "
        "encrypted for. Messages in this room are not end-to-end encrypted; the server "
        "and its admins can read them. Ask the room's owner to make it members-only and "
        "non-anonymous if you need encryption."
    )


def room_status(room: RoomView, *, with_nick: bool = True) -> str:
    count = len(room.members)
    members = f"{count} member{'s' if count != 1 else ''}"
    enc = "encrypted (OMEMO)" if room.omemo_capable else "not encrypted"
    return f"{members} · {enc}" + (f" · you are {room.nick}" if with_nick else "")


def nick_of(sender: str | None) -> str:
    """The nickname part of an occupant JID (room@service/nick)."""
    if not sender:
        return ""
    return sender.split("/", 1)[1] if "/" in sender else sender


def trust_summary(devices: list[DeviceView]) -> tuple[str, str]:
    """(lock state, sentence) for one member: what their devices' trust means for a message."""
    if not devices:
        return "none", "No OMEMO devices seen yet; gets no encrypted messages"
    undecided = [d for d in devices if d.trust == "undecided"]
    usable = [d for d in devices if d.trust in ("trusted", "verified")]
    distrusted = len(devices) - len(undecided) - len(usable)
    if undecided:
        n = len(undecided)
        return "untrusted", f"{n} new device{'s' if n != 1 else ''} to decide about"
    if not usable:
        return "untrusted", "No trusted device; gets no keys"
    lock = "verified" if all(d.trust == "verified" for d in usable) else "trusted"
    word = "verified" if lock == "verified" else "trusted"
    text = f"{len(usable)} {word} device{'s' if len(usable) != 1 else ''}"
    if distrusted:
        text += f", {distrusted} not trusted"
    return lock, text


def member_icon(jid: str, name: str, lock: str | None, size: int = 30) -> QIcon:
    """The member's XEP-0392 avatar with a small lock telling their devices' trust."""
    pm = icons.avatar_pixmap(jid, name, size)
    if lock is not None:
        badge = size * 0.5
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QApplication.palette().color(QPalette.ColorRole.Base))
        p.drawEllipse(QRectF(size - badge - 1, size - badge - 1, badge + 1, badge + 1))
        inner = icons.lock_pixmap(lock, int(badge * 0.8))
        offset = size - badge * 0.9 - 1
        p.drawPixmap(int(offset), int(offset), inner)
        p.end()
    return QIcon(pm)


class JoinRoomDialog(QDialog):
    """Join a room, or create it (members-only, non-anonymous) when it does not exist."""

    joined = Signal(object)  # RoomView

    def __init__(
        self,
        messenger: MessengerApi,
        runner: TaskRunner,
        account: str,
        room: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.messenger, self.runner, self.account = messenger, runner, account
        self.result_room: RoomView | None = None
        self.setWindowTitle("Join or create a group chat")
        self.setAccessibleName("Join or create a group chat")
        self.setMinimumWidth(500)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Enter the address of a group chat to join it. If no room has that address yet, "
            "it is created with you as its owner."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.room = QLineEdit(room)
        self.room.setPlaceholderText(f"team@conference.{account.split('@', 1)[-1]}")
        self.room.setAccessibleName("Group chat address")
        self.nick = QLineEdit(account.split("@", 1)[0])
        self.nick.setAccessibleName("Your nickname in the group chat")
        form.addRow("&Address:", self.room)
        form.addRow("&Nickname:", self.nick)
        layout.addLayout(form)
        self.explain = QLabel(OMEMO_IN_ROOMS)
        self.explain.setWordWrap(True)
        self.explain.setObjectName("omemoRoomsHint")
        self.explain.setForegroundRole(self.explain.foregroundRole())
        layout.addWidget(self.explain)
        self.banner = Banner(self)
        layout.addWidget(self.banner)
        self.busy = Busy(self)
        layout.addWidget(self.busy)
        buttons = QDialogButtonBox()
        self.ok = buttons.addButton("Join", QDialogButtonBox.ButtonRole.ActionRole)
        self.ok.setAccessibleName("Join or create the group chat")
        self.ok.setDefault(True)
        self.cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel.setAccessibleName("Cancel")
        self.ok.clicked.connect(self._on_ok_clicked)
        self.cancel.clicked.connect(self.reject)
        layout.addWidget(buttons)

    def _on_ok_clicked(self) -> None:
        if self.result_room is not None:  # already joined; the button now opens it
            self.accept()
            return
        room = self.room.text().strip().lower()
        problem = check_jid(room)
        if problem is not None:
            problem = problem.replace("alice@example.org", "team@conference.example.org")
            problem = problem.replace("name@example.org", "room@conference.example.org")
        if problem is None and not self.nick.text().strip():
            problem = "Choose a nickname; the other members see it next to your messages."
        if problem is not None:
            self.banner.show_text("danger", problem)
            return
        self.banner.clear()
        for w in (self.room, self.nick, self.ok):
            w.setEnabled(False)
        self.busy.start(f"Joining {room}…")
        self.runner.run(
            self.messenger.join_room(self.account, room, self.nick.text().strip()),
            on_result=self._on_joined,
            on_error=self._on_failed,
        )

    def _on_joined(self, room: RoomView) -> None:
        self.busy.stop()
        self.result_room = room
        emit(self.joined, room)
        if room.omemo_capable:
            self.accept()
            return
        # Stay open: the person must learn why this room's messages are not encrypted.
        self.banner.show_text(
            "warning", "Joined, but without encryption. " + (omemo_unavailable_text(room))
        )
        self.ok.setText("Open the group chat")
        self.ok.setAccessibleName("Open the group chat")
        self.ok.setEnabled(True)
        self.cancel.hide()

    def _on_failed(self, text: str, _error: BaseException) -> None:
        self.busy.stop()
        for w in (self.room, self.nick, self.ok):
            w.setEnabled(True)
        self.banner.show_text("danger", text)


class InvitationDialog(QDialog):
    """Someone invited us to a room: join it or decline."""

    answered = Signal(str, str)  # room, "join" | "decline" (no bool: see qt_compat.py)

    def __init__(self, account: str, room: str, inviter: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.room = room
        self.setWindowTitle("Group chat invitation")
        self.setMinimumWidth(460)
        self.setAccessibleName(f"Invitation to {room} from {inviter}")
        layout = QVBoxLayout(self)
        text = QLabel(
            f"<b>{inviter}</b> invites you ({account}) to the group chat <b>{room}</b>. "
            "Join only if you know them. If the room is members-only and non-anonymous, its "
            "messages are end-to-end encrypted with OMEMO; you will see new members' devices "
            "before anything is encrypted for them."
        )
        text.setWordWrap(True)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(text)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Optional: a few words sent with a decline")
        self.reason.setAccessibleName(f"Reason told to {inviter} if you decline")
        layout.addWidget(self.reason)
        buttons = QDialogButtonBox()
        self.join = buttons.addButton("Join", QDialogButtonBox.ButtonRole.AcceptRole)
        self.join.setAccessibleName(f"Join {room}")
        self.decline = buttons.addButton("Decline", QDialogButtonBox.ButtonRole.RejectRole)
        self.decline.setAccessibleName(f"Decline the invitation to {room} and tell {inviter}")
        self.join.clicked.connect(lambda: self._answer("join"))
        self.decline.clicked.connect(lambda: self._answer("decline"))
        layout.addWidget(buttons)

    def _answer(self, answer: str) -> None:
        emit(self.answered, self.room, answer)
        self.accept() if answer == "join" else self.reject()


class InviteDialog(QDialog):
    """Invite a contact: they become a member and receive the keys of every later message."""

    invited = Signal(object)  # RoomView

    def __init__(
        self,
        messenger: MessengerApi,
        runner: TaskRunner,
        account: str,
        room: RoomView,
        contacts: list[ContactView],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.messenger, self.runner, self.account, self.room = messenger, runner, account, room
        self.setWindowTitle(f"Invite to {room_title(room)}")
        self.setAccessibleName(f"Invite a contact to {room.jid}")
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        self.who = QComboBox()
        self.who.setEditable(True)
        self.who.setAccessibleName("Contact to invite")
        for c in sorted(contacts, key=lambda c: (c.name or c.jid).lower()):
            if c.jid not in room.members:
                self.who.addItem(f"{c.name} <{c.jid}>" if c.name else c.jid, c.jid)
        self.who.setCurrentIndex(-1)
        line = self.who.lineEdit()
        if line is not None:
            line.setPlaceholderText("bob@example.org")
        form = QFormLayout()
        form.addRow("&Contact:", self.who)
        layout.addLayout(form)
        note = QLabel(
            "They become a member of the room and get an invitation. From the next message "
            "on, messages are also encrypted for their devices"
            + ("." if room.omemo_capable else " (this room cannot use OMEMO).")
        )
        note.setWordWrap(True)
        layout.addWidget(note)
        self.banner = Banner(self)
        layout.addWidget(self.banner)
        self.busy = Busy(self)
        layout.addWidget(self.busy)
        buttons = QDialogButtonBox()
        self.ok = buttons.addButton("Invite", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setAccessibleName("Invite")
        cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName("Cancel")
        self.ok.clicked.connect(self._on_ok_clicked)
        cancel.clicked.connect(self.reject)
        layout.addWidget(buttons)

    def chosen_jid(self) -> str:
        index = self.who.currentIndex()
        text = self.who.currentText().strip()
        if index >= 0 and self.who.itemText(index) == text:
            return str(self.who.itemData(index))
        return text.rsplit("<", 1)[-1].rstrip(">").strip().lower()

    def _on_ok_clicked(self) -> None:
        jid = self.chosen_jid()
        problem = check_jid(jid)
        if problem is None and jid in self.room.members:
            problem = f"{jid} is already a member of this room."
        if problem is not None:
            self.banner.show_text("danger", problem)
            return
        self.ok.setEnabled(False)
        self.busy.start(f"Inviting {jid}…")
        self.runner.run(
            self.messenger.invite_to_room(self.account, self.room.jid, jid),
            on_result=self._on_invited,
            on_error=self._on_failed,
        )

    def _on_invited(self, room: RoomView) -> None:
        self.busy.stop()
        emit(self.invited, room)
        self.accept()

    def _on_failed(self, text: str, _error: BaseException) -> None:
        self.busy.stop()
        self.ok.setEnabled(True)
        self.banner.show_text("danger", text)


def local_room_name(settings: QSettings, account: str, room: str) -> str:
    return str(settings.value(f"room_names/{account}/{room}", "") or "")


class RoomSettingsDialog(QDialog):
    """The room's name (for every member; owners only), its address and encryption, and
    leaving it."""

    left = Signal(str)  # room JID
    renamed = Signal(str, str)  # room JID, name
    updated = Signal(object)  # RoomView after a rename

    def __init__(
        self,
        messenger: MessengerApi,
        runner: TaskRunner,
        settings: QSettings,
        account: str,
        room: RoomView,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.messenger, self.runner, self.settings = messenger, runner, settings
        self.account, self.room = account, room
        self.confirm: QMessageBox | None = None
        self.setWindowTitle(f"{room_title(room)} — group chat settings")
        self.setAccessibleName(f"Settings of the group chat {room.jid}")
        self.setMinimumWidth(500)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.name = QLineEdit(room.name)
        self.name.setPlaceholderText(room_title(room))
        self.name.setAccessibleName("Name of the group chat")
        self.name.setToolTip(
            "The room's name for every member and on all your devices. Only the room's "
            "owners can change it."
        )
        address = QLabel(room.jid)
        address.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("&Name:", self.name)
        form.addRow("Address:", address)
        form.addRow("Your nickname:", QLabel(room.nick))
        form.addRow("Members:", QLabel(str(len(room.members))))
        enc = QLabel(
            "End-to-end encrypted with OMEMO (members-only, non-anonymous room)."
            if room.omemo_capable
            else omemo_unavailable_text(room)
        )
        enc.setWordWrap(True)
        form.addRow("Encryption:", enc)
        layout.addLayout(form)
        self.banner = Banner(self)
        layout.addWidget(self.banner)
        self.busy = Busy(self)
        layout.addWidget(self.busy)
        row = QHBoxLayout()
        self.leave = QPushButton("Leave group chat…")
        self.leave.setAccessibleName(f"Leave {room.jid}")
        self.leave.setStyleSheet(f"color: {icons.RED.name()};")
        self.leave.clicked.connect(self._on_leave_clicked)
        row.addWidget(self.leave)
        row.addStretch(1)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Save).setAccessibleName("Save")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        buttons.accepted.connect(self._on_save_clicked)
        buttons.rejected.connect(self.reject)
        self.save = buttons.button(QDialogButtonBox.StandardButton.Save)
        row.addWidget(buttons)
        layout.addLayout(row)

    def _on_save_clicked(self) -> None:
        name = self.name.text().strip()
        if name == self.room.name:
            self.accept()  # nothing changed
            return
        # The room's own name (XEP-0045 config) and our synced bookmark, not a local label.
        self.banner.clear()
        self.save.setEnabled(False)
        self.busy.start(f"Renaming {self.room.jid}…")
        self.runner.run(
            self.messenger.rename_room(self.account, self.room.jid, name),
            on_result=self._on_renamed,
            on_error=lambda text, _e: self._on_rename_failed(text),
        )

    def _on_renamed(self, room: RoomView) -> None:
        self.busy.stop()
        self.settings.remove(f"room_names/{self.account}/{self.room.jid}")  # an old local name
        self.settings.sync()
        self.room = room
        emit(self.updated, room)
        emit(self.renamed, room.jid, room.name)
        self.accept()

    def _on_rename_failed(self, text: str) -> None:
        self.busy.stop()
        self.save.setEnabled(True)
        self.banner.show_text("danger", text)

    def _on_leave_clicked(self) -> None:
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Leave the group chat?")
        box.setText(
            f"Leave {room_title(self.room)}? You stop receiving its messages here, and your "
            "devices no longer join it when they start (its bookmark is kept, without "
            "joining). You stay a member until an admin removes you, so you can join it "
            "again later."
        )
        yes = box.addButton("Leave", QMessageBox.ButtonRole.AcceptRole)
        yes.setAccessibleName("Leave")
        no = box.addButton(QMessageBox.StandardButton.Cancel)
        no.setAccessibleName("Cancel")
        box.setDefaultButton(no)
        yes.clicked.connect(self._leave)
        self.confirm = box
        box.open()

    def _leave(self) -> None:
        self.leave.setEnabled(False)
        self.runner.run(
            self.messenger.leave_room(self.account, self.room.jid),
            on_result=lambda _: self._on_left(),
            on_error=lambda text, _e: self._on_leave_failed(text),
        )

    def _on_left(self) -> None:
        emit(self.left, self.room.jid)
        self.accept()

    def _on_leave_failed(self, text: str) -> None:
        self.leave.setEnabled(True)
        self.banner.show_text("danger", text)


class ParticipantsPanel(QWidget):
    """The members of the open room, each with the trust state of their devices."""

    details_requested = Signal(str)  # member JID: opens the contact page with their devices
    invite_requested = Signal()
    remove_requested = Signal(str)  # member JID

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("participants")
        self.setAccessibleName("Group chat members")
        self.messenger: MessengerApi | None = None
        self.runner: TaskRunner | None = None
        self.account = ""
        self.room: RoomView | None = None
        self.names: dict[str, str] = {}
        self.summaries: dict[str, tuple[str, str]] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 0, 0, 0)
        self.title = QLabel("<b>Members</b>")
        layout.addWidget(self.title)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setForegroundRole(self.hint.foregroundRole())
        layout.addWidget(self.hint)
        self.list = QListWidget()
        self.list.setAccessibleName("Members and the trust of their devices")
        self.list.setIconSize(QSize(30, 30))
        self.list.setWordWrap(True)
        self.list.itemActivated.connect(self._on_item_activated)
        self.list.itemDoubleClicked.connect(self._on_item_activated)
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        layout.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.invite = QPushButton("Invite…")
        self.invite.setAccessibleName("Invite a contact to this group chat")
        self.invite.clicked.connect(lambda: emit(self.invite_requested))
        self.details = QPushButton("Devices…")
        self.details.setAccessibleName("Devices and trust of the selected member")
        self.details.clicked.connect(self._on_details_clicked)
        self.remove = QPushButton("Remove")
        self.remove.setAccessibleName("Remove the selected member from the group chat")
        self.remove.setToolTip("They stop getting the keys of new messages at once.")
        self.remove.clicked.connect(self._on_remove_clicked)
        for b in (self.invite, self.details, self.remove):
            row.addWidget(b)
        layout.addLayout(row)
        self.setMinimumWidth(230)
        self._update_buttons()

    def show_room(
        self,
        messenger: MessengerApi,
        runner: TaskRunner,
        account: str,
        room: RoomView,
        names: dict[str, str],
    ) -> None:
        """Show `room`'s members at once; their trust states follow as devices load."""
        same = self.room is not None and (self.account, self.room.jid) == (account, room.jid)
        self.messenger, self.runner, self.account, self.room = messenger, runner, account, room
        self.names = names
        if not same:
            self.summaries.clear()
        self.title.setText(f"<b>Members ({len(room.members)})</b>")
        self.hint.setText(
            "Every member's trusted devices get the keys of each message. Double-click a "
            "member to compare fingerprints and decide about their devices."
            if room.omemo_capable
            else "This room cannot use OMEMO, so nothing is encrypted for these members."
        )
        self._fill()
        self.refresh_trust()

    def _fill(self) -> None:
        if self.room is None:
            return
        selected = self.selected()
        self.list.clear()
        for jid in sorted(self.room.members, key=lambda j: (j != self.account, j)):
            name = self.names.get(jid) or jid
            own = jid == self.account
            if own:
                lock, text = "verified", "You"
            else:
                lock, text = self.summaries.get(jid, ("none", "Checking devices…"))
            label = f"{name}{' (you)' if own else ''}\n{text}"
            shown_lock = lock if self.room.omemo_capable and not own else None
            item = QListWidgetItem(member_icon(jid, name, shown_lock), label)
            item.setData(Qt.ItemDataRole.UserRole, jid)
            item.setData(Qt.ItemDataRole.UserRole + 1, lock)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{name}, {text}")
            item.setToolTip(f"{jid}: {text}")
            self.list.addItem(item)
            if jid == selected:
                self.list.setCurrentItem(item)
        self._update_buttons()

    def repaint_icons(self) -> None:
        """After a light/dark switch: the lock badges are painted against the palette."""
        self._fill()

    def refresh_trust(self) -> None:
        """Fetch each member's devices again (after a trust change or a new member)."""
        if self.room is None or self.messenger is None or self.runner is None:
            return
        if not self.room.omemo_capable:
            for jid in self.room.members:
                self.summaries[jid] = ("none", "Not encrypted in this room")
            self._fill()
            return
        key = (self.account, self.room.jid)
        for jid in self.room.members:
            if jid != self.account:
                self._fetch(key, jid)

    def _fetch(self, key: tuple[str, str], jid: str) -> None:
        assert self.messenger is not None and self.runner is not None

        def loaded(devices: list[DeviceView]) -> None:
            self._on_devices(key, jid, devices)

        def failed(text: str, _error: BaseException) -> None:
            self._on_devices_failed(key, jid, text)

        self.runner.run(self.messenger.devices(self.account, jid), loaded, failed)

    def _current(self, key: tuple[str, str]) -> bool:
        return self.room is not None and (self.account, self.room.jid) == key

    def _on_devices(self, key: tuple[str, str], jid: str, devices: list[DeviceView]) -> None:
        if self._current(key):
            self.summaries[jid] = trust_summary(devices)
            self._fill()

    def _on_devices_failed(self, key: tuple[str, str], jid: str, text: str) -> None:
        if self._current(key):
            self.summaries[jid] = ("untrusted", f"Devices unknown: {text}")
            self._fill()

    def member_text(self, jid: str) -> str:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == jid:
                return item.text()
        return ""

    def selected(self) -> str | None:
        item = self.list.currentItem()
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def _update_buttons(self) -> None:
        jid = self.selected()
        other = jid is not None and jid != self.account
        self.details.setEnabled(other)
        self.remove.setEnabled(other)

    def _on_item_activated(self, item: QListWidgetItem) -> None:
        jid = str(item.data(Qt.ItemDataRole.UserRole))
        if jid != self.account:
            emit(self.details_requested, jid)

    def _on_details_clicked(self) -> None:
        jid = self.selected()
        if jid and jid != self.account:
            emit(self.details_requested, jid)

    def _on_remove_clicked(self) -> None:
        jid = self.selected()
        if jid and jid != self.account:
            emit(self.remove_requested, jid)
