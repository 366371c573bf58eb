"""OMEMO verification URIs in the two formats in use.

- `xmpp:JID?omemo-sid-ID=FP;omemo-sid-ID2=FP2` (Conversations, Dino, Gajim, Monal,
  Profanity); legacy fingerprints may carry the 05 prefix. This is the one we emit.
- XEP-0434 `xmpp:JID?trust-message;encryption=urn:xmpp:omemo:2;trust=KEYID...` (Kaidan),
  whose key ids are the Ed25519 identity keys (hex or base64); we map them to fingerprints.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import unquote

from omemo_desktop.omemo.errors import InvalidKey
from omemo_desktop.omemo.fingerprint import fingerprint

from .errors import ServiceError

_HEX64 = re.compile(r"^(05)?([0-9a-f]{64})$")


def verification_uri(jid: str, devices: list[tuple[int, str]]) -> str:
    params = ";".join(f"omemo-sid-{d}={fp}" for d, fp in devices)
    return f"xmpp:{jid}?{params}"


def _key_to_fp(value: str) -> str:
    text = value.strip().lower()
    m = _HEX64.match(text)
    raw: bytes
    if m:
        raw = bytes.fromhex(m.group(2))
    else:
        try:
            raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ServiceError(f"The key {value!r} in the link is not readable.") from exc
    try:
        return fingerprint(raw)
    except InvalidKey as exc:
        raise ServiceError(f"The key {value!r} in the link is not a valid identity key.") from exc


def parse_verification_uri(uri: str) -> tuple[str, list[tuple[int, str]]]:
    """(bare JID, [(device id, 64-hex fingerprint)]); device id 0 = any device with that key."""
    if not uri.startswith("xmpp:") or "?" not in uri:
        raise ServiceError("This is not an OMEMO verification link (xmpp:...?omemo-sid-...).")
    jid, _, query = uri[5:].partition("?")
    jid = unquote(jid).lstrip("/").lower()
    pairs: list[tuple[int, str]] = []
    params = [p for p in re.split("[;&]", query) if p]
    if params and params[0] == "trust-message":
        raise ServiceError(
            "Kaidan-style trust links name keys, not devices; open the contact's device page "
            "and compare the fingerprints shown there instead."
        )
    for param in params:
        name, _, value = param.partition("=")
        if name.startswith("omemo-sid-"):
            try:
                device_id = int(name.removeprefix("omemo-sid-"))
            except ValueError as exc:
                raise ServiceError(f"The device id in {name!r} is not a number.") from exc
            m = _HEX64.match(unquote(value).strip().lower())
            if m is None:
                raise ServiceError(f"The fingerprint for device {device_id} is malformed.")
            pairs.append((device_id, m.group(2)))
    if not jid or not pairs:
        raise ServiceError("The link names no device to verify.")
    return jid, pairs


__all__ = ["_key_to_fp", "parse_verification_uri", "verification_uri"]
