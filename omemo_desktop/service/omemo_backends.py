"""One interface over the two OMEMO versions, so the service's pipelines treat them alike.

Each backend wraps its protocol core's facade and the XML shapes of its namespace. Identity
keys for trust and fingerprints are always the 32-byte Curve25519 form, so one decision
covers a device in both namespaces and the user sees one fingerprint.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from omemo_desktop.omemo import primitives, sce
from omemo_desktop.omemo.errors import MalformedMessage
from omemo_desktop.omemo.keys import IdentityKeyPair
from omemo_desktop.omemo.legacy import bundle as legacy_bundle
from omemo_desktop.omemo.legacy import engine as legacy
from omemo_desktop.omemo.legacy import session as legacy_session
from omemo_desktop.omemo.twomemo import engine as two
from omemo_desktop.omemo.twomemo import session as two_session
from omemo_desktop.omemo.twomemo import x3dh
from omemo_desktop.omemo.twomemo.optout import find_opt_out
from omemo_desktop.storage.model import Encryption, Namespace
from omemo_desktop.xmpp import omemo_xml as ox

RandomBytes = Callable[[int], bytes]
NS_CLIENT: Final = "jabber:client"


class OptOut(Exception):
    """The sender asked to continue without OMEMO (XEP-0384: <opt-out/> in the SCE content)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class KeyOut:
    data: bytes
    kex: bool


@dataclass(frozen=True)
class KeyIn:
    session: Any
    key_material: bytes
    used_prekey_id: int | None
    send_empty_back: bool
    heartbeat_due: bool


@dataclass(frozen=True)
class SealedPayload:
    payload: bytes | None
    iv: bytes | None
    key_material: bytes


class Backend(Protocol):
    namespace: Namespace
    encryption: Encryption
    devices_node: str

    def bundle_node(self, device_id: int) -> str: ...
    def bundle_item(self, device_id: int) -> str: ...
    def new_prekeys(self, identity: IdentityKeyPair, rnd: RandomBytes, now: int) -> Any: ...
    def dump_prekeys(self, prekeys: Any) -> bytes: ...
    def load_prekeys(self, blob: bytes) -> Any: ...
    def refill(self, prekeys: Any, rnd: RandomBytes) -> Any: ...
    def without_prekey(self, prekeys: Any, pk_id: int) -> Any: ...
    def own_bundle(self, identity: IdentityKeyPair, prekeys: Any) -> ox.BundleXml: ...
    def peer_bundle(self, xml: ox.BundleXml) -> Any: ...
    def bundle_identity(self, bundle: Any) -> bytes: ...
    def initiate(self, identity: IdentityKeyPair, bundle: Any, rnd: RandomBytes) -> Any: ...
    def dump_session(self, session: Any) -> bytes: ...
    def load_session(self, blob: bytes) -> Any: ...
    def session_identity(self, session: Any) -> bytes: ...
    def encrypt_key(self, session: Any, km: bytes, rnd: RandomBytes) -> tuple[Any, KeyOut]: ...
    def decrypt_key(
        self, identity: IdentityKeyPair, prekeys: Any, session: Any | None, data: bytes, kex: bool
    ) -> KeyIn: ...
    def seal(
        self,
        body: str,
        rnd: RandomBytes,
        *,
        sender: str,
        recipient: str,
        now: int,
        extra: tuple[ET.Element, ...] = (),
    ) -> SealedPayload: ...
    def empty(self, rnd: RandomBytes) -> SealedPayload: ...
    def open(
        self,
        payload: bytes | None,
        iv: bytes | None,
        km: bytes,
        *,
        sender: str,
        expected_to: str | None = None,
    ) -> str | None: ...


