"""xmpp: URIs from links and command lines (service/uri.py): RFC 5122 query types, OMEMO
verification links (omemo-sid-N=FP) and XEP-0434 trust messages."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from omemo_desktop.omemo.fingerprint import fingerprint
from omemo_desktop.service.api import ServiceError, XmppUri, parse_xmpp_uri

FP1 = "ab" * 32
FP2 = "0123456789abcdef" * 4


def ed25519_key() -> bytes:
    return Ed25519PrivateKey.generate().public_key().public_bytes_raw()


def test_a_plain_address_opens_a_chat() -> None:
    uri = parse_xmpp_uri("xmpp:Bob@Example.ORG")
    assert uri == XmppUri(jid="bob@example.org", text="xmpp:Bob@Example.ORG")
    assert parse_xmpp_uri("  XMPP:bob@example.org/Phone  ").resource == "Phone"
    assert parse_xmpp_uri("xmpp:example.org").jid == "example.org"


def test_percent_encoded_addresses_are_decoded() -> None:
    assert parse_xmpp_uri("xmpp:j%C3%BCrgen@example.org").jid == "jürgen@example.org"


def test_message_with_a_body_and_subject() -> None:
    uri = parse_xmpp_uri(
        "xmpp:bob@example.org?message;subject=Re%3A%20x;body=Hi%20there%3B%20ok%20%E2%9C%93"
    )
    assert (uri.action, uri.jid) == ("message", "bob@example.org")
    assert uri.body == "Hi there; ok ✓"
    assert uri.subject == "Re: x"
    assert parse_xmpp_uri("xmpp:bob@example.org?message").body == ""


def test_join_a_room_with_and_without_password() -> None:
    uri = parse_xmpp_uri("xmpp:Room@muc.example.org?join")
    assert (uri.action, uri.jid, uri.password) == ("join", "room@muc.example.org", "")
    assert parse_xmpp_uri("xmpp:room@muc.example.org?join;password=s3cret").password == "s3cret"
    with pytest.raises(ServiceError, match="server, not a group chat"):
        parse_xmpp_uri("xmpp:muc.example.org?join")


def test_roster_and_subscribe_add_a_contact() -> None:
    uri = parse_xmpp_uri("xmpp:bob@example.org?roster;name=Bob%20B.;group=Friends")
    assert (uri.action, uri.name, uri.group) == ("roster", "Bob B.", "Friends")
    assert parse_xmpp_uri("xmpp:bob@example.org?subscribe").action == "roster"


def test_authority_names_the_account_to_use() -> None:
    uri = parse_xmpp_uri("xmpp://Me@example.org/bob@example.org?message;body=hi")
    assert (uri.account, uri.jid, uri.body) == ("me@example.org", "bob@example.org", "hi")
    with pytest.raises(ServiceError, match="no address"):
        parse_xmpp_uri("xmpp://me@example.org")


def test_unknown_query_types_open_a_chat() -> None:
    uri = parse_xmpp_uri("xmpp:bob@example.org?pubsub;action=subscribe;node=x")
    assert (uri.action, uri.jid) == ("chat", "bob@example.org")
    assert parse_xmpp_uri("xmpp:bob@example.org?remove").action == "chat"  # never removes


def test_omemo_verification_links_go_through_the_verification_parser() -> None:
    text = f"xmpp:Bob@example.org?omemo-sid-123={FP1};omemo-sid-456=05{FP2.upper()}"
    uri = parse_xmpp_uri(text)
    assert uri.action == "verify"
    assert uri.jid == "bob@example.org"
    assert uri.devices == ((123, FP1), (456, FP2))
    assert uri.text == text  # handed to MessengerApi.apply_verification_uri as it came
    amp = parse_xmpp_uri(f"xmpp:bob@example.org?omemo-sid-1={FP1}&omemo-sid-2={FP2}")
    assert amp.devices == ((1, FP1), (2, FP2))


def test_verification_with_a_query_type_or_account_is_rewritten_for_the_service() -> None:
    uri = parse_xmpp_uri(f"xmpp://me@example.org/bob@example.org?message;omemo-sid-7={FP1}")
    assert (uri.action, uri.account, uri.devices) == ("verify", "me@example.org", ((7, FP1),))
    assert uri.text == f"xmpp:bob@example.org?omemo-sid-7={FP1}"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("xmpp:bob@example.org?omemo-sid-12=xyz", "malformed"),
        (f"xmpp:bob@example.org?omemo-sid-abc={FP1}", "not a number"),
    ],
)
def test_bad_verification_links_are_refused(text: str, error: str) -> None:
    with pytest.raises(ServiceError, match=error):
        parse_xmpp_uri(text)


def test_xep_0434_trust_messages_map_keys_to_fingerprints() -> None:
    trusted, distrusted = ed25519_key(), ed25519_key()
    b64 = base64.b64encode(distrusted).decode().rstrip("=")
    uri = parse_xmpp_uri(
        "xmpp:bob@example.org?trust-message;encryption=urn:xmpp:omemo:2;"
        f"trust={trusted.hex()};distrust={b64}"
    )
    assert uri.action == "trust"
    assert uri.encryption == "urn:xmpp:omemo:2"
    assert uri.trust == (fingerprint(trusted),)
    assert uri.distrust == (fingerprint(distrusted),)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("xmpp:bob@example.org?trust-message;encryption=urn:xmpp:omemo:2", "names no key"),
        (
            "xmpp:bob@example.org?trust-message;encryption=urn:xmpp:openpgp:0;trust=" + "aa" * 32,
            "not OMEMO",
        ),
        ("xmpp:bob@example.org?trust-message;trust=%%%", "not readable"),
    ],
)
def test_bad_trust_messages_are_refused(text: str, error: str) -> None:
    with pytest.raises(ServiceError, match=error):
        parse_xmpp_uri(text)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("https://example.org", "not an xmpp: link"),
        ("bob@example.org", "not an xmpp: link"),
        ("xmpp:", "not an XMPP address"),
        ("xmpp:bob@", "not an XMPP address"),
        ("xmpp:bob@example.org@x.org", "not an XMPP address"),
        ("xmpp:bob smith@example.org", "not an XMPP address"),
        ("xmpp:b%FFob@example.org", "not valid UTF-8"),
        ("xmpp:bob@example.org?message;body=" + "x" * 9000, "too long"),
    ],
)
def test_bad_links_get_a_clear_error(text: str, error: str) -> None:
    with pytest.raises(ServiceError, match=error):
        parse_xmpp_uri(text)


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=200),
    st.sampled_from(["xmpp:", "xmpp://", "XMPP:a@b.c?", "xmpp:a@b.c?trust-message;trust="]),
)
def test_any_text_parses_or_raises_service_error(tail: str, head: str) -> None:
    try:
        uri = parse_xmpp_uri(head + tail)
    except ServiceError:
        return
    assert uri.action in {"chat", "message", "join", "roster", "verify", "trust"}
    assert uri.jid and uri.jid == uri.jid.lower()
