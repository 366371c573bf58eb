"""Legacy OMEMO (``eu.siacs.conversations.axolotl``, XEP-0384 0.3 + libsignal) — the facade.

The XMPP service treats this module and the OMEMO 2 engine alike.  Everything is pure: state in,
new state out; the input state is never modified, so on any exception the caller simply keeps
what it had.  Every failure on bad input is an :class:`~omemo_desktop.omemo.errors.OmemoError`.

Sending one message to n devices::

    iv, payload, km = encrypt_payload(body_utf8, random_bytes)      # AES-128-GCM, km = key ‖ tag
    session = initiate(identity, bundle, random_bytes)               # only for a device without one
    session, key = encrypt_key(session, km, random_bytes)            # per device; persist session
    # <key rid=… prekey='true' if key.kex>base64(key.data)</key>, <iv>, <payload>

Key-transport ("empty") messages: ``iv, km = key_transport(random_bytes)`` (16 random bytes
of key material, as Conversations and python-oldmemo send), then ``encrypt_key`` per device and
no ``<payload>``.

Receiving the ``<key>`` addressed to our device::

    d = decrypt_key(identity, own_prekeys, session_or_None, key_data, kex)
    # persist d.session; if d.used_prekey_id is not None: own_prekeys.without(id).refill(...),
    # republish the bundle; if d.send_empty_back or d.heartbeat_due: send a key-transport message.
    body = decrypt_payload(iv, payload, d.key_material)             # when a <payload> exists

API:

``initiate(own_identity, peer_bundle, random_bytes, *, registration_id=None) -> Session``
    Verifies the bundle signature (curvesig or XEdDSA), picks a random one-time pre-key and runs
    libsignal's X3DH.  The session sends PreKeySignalMessages until the peer answers.
``encrypt_key(session, key_material, random_bytes) -> (Session, KeyElement(data, kex))``
    ``random_bytes`` is needed because the sending half of a DH ratchet step is taken lazily.
``decrypt_key(own_identity, own_prekeys, session_or_None, data, kex, *, expected_identity=None)``
    returns ``Decrypted(session, key_material, used_prekey_id, send_empty_back, heartbeat_due,
    new_session)``.  A PreKeySignalMessage whose base key matches the current or an archived
    state is decrypted with that state (no pre-key used); otherwise a new session is built and
    the old one archived.  Raises DuplicateMessage (ignore silently), UnknownPreKey, NoSession,
    IdentityMismatch (the key exchange's identity differs from ``expected_identity`` or from
    the stored session's), AuthenticationFailed, MalformedMessage, ….
``encrypt_payload(plaintext, random_bytes) -> (iv, payload_ct, key_material)``
``decrypt_payload(iv, payload_ct, key_material) -> bytes``
``key_transport(random_bytes) -> (iv, key_material)``

Sessions and pre-key state serialize to versioned blobs (``Session.serialize`` /
``Session.deserialize``, ``OwnPreKeys.serialize`` / ``OwnPreKeys.deserialize``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from .. import primitives
from ..errors import IdentityMismatch, MalformedMessage, NoSession, UnknownPreKey
from ..keys import IdentityKeyPair
from . import session as _session
from . import wire
from .bundle import Bundle, OwnPreKeys
from .session import Session

__all__ = [
    "HEARTBEAT_AFTER",
    "NAMESPACE",
    "Decrypted",
    "KeyElement",
    "decrypt_key",
    "decrypt_payload",
    "encrypt_key",
    "encrypt_payload",
    "initiate",
    "key_transport",
]

RandomBytes = Callable[[int], bytes]

NAMESPACE: Final = "eu.siacs.conversations.axolotl"
#: Send a key-transport message after this many received messages without sending (python-omemo).
HEARTBEAT_AFTER: Final = 53
KEY_TRANSPORT_LENGTH: Final = 16
PAYLOAD_KEY_LENGTH: Final = 16
PAYLOAD_IV_LENGTH: Final = 12
TAG_LENGTH: Final = 16


@dataclass(frozen=True, slots=True)
class KeyElement:
    data: bytes
    kex: bool  # prekey='true'


@dataclass(frozen=True, slots=True)
class Decrypted:
    session: Session
    key_material: bytes
    used_prekey_id: int | None
    #: a new session was built from a key exchange: answer with a key-transport message
    send_empty_back: bool
    #: 53+ messages received since we last sent in this session: send a key-transport message
    heartbeat_due: bool
    #: a new session was built (it replaces the stored one, which is kept as archived state)
    new_session: bool


def initiate(
    own_identity: IdentityKeyPair,
    peer_bundle: Bundle,
    random_bytes: RandomBytes,
    *,
    registration_id: int | None = None,
) -> Session:
    peer_bundle.verify()
    ids = sorted(peer_bundle.pre_keys)
    if not ids:
        raise MalformedMessage("bundle: no pre-keys")
    pre_key_id = ids[int.from_bytes(random_bytes(4), "big") % len(ids)]
    return _session.build_active(
        own_identity,
        peer_identity_key=peer_bundle.identity_key,
        signed_pre_key=peer_bundle.signed_pre_key,
        signed_pre_key_id=peer_bundle.signed_pre_key_id,
        pre_key=peer_bundle.pre_keys[pre_key_id],
        pre_key_id=pre_key_id,
        random_bytes=random_bytes,
        registration_id=registration_id,
    )


def encrypt_key(
    session: Session, key_material: bytes, random_bytes: RandomBytes
) -> tuple[Session, KeyElement]:
    kex = session.pending is not None
    new, data = _session.encrypt(session, key_material, random_bytes)
    return new, KeyElement(data, kex)


def _decrypted(new: Session, plaintext: bytes, used: int | None, kex: bool) -> Decrypted:
    return Decrypted(
        session=new,
        key_material=plaintext,
        used_prekey_id=used,
        send_empty_back=kex and not new.initiator and new.ratchet.cks is None,
        heartbeat_due=new.received_since_sent >= HEARTBEAT_AFTER,
        new_session=used is not None,
    )


def decrypt_key(
    own_identity: IdentityKeyPair,
    own_prekeys: OwnPreKeys,
    session: Session | None,
    data: bytes,
    kex: bool,
    *,
    expected_identity: bytes | None = None,
) -> Decrypted:
    """Decrypt the content of a ``<key>`` addressed to our device.

    ``expected_identity``: the 32-byte Curve25519 identity key from the sender's published
    bundle, if known; a key exchange carrying another key raises ``IdentityMismatch``.
    """
    if not kex:
        if session is None:
            raise NoSession(
                "no legacy session with this device and the message has no key exchange"
            )
        new, plaintext = _session.decrypt(session, data)
        return _decrypted(new, plaintext, None, False)

    pkm = wire.parse_pre_key_signal_message(data)
    if expected_identity is not None and pkm.identity_key != expected_identity:
        raise IdentityMismatch("the key exchange's identity key differs from the published one")
    if session is not None:
        if any(s.base_key == pkm.base_key for s in session.states()):
            # A repeated key exchange of a session we already have: just decrypt.
            if session.peer_identity_key != pkm.identity_key:
                raise IdentityMismatch("key exchange from a different identity key")
            new, plaintext = _session.decrypt(session, pkm.message)
            return _decrypted(new, plaintext, None, True)
        if session.peer_identity_key != pkm.identity_key:
            raise IdentityMismatch(
                "this device's key exchange uses another identity key than our session"
            )
    spk = own_prekeys.find_signed_pre_key(pkm.signed_pre_key_id)
    if spk is None:
        raise UnknownPreKey(f"unknown signed pre-key id {pkm.signed_pre_key_id}")
    pk = own_prekeys.pre_keys.get(pkm.pre_key_id)
    if pk is None:
        raise UnknownPreKey(f"unknown or already used pre-key id {pkm.pre_key_id}")
    fresh = _session.build_passive(
        own_identity,
        peer_identity_key=pkm.identity_key,
        base_key=pkm.base_key,
        signed_pre_key=spk.pair,
        pre_key=pk,
    )
    new, plaintext = _session.decrypt(fresh, pkm.message)
    if session is not None:
        archived = session.states()[: _session.MAX_ARCHIVED]
        new = Session(
            new.own_identity_key,
            new.peer_identity_key,
            new.base_key,
            new.initiator,
            new.ratchet,
            new.pending,
            new.received_since_sent,
            archived,
        )
    return _decrypted(new, plaintext, pkm.pre_key_id, True)


def encrypt_payload(plaintext: bytes, random_bytes: RandomBytes) -> tuple[bytes, bytes, bytes]:
    """AES-128-GCM; returns (iv 12, ciphertext without tag, key material = key 16 ‖ tag 16)."""
    key = random_bytes(PAYLOAD_KEY_LENGTH)
    iv = random_bytes(PAYLOAD_IV_LENGTH)
    ct, tag = primitives.aes_gcm_encrypt(key, iv, plaintext)
    return iv, ct, key + tag


def decrypt_payload(iv: bytes, payload_ct: bytes, key_material: bytes) -> bytes:
    """Decrypt a ``<payload>``; also accepts old senders that appended the tag to the payload."""
    if not 8 <= len(iv) <= 128:
        raise MalformedMessage(f"payload IV must be 12 (or 16) bytes, got {len(iv)}")
    if len(key_material) == PAYLOAD_KEY_LENGTH + TAG_LENGTH:
        key, tag, ct = key_material[:16], key_material[16:], payload_ct
    elif len(key_material) == PAYLOAD_KEY_LENGTH:
        if len(payload_ct) < TAG_LENGTH:
            raise MalformedMessage("payload too short to carry an authentication tag")
        key, tag, ct = key_material, payload_ct[-TAG_LENGTH:], payload_ct[:-TAG_LENGTH]
    else:
        raise MalformedMessage(f"key material must be 16 or 32 bytes, got {len(key_material)}")
    return primitives.aes_gcm_decrypt(key, iv, ct, tag)


def key_transport(random_bytes: RandomBytes) -> tuple[bytes, bytes]:
    """(iv, key material) for a key-transport / empty message (no ``<payload>``)."""
    return random_bytes(PAYLOAD_IV_LENGTH), random_bytes(KEY_TRANSPORT_LENGTH)
