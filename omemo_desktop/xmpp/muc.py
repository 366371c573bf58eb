"""Multi-user chat (XEP-0045) and bookmarks (XEP-0402): join, create, configure, affiliation
lists, invitations. Stanzas only; the service decides what to do with them.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Final

from . import pep
from .client import PresenceUpdate, XmppClient
from .errors import XmppError, XmppStanzaError, XmppTimeout
from .stanzas import NS_CLIENT, q

NS_MUC: Final = "http://jabber.org/protocol/muc"
NS_MUC_USER: Final = "http://jabber.org/protocol/muc#user"
NS_MUC_ADMIN: Final = "http://jabber.org/protocol/muc#admin"
NS_MUC_OWNER: Final = "http://jabber.org/protocol/muc#owner"
NS_DISCO_INFO: Final = "http://jabber.org/protocol/disco#info"
NS_DATA: Final = "jabber:x:data"
NS_BOOKMARKS: Final = "urn:xmpp:bookmarks:1"
NS_CONFERENCE: Final = "jabber:x:conference"
ROOM_CONFIG: Final = "http://jabber.org/protocol/muc#roomconfig"
AFFILIATIONS: Final = ("owner", "admin", "member")


class MucError(XmppError):
    """Joining or managing a room failed; the message says why in words."""


@dataclass(frozen=True)
class RoomInfo:
    jid: str
    members_only: bool
    non_anonymous: bool
    name: str = ""

    @property
    def omemo_capable(self) -> bool:
        """XEP-0384 §5.8: OMEMO needs to know every member's real JID."""
        return self.members_only and self.non_anonymous


@dataclass(frozen=True)
class Bookmark:
    room: str
    name: str
    nick: str
    autojoin: bool


def _presence(to: str, ptype: str | None = None) -> ET.Element:
    attrs = {"to": to}
    if ptype:
        attrs["type"] = ptype
    return ET.Element(q(NS_CLIENT, "presence"), attrs)


