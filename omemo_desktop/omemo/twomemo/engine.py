"""The OMEMO 2 (``urn:xmpp:omemo:2``, XEP-0384 0.9) facade the XMPP service calls.

Pure functions over immutable state: each returns the new state to persist (in the same
transaction as the message) and never mutates its input; on an exception nothing changed.
Randomness comes only from ``random_bytes`` (pass ``os.urandom``); time is not needed here.

Sending to one device::

    session = initiate(own_identity, peer_bundle, os.urandom)        # once, lazily
    payload_ct, key_material = encrypt_payload(envelope_bytes, os.urandom)   # once per message
    session, key = encrypt_key(session, key_material, os.urandom)    # per device
    # -> <key rid=... kex='true' if key.kex>base64(key.data)</key>, <payload>base64(payload_ct)

Empty messages (session completion, heartbeats) use ``EMPTY_KEY_MATERIAL`` and no payload.

Receiving the ``<key>`` addressed to us::

    result = decrypt_key(own_identity, own_prekeys, stored_session_or_None, data, kex,
                         expected_identity=published_ik_or_None)
    # persist result.session; if result.used_prekey_id is not None: remove that pre-key
    # (own_prekeys.remove_prekey(...).refill(...)) and republish the bundle;
    # if result.send_empty_back or result.heartbeat_due: send an empty message
    plaintext = decrypt_payload(payload_ct, result.key_material)   # unless is_empty(...)

Errors are :class:`~omemo_desktop.omemo.errors.OmemoError` subclasses;
``DuplicateMessage`` means "already decrypted once, ignore silently".

Other public pieces: :mod:`.x3dh` (``Bundle``, ``OwnPreKeys``, ``generate_device_id``),
:mod:`.session` (blobs), :mod:`.labels`, :mod:`.optout`, and ``omemo_desktop.omemo.sce``,
``.fingerprint``, ``.colors``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from .. import ratchet
from ..errors import IdentityMismatch, NoSession
from ..keys import IdentityKeyPair
from . import wire
from .payload import EMPTY_KEY_MATERIAL, decrypt_payload, encrypt_payload, is_empty
from .profile import PROFILE
from .session import Session
from .x3dh import Bundle, KexHeader, OwnPreKeys, agree_active, agree_passive

__all__ = [
    "EMPTY_KEY_MATERIAL",
    "HEARTBEAT_THRESHOLD",
    "Decrypted",
    "KeyElement",
    "decrypt_key",
    "decrypt_payload",
    "encrypt_key",
    "encrypt_payload",
    "initiate",
    "is_empty",
]

RandomBytes = Callable[[int], bytes]

#: the first message of a peer chain with n >= 53 requires an empty message back
HEARTBEAT_THRESHOLD: Final = 53


@dataclass(frozen=True, slots=True)
class KeyElement:
    """The content of one ``<key>`` element: ``data`` (to base64) and the ``kex`` attribute."""

    data: bytes
    kex: bool


@dataclass(frozen=True, slots=True)
class Decrypted:
    session: Session
    key_material: bytes
    #: a one-time pre-key consumed by a new session: delete it (maybe after catch-up), refill
    used_prekey_id: int | None
    #: a new session was built from a key exchange: answer with an empty message
    send_empty_back: bool
    #: the peer's chain reached n >= 53 without an answer: send an empty message
    heartbeat_due: bool
    #: a new session was built (it replaces any stored one)
    new_session: bool


def initiate(
    own_identity: IdentityKeyPair, peer_bundle: Bundle, random_bytes: RandomBytes
) -> Session:
    """Build a session from the peer's bundle (verified first; X3DH active side)."""
    sk, ad, header, _ = agree_active(own_identity, peer_bundle, random_bytes)
    state = ratchet.init_active(PROFILE, sk, peer_bundle.spk, random_bytes)
    return Session(state, ad, peer_bundle.ik, header, active=True, confirmed=False)


def encrypt_key(
    session: Session, key_material: bytes, random_bytes: RandomBytes
) -> tuple[Session, KeyElement]:
    """Encrypt 48 bytes of key material (or 32 zero bytes for an empty message).

    ``random_bytes`` is only used when a DH ratchet step is due (the first message after
    receiving a new ratchet key from the peer).
    """
    state, data = ratchet.encrypt(PROFILE, session.ratchet, key_material, session.ad, random_bytes)
    new_session = Session(
        state,
        session.ad,
        session.peer_identity,
        session.kex,
        session.active,
        session.confirmed,
        session.heartbeat_chain,
    )
    if session.active and not session.confirmed:
        k = session.kex
        return new_session, KeyElement(
            wire.encode_key_exchange(k.pk_id, k.spk_id, k.ik, k.ek, data), True
        )
    return new_session, KeyElement(data, False)


def _decrypt_with(session: Session, data: bytes) -> tuple[Session, bytes, bool]:
    state, result = ratchet.decrypt(PROFILE, session.ratchet, data, session.ad)
    header = result.header
    heartbeat = (
        header.n >= HEARTBEAT_THRESHOLD
        and header.dh_pub == state.dhr
        and session.heartbeat_chain != header.dh_pub
    )
    new = Session(
        state,
        session.ad,
        session.peer_identity,
        session.kex,
        session.active,
        True,
        header.dh_pub if heartbeat else session.heartbeat_chain,
    )
    return new, result.plaintext, heartbeat


def decrypt_key(
    own_identity: IdentityKeyPair,
    own_prekeys: OwnPreKeys,
    session: Session | None,
    data: bytes,
    kex: bool,
    *,
    expected_identity: bytes | None = None,
) -> Decrypted:
    """Decrypt the content of a ``<key>`` element addressed to our device.

    ``expected_identity``: the Ed25519 identity key from the sender's published bundle, if
    known; a key exchange carrying another key raises ``IdentityMismatch``.
    """
    if not kex:
        if session is None:
            raise NoSession("no session with this device; it must send a key exchange first")
        new, key_material, heartbeat = _decrypt_with(session, data)
        return Decrypted(new, key_material, None, False, heartbeat, False)

    exchange = wire.parse_key_exchange(data)
    if expected_identity is not None and exchange.ik != expected_identity:
        raise IdentityMismatch("the key exchange's identity key differs from the published one")
    header = KexHeader(exchange.pk_id, exchange.spk_id, exchange.ik, exchange.ek)
    inner = wire.encode_authenticated(exchange.message.mac, exchange.message.message)
    if session is not None and not session.active and session.kex == header:
        # The peer repeats the key exchange until it hears from us: same session.
        new, key_material, heartbeat = _decrypt_with(session, inner)
        return Decrypted(new, key_material, None, False, heartbeat, False)

    sk, ad, spk = agree_passive(own_identity, own_prekeys, header)
    fresh = Session(
        ratchet.init_passive(sk, spk.private, spk.public),
        ad,
        exchange.ik,
        header,
        active=False,
        confirmed=True,
    )
    new, key_material, heartbeat = _decrypt_with(fresh, inner)
    return Decrypted(new, key_material, exchange.pk_id, True, heartbeat, True)