class Omemo2Backend:
    namespace = Namespace.OMEMO2
    encryption = Encryption.OMEMO2
    devices_node = ox.NODE2_DEVICES

    def bundle_node(self, device_id: int) -> str:
        return ox.NODE2_BUNDLES

    def bundle_item(self, device_id: int) -> str:
        return str(device_id)

    def new_prekeys(self, identity: IdentityKeyPair, rnd: RandomBytes, now: int) -> Any:
        return x3dh.OwnPreKeys.create(identity, rnd, now)

    def dump_prekeys(self, prekeys: Any) -> bytes:
        return two_session.dump_prekeys(prekeys)

    def load_prekeys(self, blob: bytes) -> Any:
        return two_session.load_prekeys(blob)

    def refill(self, prekeys: Any, rnd: RandomBytes) -> Any:
        return prekeys.refill(rnd) if prekeys.needs_refill() else prekeys

    def without_prekey(self, prekeys: Any, pk_id: int) -> Any:
        return prekeys.remove_prekey(pk_id)

    def own_bundle(self, identity: IdentityKeyPair, prekeys: Any) -> ox.BundleXml:
        b = prekeys.bundle(identity)
        return ox.BundleXml(ox.NS2, b.ik, b.spk_id, b.spk, b.spks, dict(b.prekeys))

    def peer_bundle(self, xml: ox.BundleXml) -> Any:
        b = x3dh.Bundle(xml.ik, xml.spk_id, xml.spk, xml.spks, xml.prekeys)
        b.verify()
        return b

    def bundle_identity(self, bundle: Any) -> bytes:
        return primitives.ed_to_mont(bundle.ik)

    def initiate(self, identity: IdentityKeyPair, bundle: Any, rnd: RandomBytes) -> Any:
        return two.initiate(identity, bundle, rnd)

    def dump_session(self, session: Any) -> bytes:
        return bytes(session.to_bytes())

    def load_session(self, blob: bytes) -> Any:
        return two_session.Session.from_bytes(blob)

    def session_identity(self, session: Any) -> bytes:
        return primitives.ed_to_mont(session.peer_identity)

    def encrypt_key(self, session: Any, km: bytes, rnd: RandomBytes) -> tuple[Any, KeyOut]:
        new, key = two.encrypt_key(session, km, rnd)
        return new, KeyOut(key.data, key.kex)

    def decrypt_key(
        self, identity: IdentityKeyPair, prekeys: Any, session: Any | None, data: bytes, kex: bool
    ) -> KeyIn:
        r = two.decrypt_key(identity, prekeys, session, data, kex)
        return KeyIn(
            r.session, r.key_material, r.used_prekey_id, r.send_empty_back, r.heartbeat_due
        )

    def seal(
        self,
        body: str,
        rnd: RandomBytes,
        *,
        sender: str,
        recipient: str,
        now: int,
        extra: tuple[ET.Element, ...] = (),
    ) -> SealedPayload:
        body_el = ET.Element(f"{{{NS_CLIENT}}}body")
        body_el.text = body
        envelope = sce.build_envelope(
            [body_el, *extra], rnd, from_jid=sender, to_jid=recipient, time=now
        )
        ct, km = two.encrypt_payload(envelope, rnd)
        return SealedPayload(ct, None, km)

    def empty(self, rnd: RandomBytes) -> SealedPayload:
        return SealedPayload(None, None, two.EMPTY_KEY_MATERIAL)

    def open(
        self,
        payload: bytes | None,
        iv: bytes | None,
        km: bytes,
        *,
        sender: str,
        expected_to: str | None = None,
    ) -> str | None:
        if payload is None or two.is_empty(km):
            return None
        envelope = sce.parse_envelope(two.decrypt_payload(payload, km))
        if envelope.from_jid is not None and envelope.from_jid.split("/")[0].lower() != sender:
            raise MalformedMessage(
                f"the encrypted envelope claims to be from {envelope.from_jid}, not {sender}"
            )
        # XEP-0420 <to/>: a group message turned private (or back) names the wrong recipient.
        to = envelope.to_jid.split("/")[0].lower() if envelope.to_jid else None
        if expected_to is not None and to is not None and to != expected_to:
            raise MalformedMessage(
                f"the message was written for {to} but arrived as a message for {expected_to}"
            )
        reason = find_opt_out(envelope.content)
        if reason is not None:
            raise OptOut(reason)
        for el in envelope.content:
            if el.tag == f"{{{NS_CLIENT}}}body":
                return el.text or ""
        return ""


