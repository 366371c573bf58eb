"""What an xmpp: link does in the window (the parsing is service.api.parse_xmpp_uri's).

A link may come from anywhere (a web page, a second launch), so nothing happens without the
user: a ?message link fills the composer but does not send, ?roster and ?join open their
dialogs filled in, verification links open the verification dialog for the user to confirm.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from omemo_desktop.service.api import ServiceError, XmppUri, parse_xmpp_uri

if TYPE_CHECKING:
    from .main_window import MainWindow


def open_uri(window: MainWindow, text: str) -> XmppUri | None:
    """Act on one link; problems are shown in the window. Returns the parsed link."""
    try:
        uri = parse_xmpp_uri(text)
    except ServiceError as error:
        window.show_error(f"This link cannot be opened: {error}")
        return None
    if window.messenger is None or window.account is None:
        window.show_error("Add your XMPP account first, then open the link again.")
        return uri
    _use_account(window, uri.account)
    if uri.action in ("verify", "trust"):
        window.open_verification_uri(uri.text)
    elif uri.action == "roster":
        dialog = window.open_add_contact()
        if dialog is not None:
            dialog.jid.setText(uri.jid)
            dialog.name.setText(uri.name)
    elif uri.action == "join":
        window.open_join_room(uri.jid)
    elif "@" not in uri.jid:
        window.show_error(f"{uri.jid} is a server, not someone to chat with.")
    else:
        window.open_chat(uri.jid)
        if uri.action == "message" and uri.body and not window.composer.toPlainText().strip():
            window.composer.setPlainText(uri.body)  # a draft: the user decides to send it
            window.composer.moveCursor(window.composer.textCursor().MoveOperation.End)
    return uri


def _use_account(window: MainWindow, account: str) -> None:
    """xmpp://me@example.org/...: switch to that account when it is one of ours."""
    if not account or account == window.account:
        return
    index = window.account_box.findData(account)
    if index >= 0:
        window.account_box.setCurrentIndex(index)


__all__ = ["open_uri"]
