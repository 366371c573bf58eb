"""Device labels (XEP-0384 §5.3.1): ``labelsig`` = base64 Ed25519 signature over the UTF-8 label."""

from __future__ import annotations

import base64
import binascii

from ..errors import BadSignature
from ..keys import IdentityKeyPair
from ..primitives import ed25519_verify


def sign_label(identity: IdentityKeyPair, label: str) -> str:
    return base64.b64encode(identity.sign(label.encode("utf-8"))).decode("ascii")


def verified_label(label: str | None, labelsig: str | None, identity_key: bytes) -> str | None:
    """The label if ``labelsig`` verifies against the device's Ed25519 identity key, else None."""
    if label is None or labelsig is None:
        return None
    try:
        signature = base64.b64decode("".join(labelsig.split()), validate=True)
        ed25519_verify(identity_key, signature, label.encode("utf-8"))
    except (binascii.Error, ValueError, BadSignature):
        return None
    return label
