"""XEP-0420 Stanza Content Encryption envelopes (``urn:xmpp:sce:1``), OMEMO profile.

:func:`build_envelope` serializes ``<envelope>`` with ``<content>``, a random-length ``<rpad>``
(length hiding), ``<time>``, ``<from>`` and ``<to>`` affixes; :func:`parse_envelope` parses one
with a hardened parser (no DTDs, no entities) and raises :class:`MalformedMessage` on anything
that is not a well-formed envelope. Pure: time is passed in, randomness is injected.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from xml.parsers import expat

from .errors import MalformedMessage

RandomBytes = Callable[[int], bytes]

NS: Final = "urn:xmpp:sce:1"
#: pad so that the envelope is at least this long before the random extra padding
MIN_PADDED_LENGTH: Final = 64
MAX_EXTRA_PADDING: Final = 200
#: elements a server processes; never trusted from inside the envelope (XEP-0420 §5)
FORBIDDEN_CONTENT: Final = frozenset(
    {
        "{urn:xmpp:hints}store",
        "{urn:xmpp:hints}no-store",
        "{urn:xmpp:hints}no-copy",
        "{urn:xmpp:hints}no-permanent-store",
        "{urn:xmpp:sid:0}stanza-id",
        "{http://jabber.org/protocol/address}addresses",
        "{urn:xmpp:eme:0}encryption",
    }
)


@dataclass(frozen=True, slots=True)
class Envelope:
    #: the children of <content>, each with its own namespace (e.g. {jabber:client}body)
    content: tuple[ET.Element, ...]
    from_jid: str | None
    to_jid: str | None
    #: the XEP-0082 stamp as sent, and as Unix seconds when it parses
    time_stamp: str | None
    time: int | None


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def format_time(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(stamp: str) -> int | None:
    try:
        value = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        return None
    return int(value.timestamp())


def _uniform(random_bytes: RandomBytes, upper: int) -> int:
    """Uniform integer in 0..upper (upper < 256) by rejection sampling."""
    while True:
        value = random_bytes(1)[0]
        if value <= upper:
            return value


def build_envelope(
    content: Sequence[ET.Element],
    random_bytes: RandomBytes,
    *,
    from_jid: str | None = None,
    to_jid: str | None = None,
    time: int | None = None,
) -> bytes:
    """Serialize an envelope (UTF-8). Content elements must carry a namespace."""
    envelope = ET.Element(_q("envelope"))
    content_el = ET.SubElement(envelope, _q("content"))
    for child in content:
        if not child.tag.startswith("{"):
            raise ValueError(f"SCE content element <{child.tag}> needs an explicit namespace")
        content_el.append(child)
    rpad = ET.SubElement(envelope, _q("rpad"))
    if time is not None:
        ET.SubElement(envelope, _q("time"), stamp=format_time(time))
    if from_jid is not None:
        ET.SubElement(envelope, _q("from"), jid=from_jid)
    if to_jid is not None:
        ET.SubElement(envelope, _q("to"), jid=to_jid)
    base_length = len(ET.tostring(envelope, encoding="utf-8", xml_declaration=False))
    length = max(1, MIN_PADDED_LENGTH - base_length) + _uniform(random_bytes, MAX_EXTRA_PADDING)
    rpad.text = base64.b64encode(random_bytes(length)).decode("ascii")[:length]
    out: bytes = ET.tostring(envelope, encoding="utf-8", xml_declaration=False)
    return out


def _reject_dtd(*_args: object) -> int:
    raise MalformedMessage("DTDs and entities are not allowed in an SCE envelope")


def safe_fromstring(data: bytes) -> ET.Element:
    """Parse XML refusing DTDs, entity declarations and processing of external entities."""
    checker = expat.ParserCreate()
    checker.StartDoctypeDeclHandler = _reject_dtd
    checker.EntityDeclHandler = _reject_dtd
    checker.ExternalEntityRefHandler = _reject_dtd
    try:
        checker.Parse(data, True)
        return ET.fromstring(data)
    except (expat.ExpatError, ET.ParseError, ValueError) as exc:
        raise MalformedMessage(f"invalid XML: {exc}") from exc


def parse_envelope(data: bytes) -> Envelope:
    root = safe_fromstring(data)
    if root.tag != _q("envelope"):
        raise MalformedMessage("the payload is not an SCE envelope")
    content_el = root.find(_q("content"))
    if content_el is None:
        raise MalformedMessage("the SCE envelope has no <content>")
    content = tuple(child for child in content_el if child.tag not in FORBIDDEN_CONTENT)
    from_el, to_el, time_el = root.find(_q("from")), root.find(_q("to")), root.find(_q("time"))
    stamp = time_el.get("stamp") if time_el is not None else None
    return Envelope(
        content,
        from_el.get("jid") if from_el is not None else None,
        to_el.get("jid") if to_el is not None else None,
        stamp,
        parse_time(stamp) if stamp is not None else None,
    )