async def join(
    client: XmppClient, room: str, nick: str, *, timeout: float = 15.0
) -> tuple[bool, PresenceUpdate]:
    """Join; returns (created, own presence). Raises MucError with a readable reason."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[PresenceUpdate] = loop.create_future()
    full = f"{room}/{nick}"

    def watch(p: PresenceUpdate) -> None:
        if p.jid.lower() == full.lower() and not done.done():
            done.set_result(p)

    client.presence_watchers.append(watch)
    try:
        el = _presence(full)
        x = ET.SubElement(el, q(NS_MUC, "x"))
        ET.SubElement(x, q(NS_MUC, "history"), {"maxstanzas": "0"})  # history comes from MAM
        client.send_raw_presence(el)
        try:
            own = await asyncio.wait_for(done, timeout)
        except TimeoutError as exc:
            raise MucError(f"the room {room} did not answer") from exc
    finally:
        client.presence_watchers.remove(watch)
    if own.type == "error":
        reason = {
            "registration-required": "the room is members-only and you are not a member",
            "forbidden": "you are banned from this room",
            "conflict": f"the nickname {nick} is taken in this room",
            "not-allowed": "the server does not let you create this room",
            "item-not-found": "the room does not exist",
        }.get(own.error or "", f"the room refused you ({own.error})")
        raise MucError(reason)
    return "201" in own.muc_status, own


async def configure_for_omemo(client: XmppClient, room: str, name: str = "") -> None:
    """Make a room members-only, non-anonymous, persistent and archived."""
    query = ET.Element(q(NS_MUC_OWNER, "query"))
    x = ET.SubElement(query, q(NS_DATA, "x"), {"type": "submit"})
    fields = {
        "FORM_TYPE": ROOM_CONFIG,
        "muc#roomconfig_membersonly": "1",
        "muc#roomconfig_whois": "anyone",
        "muc#roomconfig_persistentroom": "1",
        "muc#roomconfig_enablearchiving": "1",
        "muc#roomconfig_publicroom": "0",
    }
    if name:
        fields["muc#roomconfig_roomname"] = name
    for var, value in fields.items():
        f = ET.SubElement(x, q(NS_DATA, "field"), {"var": var})
        ET.SubElement(f, q(NS_DATA, "value")).text = value
    await client.iq_set(query, to=room)


async def room_info(client: XmppClient, room: str) -> RoomInfo:
    result = await client.iq_get(ET.Element(q(NS_DISCO_INFO, "query")), to=room)
    features = {f.get("var") for f in result.iter(q(NS_DISCO_INFO, "feature"))}
    ident = result.find(f".//{q(NS_DISCO_INFO, 'identity')}")
    return RoomInfo(
        room,
        "muc_membersonly" in features,
        "muc_nonanonymous" in features,
        (ident.get("name") or "") if ident is not None else "",
    )


async def affiliated(client: XmppClient, room: str) -> dict[str, str]:
    """Real JIDs of owners, admins and members -> affiliation."""
    out: dict[str, str] = {}
    for aff in AFFILIATIONS:
        query = ET.Element(q(NS_MUC_ADMIN, "query"))
        ET.SubElement(query, q(NS_MUC_ADMIN, "item"), {"affiliation": aff})
        try:
            result = await client.iq_get(query, to=room)
        except XmppStanzaError as exc:
            if exc.condition in ("forbidden", "not-allowed"):
                continue  # members may not read every list; what we see is what we use
            raise
        for item in result.iter(q(NS_MUC_ADMIN, "item")):
            jid = (item.get("jid") or "").split("/")[0].lower()
            if jid:
                out[jid] = item.get("affiliation") or aff
    return out


async def set_affiliation(client: XmppClient, room: str, jid: str, affiliation: str) -> None:
    query = ET.Element(q(NS_MUC_ADMIN, "query"))
    ET.SubElement(query, q(NS_MUC_ADMIN, "item"), {"jid": jid, "affiliation": affiliation})
    await client.iq_set(query, to=room)


def invite(client: XmppClient, room: str, jid: str, reason: str = "") -> None:
    """A mediated invitation (XEP-0045 §7.8.2) plus the direct one (XEP-0249)."""
    msg = ET.Element(q(NS_CLIENT, "message"), {"to": room})
    x = ET.SubElement(msg, q(NS_MUC_USER, "x"))
    inv = ET.SubElement(x, q(NS_MUC_USER, "invite"), {"to": jid})
    if reason:
        ET.SubElement(inv, q(NS_MUC_USER, "reason")).text = reason
    client.send(msg)
    direct = ET.Element(q(NS_CLIENT, "message"), {"to": jid})
    ET.SubElement(direct, q(NS_CONFERENCE, "x"), {"jid": room, "reason": reason})
    client.send(direct)


def decline(client: XmppClient, room: str, inviter: str, reason: str = "") -> None:
    """A mediated decline (XEP-0045 §7.8.2): sent to the room, which tells the inviter."""
    msg = ET.Element(q(NS_CLIENT, "message"), {"to": room})
    x = ET.SubElement(msg, q(NS_MUC_USER, "x"))
    dec = ET.SubElement(x, q(NS_MUC_USER, "decline"), {"to": inviter})
    if reason:
        ET.SubElement(dec, q(NS_MUC_USER, "reason")).text = reason
    client.send(msg)


async def rename(client: XmppClient, room: str, name: str) -> None:
    """Submit only the room name (XEP-0045 §10.2); owners only, others get forbidden."""
    query = ET.Element(q(NS_MUC_OWNER, "query"))
    x = ET.SubElement(query, q(NS_DATA, "x"), {"type": "submit"})
    for var, value in (("FORM_TYPE", ROOM_CONFIG), ("muc#roomconfig_roomname", name)):
        f = ET.SubElement(x, q(NS_DATA, "field"), {"var": var})
        ET.SubElement(f, q(NS_DATA, "value")).text = value
    await client.iq_set(query, to=room)


def leave(client: XmppClient, room: str, nick: str) -> None:
    client.send_raw_presence(_presence(f"{room}/{nick}", "unavailable"))


async def publish_bookmark(client: XmppClient, b: Bookmark) -> None:
    conf = ET.Element(
        q(NS_BOOKMARKS, "conference"),
        {"name": b.name, "autojoin": "true" if b.autojoin else "false"},
    )
    ET.SubElement(conf, q(NS_BOOKMARKS, "nick")).text = b.nick
    await pep.publish(
        client,
        NS_BOOKMARKS,
        b.room,
        conf,
        {
            "pubsub#access_model": "whitelist",
            "pubsub#persist_items": "true",
            "pubsub#max_items": "max",
            "pubsub#send_last_published_item": "never",
        },
    )


async def bookmarks(client: XmppClient) -> list[Bookmark]:
    try:
        result = await client.iq_get(_items_query(NS_BOOKMARKS), to=client.bare_jid)
    except (XmppStanzaError, XmppTimeout):
        return []
    out = []
    for item in result.iter(q(pep.NS_PUBSUB, "item")):
        conf = item.find(q(NS_BOOKMARKS, "conference"))
        if conf is None or not item.get("id"):
            continue
        nick = conf.find(q(NS_BOOKMARKS, "nick"))
        out.append(
            Bookmark(
                item.get("id", "").lower(),
                conf.get("name") or "",
                (nick.text or "") if nick is not None else "",
                conf.get("autojoin") in ("true", "1"),
            )
        )
    return out


def _items_query(node: str) -> ET.Element:
    pubsub = ET.Element(q(pep.NS_PUBSUB, "pubsub"))
    ET.SubElement(pubsub, q(pep.NS_PUBSUB, "items"), {"node": node})
    return pubsub
