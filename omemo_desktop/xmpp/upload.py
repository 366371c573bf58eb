"""XEP-0363 HTTP File Upload (`urn:xmpp:http:upload:0`): find the service, ask for a slot,
PUT the bytes.

The caller decides what the bytes are (for OMEMO: AES-GCM ciphertext, see omemo/filecrypt.py);
this module only speaks XMPP and HTTP.
"""

from __future__ import annotations

import ssl
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import Final

from . import http
from .client import XmppClient
from .errors import XmppError, XmppStanzaError
from .stanzas import q

NS_UPLOAD: Final = "urn:xmpp:http:upload:0"
NS_DISCO_INFO: Final = "http://jabber.org/protocol/disco#info"
NS_DISCO_ITEMS: Final = "http://jabber.org/protocol/disco#items"
NS_DATA: Final = "jabber:x:data"
# XEP-0363 §5: only these slot headers may be copied into the PUT request.
ALLOWED_HEADERS: Final = frozenset({"authorization", "cookie", "expires"})


class UploadError(XmppError):
    """The upload could not be set up or did not complete."""


class SlotRefused(UploadError):
    def __init__(self, message: str, condition: str) -> None:
        super().__init__(message)
        self.condition = condition


@dataclass(frozen=True)
class UploadService:
    jid: str
    max_file_size: int | None  # bytes; None = the service names no limit


@dataclass(frozen=True)
class UploadSlot:
    put_url: str
    get_url: str
    headers: tuple[tuple[str, str], ...]

    def __repr__(self) -> str:  # the Authorization header is a bearer token
        return f"UploadSlot(get_url={self.get_url!r}, headers={len(self.headers)})"


def parse_service_info(jid: str, info: ET.Element) -> UploadService | None:
    """A disco#info result -> the upload service it describes, if it is one."""
    query = info if info.tag == q(NS_DISCO_INFO, "query") else info.find(q(NS_DISCO_INFO, "query"))
    if query is None:
        return None
    features = {f.get("var") for f in query.iter(q(NS_DISCO_INFO, "feature"))}
    if NS_UPLOAD not in features:
        return None
    limit: int | None = None
    for form in query.iter(q(NS_DATA, "x")):
        fields = {
            f.get("var"): (f.findtext(q(NS_DATA, "value")) or "").strip()
            for f in form.iter(q(NS_DATA, "field"))
        }
        if fields.get("FORM_TYPE") == NS_UPLOAD and fields.get("max-file-size", "").isdigit():
            limit = int(fields["max-file-size"])
    return UploadService(jid, limit)


async def discover_upload_service(client: XmppClient, domain: str) -> UploadService | None:
    """disco#items on the server, then disco#info on each item (and the server itself)."""
    try:
        items = await client.iq_get(ET.Element(q(NS_DISCO_ITEMS, "query")), to=domain)
    except XmppStanzaError:
        items = ET.Element("none")
    candidates = [
        jid for i in items.iter(q(NS_DISCO_ITEMS, "item")) if (jid := i.get("jid")) is not None
    ]
    for jid in [*candidates, domain]:
        try:
            info = await client.iq_get(ET.Element(q(NS_DISCO_INFO, "query")), to=jid)
        except XmppStanzaError:
            continue  # one broken component must not hide the others
        service = parse_service_info(jid, info)
        if service is not None:
            return service
    return None


def build_slot_request(filename: str, size: int, content_type: str | None) -> ET.Element:
    attrs = {"filename": filename, "size": str(size)}
    if content_type:
        attrs["content-type"] = content_type
    return ET.Element(q(NS_UPLOAD, "request"), attrs)


def parse_slot(result: ET.Element) -> UploadSlot:
    slot = result if result.tag == q(NS_UPLOAD, "slot") else result.find(q(NS_UPLOAD, "slot"))
    if slot is None:
        raise UploadError("the upload service answered without a slot")
    put = slot.find(q(NS_UPLOAD, "put"))
    get = slot.find(q(NS_UPLOAD, "get"))
    if put is None or get is None or not put.get("url") or not get.get("url"):
        raise UploadError("the upload service's slot has no upload or download link")
    headers: list[tuple[str, str]] = []
    for h in put.iter(q(NS_UPLOAD, "header")):
        name = (h.get("name") or "").replace("\r", "").replace("\n", "").strip()
        value = (h.text or "").replace("\r", "").replace("\n", "").strip()
        if name.lower() in ALLOWED_HEADERS:
            headers.append((name, value))
    return UploadSlot(put.get("url", ""), get.get("url", ""), tuple(headers))


async def request_slot(
    client: XmppClient,
    service: UploadService,
    filename: str,
    size: int,
    content_type: str | None = None,
) -> UploadSlot:
    try:
        result = await client.iq_get(
            build_slot_request(filename, size, content_type), to=service.jid
        )
    except XmppStanzaError as exc:
        reason = {
            "not-acceptable": "the upload service does not accept this file",
            "resource-constraint": "the upload service's quota is used up; try again later",
            "forbidden": "this account may not upload files",
        }.get(exc.condition, "the upload service refused the file")
        detail = f" ({exc.text})" if exc.text else ""
        raise SlotRefused(reason + detail, exc.condition) from exc
    return parse_slot(result)


async def put_file(
    slot: UploadSlot,
    body: AsyncIterable[bytes],
    *,
    length: int,
    content_type: str | None,
    ssl_context: ssl.SSLContext,
    timeout: float = 30.0,
) -> None:
    """PUT exactly `length` bytes to the slot; 201 (or 200) is success."""
    headers = list(slot.headers)
    if content_type:
        headers.append(("Content-Type", content_type))
    response = await http.put(
        slot.put_url,
        body,
        length=length,
        headers=headers,
        ssl_context=ssl_context,
        timeout=timeout,
    )
    if response.status not in (200, 201):
        raise http.HttpStatusError(response.status, response.reason, slot.put_url)


__all__ = [
    "NS_UPLOAD",
    "SlotRefused",
    "UploadError",
    "UploadService",
    "UploadSlot",
    "build_slot_request",
    "discover_upload_service",
    "parse_service_info",
    "parse_slot",
    "put_file",
    "request_slot",
]
