"""XML of both OMEMO versions (XEP-0384 0.9 `urn:xmpp:omemo:2` and the legacy
`eu.siacs.conversations.axolotl`): device lists, bundles and <encrypted/> elements.

Pure parsing/building on xml.etree with bytes in and out; no crypto and no decisions here.
Every parse error raises `OmemoXmlError` with a readable message.
"""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Final

NS2: Final = "urn:xmpp:omemo:2"
NS_LEGACY: Final = "eu.siacs.conversations.axolotl"
NODE2_DEVICES: Final = "urn:xmpp:omemo:2:devices"
NODE2_BUNDLES: Final = "urn:xmpp:omemo:2:bundles"
NODE_LEGACY_DEVICES: Final = "eu.siacs.conversations.axolotl.devicelist"
NODE_LEGACY_BUNDLE_PREFIX: Final = "eu.siacs.conversations.axolotl.bundles:"
MAX_ID: Final = 2**31 - 1


class OmemoXmlError(ValueError):
    """Malformed OMEMO XML from the network."""


@dataclass(frozen=True)
class DeviceEntry:
    id: int
    label: str | None = None
    labelsig: str | None = None


@dataclass(frozen=True)
class BundleXml:
    """Bundle content as bytes. Legacy keys keep their 0x05 prefix (33 bytes)."""

    namespace: str
    ik: bytes
    spk_id: int
    spk: bytes
    spks: bytes
    prekeys: dict[int, bytes]


@dataclass(frozen=True)
class KeyXml:
    jid: str | None  # omemo:2 groups keys by recipient JID; legacy has none
    rid: int
    kex: bool
    data: bytes


@dataclass(frozen=True)
class EncryptedXml:
    namespace: str
    sid: int
    keys: tuple[KeyXml, ...]
    payload: bytes | None
    iv: bytes | None = None  # legacy only


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def _b64(text: str | None, what: str) -> bytes:
    if not text:
        raise OmemoXmlError(f"{what} is empty")
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise OmemoXmlError(f"{what} is not valid base64") from exc


