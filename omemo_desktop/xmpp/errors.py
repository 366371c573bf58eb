"""Errors of the XMPP layer (mapped to readable service errors by the service)."""

from __future__ import annotations


class XmppError(Exception):
    """Root of the XMPP layer's errors."""


class XmppConnectError(XmppError):
    """The server could not be reached or the stream could not be set up."""


class XmppAuthError(XmppConnectError):
    """The server rejected the credentials."""


class XmppCertificateError(XmppConnectError):
    """The server's certificate did not verify."""


class XmppRegistrationError(XmppConnectError):
    """In-band registration failed (taken user name, registration closed, ...)."""


class XmppTimeout(XmppError):
    """No answer in time."""


class XmppNotConnected(XmppError):
    """The operation needs a connection and there is none right now."""


class XmppStanzaError(XmppError):
    """The server or peer answered with an error stanza."""

    def __init__(self, condition: str, text: str = "") -> None:
        super().__init__(f"{condition}: {text}" if text else condition)
        self.condition = condition
        self.text = text
