"""Group chat state of one account (XEP-0045 rooms, XEP-0384 §5.8 for OMEMO in them).

A room's OMEMO recipients are its affiliated members (owner, admin, member) by real JID,
offline members included; occupants map nicknames to real JIDs so a sender's devices can be
found. The lists are fetched on join and kept current from presence (affiliation changes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

from omemo_desktop.xmpp import muc
from omemo_desktop.xmpp.client import PresenceUpdate, XmppClient
from omemo_desktop.xmpp.errors import XmppError
from omemo_desktop.xmpp.muc import RoomInfo

log = logging.getLogger(__name__)

MEMBER_AFFILIATIONS = frozenset({"owner", "admin", "member"})


@dataclass
class Room:
    jid: str
    nick: str
    info: RoomInfo
    members: dict[str, str] = field(default_factory=dict)  # real JID -> affiliation
    occupants: dict[str, str] = field(default_factory=dict)  # nick -> real JID
    joined: bool = False

    def apply_presence(self, p: PresenceUpdate) -> bool:
        """Track occupants and affiliation changes; True when the member list changed."""
        nick = p.jid.split("/", 1)[1] if "/" in p.jid else ""
        if p.type == "unavailable":
            self.occupants.pop(nick, None)
        elif p.muc_jid:
            self.occupants[nick] = p.muc_jid
        if not p.muc_jid or p.affiliation is None:
            return False
        before = self.members.get(p.muc_jid)
        if p.affiliation in MEMBER_AFFILIATIONS:
            self.members[p.muc_jid] = p.affiliation
        else:
            self.members.pop(p.muc_jid, None)  # none / outcast: stops receiving keys
        return before != self.members.get(p.muc_jid)

    def real_jid(self, nick: str) -> str | None:
        return self.occupants.get(nick)


async def forget_bookmark(client: XmppClient, room: Room) -> None:
    """After leaving: keep the XEP-0402 bookmark but turn autojoin off, as Conversations and
    Dino do, so no device of ours rejoins at its next start and the name is kept."""
    known = {b.room: b for b in await muc.bookmarks(client)}
    mark = known.get(room.jid) or muc.Bookmark(room.jid, room.info.name, room.nick, False)
    await muc.publish_bookmark(client, replace(mark, autojoin=False))


async def refresh_info(client: XmppClient, room: Room) -> None:
    """Read the room's features and name again (after a configuration change, status 104)."""
    info = await muc.room_info(client, room.jid)
    room.info = replace(info, jid=room.jid)


async def rename(client: XmppClient, room: Room, name: str) -> None:
    """The room's own name (owners only), then our bookmark's, so every device shows it."""
    await muc.rename(client, room.jid, name)
    room.info = replace(room.info, name=name)
    try:
        known = {b.room: b for b in await muc.bookmarks(client)}
        mark = known.get(room.jid) or muc.Bookmark(room.jid, name, room.nick, True)
        await muc.publish_bookmark(client, replace(mark, name=name))
    except XmppError as exc:  # the room has its name; a later join republishes the bookmark
        log.warning("could not update the bookmark of %s: %s", room.jid, exc)