class LegacyBackend:
    namespace = Namespace.LEGACY
    encryption = Encryption.LEGACY
    devices_node = ox.NODE_LEGACY_DEVICES

    def bundle_node(self, device_id: int) -> str:
        return f"{ox.NODE_LEGACY_BUNDLE_PREFIX}{device_id}"

    def bundle_item(self, device_id: int) -> str:
        return "current"

    def new_prekeys(self, identity: IdentityKeyPair, rnd: RandomBytes, now: int) -> Any:
        return legacy_bundle.OwnPreKeys.generate(identity, rnd)

    def dump_prekeys(self, prekeys: Any) -> bytes:
        return bytes(prekeys.serialize())

    def load_prekeys(self, blob: bytes) -> Any:
        return legacy_bundle.OwnPreKeys.deserialize(blob)

    def refill(self, prekeys: Any, rnd: RandomBytes) -> Any:
        return prekeys.refill(rnd) if len(prekeys.pre_keys) < 25 else prekeys

    def without_prekey(self, prekeys: Any, pk_id: int) -> Any:
        return prekeys.without(pk_id)

    def own_bundle(self, identity: IdentityKeyPair, prekeys: Any) -> ox.BundleXml:
        w = prekeys.bundle(identity).to_wire()
        return ox.BundleXml(
            ox.NS_LEGACY,
            w["identity_key"],
            w["signed_pre_key_id"],
            w["signed_pre_key"],
            w["signed_pre_key_signature"],
            dict(w["pre_keys"]),
        )

    def peer_bundle(self, xml: ox.BundleXml) -> Any:
        b = legacy_bundle.Bundle.from_wire(
            identity_key=xml.ik,
            signed_pre_key_id=xml.spk_id,
            signed_pre_key=xml.spk,
            signed_pre_key_signature=xml.spks,
            pre_keys=xml.prekeys,
        )
        b.verify()
        return b

    def bundle_identity(self, bundle: Any) -> bytes:
        return bytes(bundle.identity_key)

    def initiate(self, identity: IdentityKeyPair, bundle: Any, rnd: RandomBytes) -> Any:
        return legacy.initiate(identity, bundle, rnd)

    def dump_session(self, session: Any) -> bytes:
        return bytes(session.serialize())

    def load_session(self, blob: bytes) -> Any:
        return legacy_session.Session.deserialize(blob)

    def session_identity(self, session: Any) -> bytes:
        return bytes(session.peer_identity_key)

    def encrypt_key(self, session: Any, km: bytes, rnd: RandomBytes) -> tuple[Any, KeyOut]:
        new, key = legacy.encrypt_key(session, km, rnd)
        return new, KeyOut(key.data, key.kex)

    def decrypt_key(
        self, identity: IdentityKeyPair, prekeys: Any, session: Any | None, data: bytes, kex: bool
    ) -> KeyIn:
        r = legacy.decrypt_key(identity, prekeys, session, data, kex)
        return KeyIn(
            r.session, r.key_material, r.used_prekey_id, r.send_empty_back, r.heartbeat_due
        )

    def seal(
        self,
        body: str,
        rnd: RandomBytes,
        *,
        sender: str,
        recipient: str,
        now: int,
        extra: tuple[ET.Element, ...] = (),
    ) -> SealedPayload:
        iv, ct, km = legacy.encrypt_payload(body.encode("utf-8"), rnd)
        return SealedPayload(ct, iv, km)

    def empty(self, rnd: RandomBytes) -> SealedPayload:
        iv, km = legacy.key_transport(rnd)
        return SealedPayload(None, iv, km)

    def open(
        self,
        payload: bytes | None,
        iv: bytes | None,
        km: bytes,
        *,
        sender: str,
        expected_to: str | None = None,
    ) -> str | None:
        if payload is None:
            return None
        if iv is None:
            raise MalformedMessage("the legacy message has no IV")
        try:
            return legacy.decrypt_payload(iv, payload, km).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedMessage("the decrypted message is not UTF-8 text") from exc


BACKENDS: Final[dict[Namespace, Backend]] = {
    Namespace.OMEMO2: Omemo2Backend(),
    Namespace.LEGACY: LegacyBackend(),
}
