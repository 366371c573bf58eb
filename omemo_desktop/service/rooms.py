"""Group chat state of one account (XEP-0045 rooms, XEP-0384 §5.8 for OMEMO in them).

A room's OMEMO recipients are its affiliated members (owner, admin, member) by real JID,
offline members included; occupants map nicknames to real JIDs so a sender's devices can be
found. The lists are fetched on join and kept current from presence (affiliation changes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from omemo_desktop.xmpp.client import PresenceUpdate
from omemo_desktop.xmpp.muc import RoomInfo

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
