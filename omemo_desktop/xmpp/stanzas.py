"""Parsed forms of the stanzas the service cares about (plain dataclasses, no slixmpp types).

Namespaces are named by their XEPs; parsing works on xml.etree elements so it can be tested
without a connection.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

NS_CLIENT: Final = "jabber:client"
NS_SID: Final = "urn:xmpp:sid:0"  # XEP-0359
NS_RECEIPTS: Final = "urn:xmpp:receipts"  # XEP-0184
NS_MARKERS: Final = "urn:xmpp:chat-markers:0"  # XEP-0333
NS_CHATSTATES: Final = "http://jabber.org/protocol/chatstates"  # XEP-0085
NS_CORRECT: Final = "urn:xmpp:message-correct:0"  # XEP-0308
NS_HINTS: Final = "urn:xmpp:hints"  # XEP-0334
NS_EME: Final = "urn:xmpp:eme:0"  # XEP-0380
NS_DELAY: Final = "urn:xmpp:delay"  # XEP-0203
NS_OMEMO2: Final = "urn:xmpp:omemo:2"
NS_LEGACY: Final = "eu.siacs.conversations.axolotl"
NS_OOB: Final = "jabber:x:oob"  # XEP-0066
NS_MUC_USER: Final = "http://jabber.org/protocol/muc#user"  # XEP-0045
CHAT_STATES: Final = ("active", "composing", "paused", "inactive", "gone")


def q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


@dataclass(frozen=True)
class InboundMessage:
    """A <message/> as received (directly, as a carbon, or from the archive)."""

    sender: str  # full JID of the author
    recipient: str
    type: str
    id: str
    origin_id: str | None
    stanza_id: str | None  # assigned by our own server (by == our bare JID)
    body: str | None
    timestamp: float | None  # from <delay/> or the archive; None = now
    carbon: str | None = None  # "sent" | "received" | None
    archived: bool = False
    receipt_requested: bool = False
    receipt_for: str | None = None
    displayed_for: str | None = None
    markable: bool = False
    chat_state: str | None = None
    replace_id: str | None = None
    encrypted: ET.Element | None = field(default=None, compare=False, repr=False)
    oob_url: str | None = None
    muc_real_jid: str | None = None  # from <x xmlns=muc#user><item jid=.../> (archives)
    invite_room: str | None = None  # an invitation (XEP-0045 mediated or XEP-0249 direct)
    invite_from: str | None = None  # who invited (a mediated invitation comes from the room)
    decline_from: str | None = None  # an invitee declined our invitation (XEP-0045 §7.8.2)
    decline_reason: str = ""
    muc_status: tuple[str, ...] = ()  # status codes from the room itself (104: config changed)


def _parse_time(stamp: str | None) -> float | None:
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def parse_message(
    xml: ET.Element,
    own_bare: str,
    *,
    carbon: str | None = None,
    archived: bool = False,
    archive_id: str | None = None,
    archive_time: str | None = None,
) -> InboundMessage:
    """Extract the fields we use from a message element (namespace jabber:client)."""

    def child(ns: str, tag: str) -> ET.Element | None:
        return xml.find(q(ns, tag))

    body_el = xml.find(q(NS_CLIENT, "body"))
    origin = child(NS_SID, "origin-id")
    stanza_id = archive_id
    if stanza_id is None:
        # Only ids stamped by our own server, or by the room for group messages, are unique.
        trusted_by = {own_bare}
        if xml.get("type") == "groupchat":
            trusted_by.add(xml.get("from", "").split("/")[0])
        for el in xml.findall(q(NS_SID, "stanza-id")):
            if el.get("by") in trusted_by:
                stanza_id = el.get("id")
    delay = child(NS_DELAY, "delay")
    timestamp = _parse_time(archive_time) or _parse_time(
        delay.get("stamp") if delay is not None else None
    )
    received = child(NS_RECEIPTS, "received")
    displayed = child(NS_MARKERS, "displayed")
    replace = child(NS_CORRECT, "replace")
    chat_state = next((s for s in CHAT_STATES if xml.find(q(NS_CHATSTATES, s)) is not None), None)
    encrypted = child(NS_OMEMO2, "encrypted")
    if encrypted is None:
        encrypted = child(NS_LEGACY, "encrypted")
    oob = xml.find(f"{q(NS_OOB, 'x')}/{q(NS_OOB, 'url')}")
    muc_item = xml.find(f"{q(NS_MUC_USER, 'x')}/{q(NS_MUC_USER, 'item')}")
    real = muc_item.get("jid") if muc_item is not None else None
    invite_room = invite_from = None
    mediated = xml.find(f"{q(NS_MUC_USER, 'x')}/{q(NS_MUC_USER, 'invite')}")
    if mediated is not None:
        invite_room = xml.get("from", "").split("/")[0]
        invite_from = mediated.get("from") or None
    declined = xml.find(f"{q(NS_MUC_USER, 'x')}/{q(NS_MUC_USER, 'decline')}")
    decline_reason = declined.findtext(q(NS_MUC_USER, "reason"), "") if declined is not None else ""
    direct = xml.find(q("jabber:x:conference", "x"))
    if direct is not None and direct.get("jid"):
        invite_room = direct.get("jid", "").split("/")[0]
    return InboundMessage(
        sender=xml.get("from", ""),
        recipient=xml.get("to", ""),
        type=xml.get("type", "normal"),
        id=xml.get("id", ""),
        origin_id=origin.get("id") if origin is not None else None,
        stanza_id=stanza_id,
        body=body_el.text if body_el is not None else None,
        timestamp=timestamp,
        carbon=carbon,
        archived=archived,
        receipt_requested=child(NS_RECEIPTS, "request") is not None,
        receipt_for=received.get("id") if received is not None else None,
        displayed_for=displayed.get("id") if displayed is not None else None,
        markable=child(NS_MARKERS, "markable") is not None,
        chat_state=chat_state,
        replace_id=replace.get("id") if replace is not None else None,
        encrypted=encrypted,
        oob_url=oob.text if oob is not None else None,
        invite_room=invite_room.lower() if invite_room else None,
        invite_from=invite_from.split("/")[0].lower() if invite_from else None,
        decline_from=(declined.get("from") or "").split("/")[0].lower() or None
        if declined is not None
        else None,
        decline_reason=decline_reason.strip(),
        muc_status=tuple(
            s.get("code", "")
            for s in xml.findall(f"{q(NS_MUC_USER, 'x')}/{q(NS_MUC_USER, 'status')}")
        ),
        muc_real_jid=real.split("/")[0].lower()
        if real and xml.get("type") == "groupchat"
        else None,
    )


@dataclass(frozen=True)
class OutboundMessage:
    """What the service asks the connection to send; extra elements are prebuilt XML."""

    to: str
    id: str
    body: str | None
    type: str = "chat"
    origin_id: str | None = None
    request_receipt: bool = False
    markable: bool = False
    chat_state: str | None = None
    replace_id: str | None = None
    store_hint: bool = False
    extra: tuple[ET.Element, ...] = ()


def build_message(msg: OutboundMessage) -> ET.Element:
    root = ET.Element(q(NS_CLIENT, "message"), {"to": msg.to, "type": msg.type, "id": msg.id})
    if msg.body is not None:
        ET.SubElement(root, q(NS_CLIENT, "body")).text = msg.body
    for el in msg.extra:
        root.append(el)
    if msg.origin_id:
        ET.SubElement(root, q(NS_SID, "origin-id"), {"id": msg.origin_id})
    if msg.request_receipt:
        ET.SubElement(root, q(NS_RECEIPTS, "request"))
    if msg.markable:
        ET.SubElement(root, q(NS_MARKERS, "markable"))
    if msg.chat_state:
        ET.SubElement(root, q(NS_CHATSTATES, msg.chat_state))
    if msg.replace_id:
        ET.SubElement(root, q(NS_CORRECT, "replace"), {"id": msg.replace_id})
    if msg.store_hint:
        ET.SubElement(root, q(NS_HINTS, "store"))
    return root


def receipt(to: str, for_id: str) -> ET.Element:
    root = ET.Element(q(NS_CLIENT, "message"), {"to": to, "type": "chat", "id": for_id + "-r"})
    ET.SubElement(root, q(NS_RECEIPTS, "received"), {"id": for_id})
    return root


def displayed_marker(to: str, for_id: str, msg_id: str) -> ET.Element:
    root = ET.Element(q(NS_CLIENT, "message"), {"to": to, "type": "chat", "id": msg_id})
    ET.SubElement(root, q(NS_MARKERS, "displayed"), {"id": for_id})
    ET.SubElement(root, q(NS_HINTS, "store"))
    return root


def chat_state_message(to: str, state: str, msg_id: str) -> ET.Element:
    root = ET.Element(q(NS_CLIENT, "message"), {"to": to, "type": "chat", "id": msg_id})
    ET.SubElement(root, q(NS_CHATSTATES, state))
    ET.SubElement(root, q(NS_HINTS, "no-store"))
    return root
