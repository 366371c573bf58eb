"""MUC invitation and decline stanzas (XEP-0045 §7.8.2, XEP-0249), parsed and built."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from omemo_desktop.xmpp import muc
from omemo_desktop.xmpp.stanzas import parse_message

ROOM = "team@conference.example.org"
CLIENT = "jabber:client"
MUC_USER = "http://jabber.org/protocol/muc#user"


def message(inner: str, sender: str = ROOM) -> ET.Element:
    return ET.fromstring(
        f"<message xmlns='{CLIENT}' from='{sender}' to='bob@example.org/pc' id='x1'>"
        f"{inner}</message>"
    )


def test_a_mediated_invitation_names_the_inviter_not_the_room() -> None:
    m = parse_message(
        message(
            f"<body>alice invited you</body><x xmlns='{MUC_USER}'>"
            "<invite from='Alice@Example.org/laptop'><reason>hi</reason></invite></x>"
        ),
        "bob@example.org",
    )
    assert (m.invite_room, m.invite_from, m.decline_from) == (ROOM, "alice@example.org", None)


def test_a_direct_invitation_has_no_mediated_inviter() -> None:
    m = parse_message(
        message(f"<x xmlns='jabber:x:conference' jid='{ROOM}'/>", "alice@example.org/laptop"),
        "bob@example.org",
    )
    assert (m.invite_room, m.invite_from) == (ROOM, None)


def test_a_decline_passed_on_by_the_room() -> None:
    m = parse_message(
        message(
            f"<body>bob declined</body><x xmlns='{MUC_USER}'>"
            "<decline from='Bob@example.org/pc'><reason> busy </reason></decline></x>"
        ),
        "alice@example.org",
    )
    assert (m.decline_from, m.decline_reason, m.invite_room) == ("bob@example.org", "busy", None)


class Sent:
    def __init__(self) -> None:
        self.stanzas: list[ET.Element] = []

    def send(self, element: ET.Element) -> None:
        self.stanzas.append(element)


def test_decline_is_sent_to_the_room_for_the_inviter() -> None:
    client = Sent()
    muc.decline(client, ROOM, "alice@example.org", "not now")  # type: ignore[arg-type]
    (stanza,) = client.stanzas
    assert stanza.get("to") == ROOM
    decline = stanza.find(f"{{{MUC_USER}}}x/{{{MUC_USER}}}decline")
    assert decline is not None and decline.get("to") == "alice@example.org"
    assert decline.findtext(f"{{{MUC_USER}}}reason") == "not now"
