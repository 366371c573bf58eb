"""Round trips and rejection of malformed OMEMO XML in both namespaces."""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omemo_desktop.xmpp import omemo_xml as ox
from omemo_desktop.xmpp.stanzas import OutboundMessage, build_message, parse_message


@pytest.mark.parametrize("ns", [ox.NS2, ox.NS_LEGACY])
def test_encrypted_round_trip(ns: str) -> None:
    keys = (
        ox.KeyXml("bob@example.org" if ns == ox.NS2 else None, 7, True, b"\x01" * 40),
        ox.KeyXml("alice@example.org" if ns == ox.NS2 else None, 9, False, b"\x02" * 40),
    )
    enc = ox.EncryptedXml(ns, 123, keys, b"payload", b"i" * 12 if ns == ox.NS_LEGACY else None)
    parsed = ox.parse_encrypted(ET.fromstring(ET.tostring(ox.build_encrypted(enc))))
    assert parsed == enc


@pytest.mark.parametrize("ns", [ox.NS2, ox.NS_LEGACY])
def test_bundle_and_device_list_round_trip(ns: str) -> None:
    size = 32 if ns == ox.NS2 else 33
    b = ox.BundleXml(ns, b"i" * size, 5, b"s" * size, b"g" * 64, {1: b"a" * size, 2: b"b" * size})
    assert ox.parse_bundle(ns, ET.fromstring(ET.tostring(ox.build_bundle(b)))) == b
    devices = [ox.DeviceEntry(1), ox.DeviceEntry(2147483647)]
    xml = ET.fromstring(ET.tostring(ox.build_device_list(ns, devices)))
    assert [d.id for d in ox.parse_device_list(ns, xml)] == [1, 2147483647]


def test_bad_device_ids_are_skipped_not_fatal() -> None:
    xml = ET.fromstring(
        f'<devices xmlns="{ox.NS2}"><device id="0"/><device id="x"/><device id="5"/></devices>'
    )
    assert [d.id for d in ox.parse_device_list(ox.NS2, xml)] == [5]


@pytest.mark.parametrize(
    "body",
    [
        "<header/>",
        '<header sid="1"><keys jid="a@b"><key rid="2">!!!notbase64</key></keys></header>',
        '<header sid="-4"/>',
        '<header sid="1"><keys jid="a@b"><key>AAAA</key></keys></header>',
    ],
)
def test_malformed_encrypted_is_a_clear_error(body: str) -> None:
    with pytest.raises(ox.OmemoXmlError):
        ox.parse_encrypted(ET.fromstring(f'<encrypted xmlns="{ox.NS2}">{body}</encrypted>'))


@given(st.text(max_size=200), st.text(max_size=30), st.text(max_size=30))
def test_parse_encrypted_fuzz(text: str, sid: str, rid: str) -> None:
    root = ET.Element(f"{{{ox.NS_LEGACY}}}encrypted")
    header = ET.SubElement(root, f"{{{ox.NS_LEGACY}}}header", {"sid": sid})
    ET.SubElement(header, f"{{{ox.NS_LEGACY}}}key", {"rid": rid}).text = text
    ET.SubElement(header, f"{{{ox.NS_LEGACY}}}iv").text = text
    with contextlib.suppress(ox.OmemoXmlError):
        ox.parse_encrypted(root)


def test_message_stanza_round_trip() -> None:
    el = build_message(
        OutboundMessage(
            to="bob@example.org",
            id="m1",
            body="hi",
            origin_id="o1",
            request_receipt=True,
            markable=True,
            chat_state="active",
            replace_id="o0",
            store_hint=True,
        )
    )
    el.set("from", "alice@example.org/phone")
    m = parse_message(el, "bob@example.org")
    assert (m.body, m.origin_id, m.replace_id, m.chat_state) == ("hi", "o1", "o0", "active")
    assert m.receipt_requested and m.markable
