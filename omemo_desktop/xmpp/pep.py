"""PEP (XEP-0163) on XEP-0060: publish with publish-options, fetch, retract, configure.

Functions take an `XmppClient` and raw payload elements; they know nothing of OMEMO.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Final

from .client import XmppClient
from .errors import XmppStanzaError
from .stanzas import q

NS_PUBSUB: Final = "http://jabber.org/protocol/pubsub"
NS_OWNER: Final = "http://jabber.org/protocol/pubsub#owner"
NS_DATA: Final = "jabber:x:data"
PUBLISH_OPTIONS: Final = "http://jabber.org/protocol/pubsub#publish-options"
NODE_CONFIG: Final = "http://jabber.org/protocol/pubsub#node_config"


def _form(form_type: str, fields: dict[str, str]) -> ET.Element:
    x = ET.Element(q(NS_DATA, "x"), {"type": "submit"})
    ft = ET.SubElement(x, q(NS_DATA, "field"), {"var": "FORM_TYPE", "type": "hidden"})
    ET.SubElement(ft, q(NS_DATA, "value")).text = form_type
    for var, value in fields.items():
        f = ET.SubElement(x, q(NS_DATA, "field"), {"var": var})
        ET.SubElement(f, q(NS_DATA, "value")).text = value
    return x


async def publish(
    client: XmppClient,
    node: str,
    item_id: str,
    payload: ET.Element,
    options: dict[str, str],
) -> None:
    """Publish with publish-options; when the node's configuration disagrees
    (precondition-not-met), reconfigure the node and publish again."""

    def request() -> ET.Element:
        pubsub = ET.Element(q(NS_PUBSUB, "pubsub"))
        pub = ET.SubElement(pubsub, q(NS_PUBSUB, "publish"), {"node": node})
        ET.SubElement(pub, q(NS_PUBSUB, "item"), {"id": item_id}).append(payload)
        if options:
            po = ET.SubElement(pubsub, q(NS_PUBSUB, "publish-options"))
            po.append(_form(PUBLISH_OPTIONS, options))
        return pubsub

    try:
        await client.iq_set(request())
    except XmppStanzaError as exc:
        if exc.condition not in ("conflict", "precondition-not-met") and "precondition" not in str(
            exc
        ):
            raise
        await configure(client, node, options)
        await client.iq_set(request())


async def configure(client: XmppClient, node: str, options: dict[str, str]) -> None:
    pubsub = ET.Element(q(NS_OWNER, "pubsub"))
    cfg = ET.SubElement(pubsub, q(NS_OWNER, "configure"), {"node": node})
    cfg.append(_form(NODE_CONFIG, options))
    await client.iq_set(pubsub)


async def fetch(
    client: XmppClient, jid: str, node: str, item_id: str | None = None
) -> list[ET.Element]:
    """The payloads of a node's items (empty list when the node does not exist)."""
    pubsub = ET.Element(q(NS_PUBSUB, "pubsub"))
    items = ET.SubElement(pubsub, q(NS_PUBSUB, "items"), {"node": node})
    if item_id is not None:
        ET.SubElement(items, q(NS_PUBSUB, "item"), {"id": item_id})
    try:
        result = await client.iq_get(pubsub, to=jid)
    except XmppStanzaError as exc:
        if exc.condition == "item-not-found":
            return []
        raise
    out: list[ET.Element] = []
    for item in result.iter(q(NS_PUBSUB, "item")):
        out.extend(list(item))
    return out


async def retract(client: XmppClient, node: str, item_id: str) -> None:
    pubsub = ET.Element(q(NS_PUBSUB, "pubsub"))
    r = ET.SubElement(pubsub, q(NS_PUBSUB, "retract"), {"node": node, "notify": "true"})
    ET.SubElement(r, q(NS_PUBSUB, "item"), {"id": item_id})
    await client.iq_set(pubsub)


async def delete_node(client: XmppClient, node: str) -> None:
    pubsub = ET.Element(q(NS_OWNER, "pubsub"))
    ET.SubElement(pubsub, q(NS_OWNER, "delete"), {"node": node})
    try:
        await client.iq_set(pubsub)
    except XmppStanzaError as exc:
        if exc.condition != "item-not-found":
            raise
