"""xmpp: URIs (RFC 5122 and the XMPP URI query types), as links and command lines give them.

    xmpp:bob@example.org                               open a chat
    xmpp:bob@example.org?message;body=Hi%20there       a chat with a draft (never sent unasked)
    xmpp:room@muc.example.org?join                     join a group chat
    xmpp:bob@example.org?roster;name=Bob;group=Friends add a contact (also ?subscribe)
    xmpp:bob@example.org?omemo-sid-123=FP;...          OMEMO verification (service/verification.py)
    xmpp:bob@example.org?trust-message;encryption=urn:xmpp:omemo:2;trust=KEY;distrust=KEY
                                                       XEP-0434 trust message (Kaidan)
    xmpp://me@example.org/bob@example.org?message      the authority names our account to use

Pure: no I/O, no Qt. Unknown query types open a chat, as RFC 5122 asks (ignore what is not
understood). Bad input raises ServiceError with a sentence a user can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import unquote

from .errors import ServiceError

MAX_URI_LENGTH = 8192  # a link is typed or clicked, never megabytes
# Query types we act on; anything else is a plain address (RFC 5122 section 2.5).
ACTIONS = {"message", "join", "roster", "subscribe", "trust-message"}
_JID = re.compile(r"^(?:([^@/\s\"&'<>:]+)@)?([^@/\s]+?)(?:/(.+))?$")


@dataclass(frozen=True)
class XmppUri:
    """One parsed link. `action` is chat | message | join | roster | verify | trust."""

    jid: str  # bare JID, lower-cased (a resource, if any, is in `resource`)
    action: str = "chat"
    account: str = ""  # from xmpp://account/...: the local account the link is meant for
    resource: str = ""
    body: str = ""  # ?message
    subject: str = ""  # ?message
    name: str = ""  # ?roster / ?subscribe
    group: str = ""  # ?roster
    password: str = ""  # ?join (password-protected rooms)
    devices: tuple[tuple[int, str], ...] = ()  # verify: (device id, 64-hex fingerprint)
    trust: tuple[str, ...] = ()  # trust-message: fingerprints to trust
    distrust: tuple[str, ...] = ()  # trust-message: fingerprints to distrust
    encryption: str = ""  # trust-message: the encryption namespace
    text: str = ""  # the URI as given (verification hands it to the service as is)


def _split_jid(text: str, what: str) -> tuple[str, str]:
    decoded = unquote(text, errors="strict")
    m = _JID.match(decoded)
    if m is None:
        raise ServiceError(f"The link{what} “{decoded}” is not an XMPP address.")
    node, domain, resource = m.group(1), m.group(2), m.group(3) or ""
    bare = f"{node}@{domain}" if node else domain
    return bare.lower(), resource


def _params(query: str) -> list[tuple[str, str]]:
    """key=value pairs; ';' is RFC 5122's separator, '&' is seen in the wild too."""
    pairs: list[tuple[str, str]] = []
    for part in re.split("[;&]", query):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((unquote(key).strip().lower(), unquote(value, errors="replace")))
    return pairs


def parse_xmpp_uri(uri: str) -> XmppUri:
    text = uri.strip()
    if len(text) > MAX_URI_LENGTH:
        raise ServiceError("The link is too long to be an xmpp: link.")
    if not text.lower().startswith("xmpp:"):
        raise ServiceError(f"“{text[:80]}” is not an xmpp: link (xmpp:name@example.org).")
    rest = text[5:]
    path, _, query = rest.partition("?")
    query = query.partition("#")[0]  # a fragment means nothing to us
    account = ""
    if path.startswith("//"):
        authority, slash, path = path[2:].partition("/")
        if not slash:
            raise ServiceError("The link names an account but no address to open.")
        account, _ = _split_jid(authority, "'s account")
    try:
        jid, resource = _split_jid(path, "'s address")
    except UnicodeDecodeError as exc:
        raise ServiceError("The address in the link is not valid UTF-8.") from exc

    querytype, _, params_text = query.partition(";") if query else ("", "", "")
    if "=" in querytype:  # no query type: the OMEMO verification format, params only
        querytype, params_text = "", query
    querytype = unquote(querytype).strip().lower()
    params = _params(params_text)
    base = XmppUri(jid=jid, account=account, resource=resource, text=text)

    if any(key.startswith("omemo-sid-") for key, _ in params):
        return _verification(base, querytype, params_text)
    if querytype == "trust-message":
        return _trust_message(base, params)
    first: dict[str, str] = {}
    for key, value in params:
        first.setdefault(key, value)
    if querytype == "message":
        return replace(
            base, action="message", body=first.get("body", ""), subject=first.get("subject", "")
        )
    if querytype == "join":
        if "@" not in jid:
            raise ServiceError(f"“{jid}” is a server, not a group chat: the link cannot be joined.")
        return replace(base, action="join", password=first.get("password", ""))
    if querytype in ("roster", "subscribe"):
        return replace(
            base, action="roster", name=first.get("name", ""), group=first.get("group", "")
        )
    return base


def _verification(base: XmppUri, querytype: str, params_text: str) -> XmppUri:
    # The one parser of omemo-sid-* lives with the code that applies it.
    from .verification import parse_verification_uri

    text = base.text
    if querytype or base.account:  # e.g. ?message;omemo-sid-...: keep only the params
        text = f"xmpp:{base.jid}?{params_text}"
    _, devices = parse_verification_uri(text)
    return replace(base, action="verify", devices=tuple(devices), text=text)


def _trust_message(base: XmppUri, params: list[tuple[str, str]]) -> XmppUri:
    from .verification import _key_to_fp

    encryption = next((value for key, value in params if key == "encryption"), "")
    if encryption and not encryption.startswith(("urn:xmpp:omemo:", "eu.siacs.conversations")):
        raise ServiceError(f"The trust link is for {encryption}, not OMEMO; nothing to do here.")
    trust = tuple(_key_to_fp(value) for key, value in params if key == "trust")
    distrust = tuple(_key_to_fp(value) for key, value in params if key == "distrust")
    if not trust and not distrust:
        raise ServiceError("The trust link names no key to trust or distrust.")
    return replace(base, action="trust", trust=trust, distrust=distrust, encryption=encryption)


__all__ = ["XmppUri", "parse_xmpp_uri"]