def _enc(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _id(text: str | None, what: str) -> int:
    try:
        value = int(text or "")
    except ValueError as exc:
        raise OmemoXmlError(f"{what} {text!r} is not a number") from exc
    if not 0 < value <= MAX_ID:
        raise OmemoXmlError(f"{what} {value} is out of range")
    return value


# ---- device lists ----------------------------------------------------------------------


def parse_device_list(namespace: str, element: ET.Element) -> list[DeviceEntry]:
    """Parse <devices/> (omemo:2) or <list/> (legacy); bad entries are skipped, not fatal."""
    tag = _q(NS2, "devices") if namespace == NS2 else _q(NS_LEGACY, "list")
    root = element if element.tag == tag else element.find(tag)
    if root is None:
        raise OmemoXmlError("the device list element is missing")
    out: dict[int, DeviceEntry] = {}
    for dev in root.findall(_q(namespace, "device")):
        try:
            did = _id(dev.get("id"), "device id")
        except OmemoXmlError:
            continue
        out[did] = DeviceEntry(did, dev.get("label"), dev.get("labelsig"))
    return list(out.values())


def build_device_list(namespace: str, devices: list[DeviceEntry]) -> ET.Element:
    root = ET.Element(_q(NS2, "devices") if namespace == NS2 else _q(NS_LEGACY, "list"))
    for d in devices:
        attrs = {"id": str(d.id)}
        if namespace == NS2 and d.label:
            attrs["label"] = d.label
            if d.labelsig:
                attrs["labelsig"] = d.labelsig
        ET.SubElement(root, _q(namespace, "device"), attrs)
    return root


# ---- bundles ---------------------------------------------------------------------------


def build_bundle(b: BundleXml) -> ET.Element:
    if b.namespace == NS2:
        root = ET.Element(_q(NS2, "bundle"))
        ET.SubElement(root, _q(NS2, "spk"), {"id": str(b.spk_id)}).text = _enc(b.spk)
        ET.SubElement(root, _q(NS2, "spks")).text = _enc(b.spks)
        ET.SubElement(root, _q(NS2, "ik")).text = _enc(b.ik)
        pks = ET.SubElement(root, _q(NS2, "prekeys"))
        for pid, pk in b.prekeys.items():
            ET.SubElement(pks, _q(NS2, "pk"), {"id": str(pid)}).text = _enc(pk)
        return root
    n = NS_LEGACY
    root = ET.Element(_q(n, "bundle"))
    ET.SubElement(root, _q(n, "signedPreKeyPublic"), {"signedPreKeyId": str(b.spk_id)}).text = _enc(
        b.spk
    )
    ET.SubElement(root, _q(n, "signedPreKeySignature")).text = _enc(b.spks)
    ET.SubElement(root, _q(n, "identityKey")).text = _enc(b.ik)
    pks = ET.SubElement(root, _q(n, "prekeys"))
    for pid, pk in b.prekeys.items():
        ET.SubElement(pks, _q(n, "preKeyPublic"), {"preKeyId": str(pid)}).text = _enc(pk)
    return root


def parse_bundle(namespace: str, element: ET.Element) -> BundleXml:
    root = (
        element if element.tag == _q(namespace, "bundle") else element.find(_q(namespace, "bundle"))
    )
    if root is None:
        raise OmemoXmlError("the bundle element is missing")

    def one(tag: str) -> ET.Element:
        el = root.find(_q(namespace, tag))
        if el is None:
            raise OmemoXmlError(f"the bundle has no <{tag}/>")
        return el

    prekeys: dict[int, bytes] = {}
    if namespace == NS2:
        spk = one("spk")
        pk_parent, pk_tag, pk_attr = one("prekeys"), "pk", "id"
        b = BundleXml(
            NS2,
            _b64(one("ik").text, "ik"),
            _id(spk.get("id"), "signed pre-key id"),
            _b64(spk.text, "spk"),
            _b64(one("spks").text, "spks"),
            prekeys,
        )
    else:
        spk = one("signedPreKeyPublic")
        pk_parent, pk_tag, pk_attr = one("prekeys"), "preKeyPublic", "preKeyId"
        b = BundleXml(
            NS_LEGACY,
            _b64(one("identityKey").text, "identityKey"),
            _id(spk.get("signedPreKeyId"), "signed pre-key id"),
            _b64(spk.text, "signedPreKeyPublic"),
            _b64(one("signedPreKeySignature").text, "signedPreKeySignature"),
            prekeys,
        )
    for pk in pk_parent.findall(_q(namespace, pk_tag)):
        try:
            prekeys[_id(pk.get(pk_attr), "pre-key id")] = _b64(pk.text, "pre-key")
        except OmemoXmlError:
            continue  # one bad pre-key does not spoil the bundle
    if not prekeys:
        raise OmemoXmlError("the bundle has no usable pre-keys")
    return b


# ---- <encrypted/> ----------------------------------------------------------------------


def build_encrypted(e: EncryptedXml) -> ET.Element:
    ns = e.namespace
    root = ET.Element(_q(ns, "encrypted"))
    header = ET.SubElement(root, _q(ns, "header"), {"sid": str(e.sid)})
    if ns == NS2:
        by_jid: dict[str, ET.Element] = {}
        for k in e.keys:
            parent = by_jid.get(k.jid or "")
            if parent is None:
                parent = by_jid[k.jid or ""] = ET.SubElement(
                    header, _q(ns, "keys"), {"jid": k.jid or ""}
                )
            attrs = {"rid": str(k.rid)}
            if k.kex:
                attrs["kex"] = "true"
            ET.SubElement(parent, _q(ns, "key"), attrs).text = _enc(k.data)
    else:
        for k in e.keys:
            attrs = {"rid": str(k.rid)}
            if k.kex:
                attrs["prekey"] = "true"
            ET.SubElement(header, _q(ns, "key"), attrs).text = _enc(k.data)
        ET.SubElement(header, _q(ns, "iv")).text = _enc(e.iv or b"")
    if e.payload is not None:
        ET.SubElement(root, _q(ns, "payload")).text = _enc(e.payload)
    return root


def _true(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1")


def parse_encrypted(element: ET.Element) -> EncryptedXml:
    ns = element.tag[1:].split("}")[0] if element.tag.startswith("{") else ""
    if ns not in (NS2, NS_LEGACY):
        raise OmemoXmlError("not an OMEMO <encrypted/> element")
    header = element.find(_q(ns, "header"))
    if header is None:
        raise OmemoXmlError("the encrypted message has no header")
    sid = _id(header.get("sid"), "sender device id")
    keys: list[KeyXml] = []
    if ns == NS2:
        for group in header.findall(_q(ns, "keys")):
            jid = (group.get("jid") or "").lower()
            for k in group.findall(_q(ns, "key")):
                keys.append(
                    KeyXml(
                        jid,
                        _id(k.get("rid"), "recipient id"),
                        _true(k.get("kex")),
                        _b64(k.text, "key"),
                    )
                )
        iv = None
    else:
        for k in header.findall(_q(ns, "key")):
            keys.append(
                KeyXml(
                    None,
                    _id(k.get("rid"), "recipient id"),
                    _true(k.get("prekey")),
                    _b64(k.text, "key"),
                )
            )
        iv_el = header.find(_q(ns, "iv"))
        if iv_el is None:
            raise OmemoXmlError("the legacy message has no IV")
        iv = _b64(iv_el.text, "iv")
    payload_el = element.find(_q(ns, "payload"))
    payload = _b64(payload_el.text, "payload") if payload_el is not None else None
    return EncryptedXml(ns, sid, tuple(keys), payload, iv)
