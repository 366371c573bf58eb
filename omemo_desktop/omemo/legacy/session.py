"""Legacy sessions: libsignal's X3DH ("RatchetingSession") and the legacy ratchet profile.

The Double Ratchet itself is the shared one in :mod:`omemo_desktop.omemo.ratchet`; this module
supplies :data:`PROFILE` (WhisperRatchet / WhisperMessageKeys, SignalMessage encoding with the
8-byte MAC, 2000-key skip limit, libsignal's ``previousCounter`` quirk) and the session record
around the ratchet state: identity keys, the X3DH base key, the unacknowledged pre-key header,
and up to :data:`MAX_ARCHIVED` older session states that are tried when the current one fails
(as libsignal does).

MAC direction: libsignal authenticates ``IK_sender33 ‖ IK_receiver33`` — the AD is passed per
call, sender first, so it swaps with the direction.

``previousCounter``: we send the *count* of messages in the previous sending chain (what the
Double Ratchet spec and python-oldmemo's receiver expect; libsignal ignores the field), and when
receiving we also derive the key at index ``pn`` (``pn_inclusive``) because libsignal senders put
the last *index* there; the ratchet keeps that key apart as *speculative* (a few DH steps at most).

Session blob versions: 1 had one skipped-key store (on loading, its keys count as genuinely
skipped); 2 adds ``RatchetState.speculative`` (protobuf field 12, absent in version 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Final

from .. import primitives, ratchet
from ..errors import (
    AuthenticationFailed,
    DuplicateMessage,
    InvalidKey,
    MalformedMessage,
    OmemoError,
    StateVersionError,
)
from ..keys import IdentityKeyPair, X25519KeyPair
from . import proto, wire

RandomBytes = Callable[[int], bytes]

X3DH_INFO: Final = b"WhisperText"
ROOT_INFO: Final = b"WhisperRatchet"
MESSAGE_KEY_INFO: Final = b"WhisperMessageKeys"
MAX_SKIP: Final = 2000
MAX_STORED: Final = 2000
MAX_ARCHIVED: Final = 5
_FF32: Final = b"\xff" * 32
SESSION_MAGIC: Final = b"OLSS"
SESSION_VERSION: Final = 2
#: versions :meth:`Session.deserialize` still reads
SESSION_VERSIONS: Final = (1, 2)


class LegacyProfile:
    """The libsignal v3 parameters for :mod:`omemo_desktop.omemo.ratchet`.

    ``ad`` is ``u(IK_sender) ‖ u(IK_receiver)`` (64 bytes); the 0x05 prefixes are added here.
    """

    root_info: Final = ROOT_INFO
    max_skip: Final = MAX_SKIP
    max_stored: Final = MAX_STORED
    pn_inclusive: Final = True

    def seal(
        self, message_key: bytes, header: ratchet.Header, plaintext: bytes, ad: bytes
    ) -> bytes:
        enc_key, auth_key, iv = ratchet.expand_message_key(message_key, MESSAGE_KEY_INFO)
        ct = ratchet.cbc_encrypt(enc_key, iv, plaintext)
        body = wire.build_signal_message(header.dh_pub, header.n, header.pn, ct)
        return body + wire.mac8(auth_key, ad[:32], ad[32:], body)

    def parse(self, data: bytes) -> ratchet.ParsedMessage:
        msg = wire.parse_signal_message(data)
        return ratchet.ParsedMessage(
            ratchet.Header(msg.ratchet_key, msg.previous_counter, msg.counter),
            msg.ciphertext,
            msg.mac,
            msg.authenticated,
        )

    def open(self, message_key: bytes, message: ratchet.ParsedMessage, ad: bytes) -> bytes:
        enc_key, auth_key, iv = ratchet.expand_message_key(message_key, MESSAGE_KEY_INFO)
        expected = wire.mac8(auth_key, ad[:32], ad[32:], message.authenticated)
        if not primitives.constant_time_equal(expected, message.mac):
            raise AuthenticationFailed("SignalMessage MAC does not verify")
        return ratchet.cbc_decrypt(enc_key, iv, message.ciphertext)


PROFILE: Final = LegacyProfile()


@dataclass(frozen=True, slots=True)
class PendingPreKey:
    """The pre-key header the initiator repeats until the peer has answered."""

    pre_key_id: int
    signed_pre_key_id: int
    registration_id: int | None = None


@dataclass(frozen=True, slots=True)
class Session:
    """One device-to-device session (plus archived older states with the same device)."""

    own_identity_key: bytes  # u-coordinates (32 bytes)
    peer_identity_key: bytes
    base_key: bytes  # the X3DH ephemeral key that built this session
    initiator: bool
    ratchet: ratchet.RatchetState = field(repr=False)
    pending: PendingPreKey | None = None
    received_since_sent: int = 0
    archived: tuple[Session, ...] = field(default=(), repr=False)

    @property
    def send_ad(self) -> bytes:
        return self.own_identity_key + self.peer_identity_key

    @property
    def receive_ad(self) -> bytes:
        return self.peer_identity_key + self.own_identity_key

    def states(self) -> tuple[Session, ...]:
        return (replace(self, archived=()), *self.archived)

    # ---- versioned serialization ----

    def serialize(self) -> bytes:
        blob = proto.SessionBlob()
        _record_to_proto(self, blob.current)
        for old in self.archived:
            _record_to_proto(old, blob.archived.add())
        return SESSION_MAGIC + bytes([SESSION_VERSION]) + proto.serialize(blob)

    @classmethod
    def deserialize(cls, data: bytes) -> Session:
        what = "legacy session"
        if len(data) < len(SESSION_MAGIC) + 1 or not data.startswith(SESSION_MAGIC):
            raise StateVersionError(f"{what}: not a serialized legacy session")
        version = data[len(SESSION_MAGIC)]
        if version not in SESSION_VERSIONS:
            raise StateVersionError(f"{what}: unknown version {version}")
        try:
            blob = proto.parse(proto.SessionBlob, data[len(SESSION_MAGIC) + 1 :], what)
            records = (blob.current, *blob.archived)
            if version < 2 and any(r.ratchet.speculative for r in records):
                raise MalformedMessage("speculative keys in a version 1 blob")
            archived = tuple(_record_from_proto(r, ()) for r in blob.archived)
            return _record_from_proto(blob.current, archived)
        except (MalformedMessage, InvalidKey) as exc:
            raise StateVersionError(f"corrupt {what}: {exc}") from exc


def _record_to_proto(s: Session, out: Any) -> None:
    out.own_identity_key = s.own_identity_key
    out.peer_identity_key = s.peer_identity_key
    out.base_key = s.base_key
    out.initiator = s.initiator
    out.received_since_sent = s.received_since_sent
    if s.pending is not None:
        out.pending.pre_key_id = s.pending.pre_key_id
        out.pending.signed_pre_key_id = s.pending.signed_pre_key_id
        if s.pending.registration_id is not None:
            out.pending.registration_id = s.pending.registration_id
    r, o = s.ratchet, out.ratchet
    o.root_key, o.dhs_private, o.dhs_public = r.root_key, r.dhs_private, r.dhs_public
    if r.dhr is not None:
        o.dhr = r.dhr
    if r.cks is not None:
        o.cks = r.cks
    if r.ckr is not None:
        o.ckr = r.ckr
    o.ns, o.nr, o.pn = r.ns, r.nr, r.pn
    for (dh_pub, n), mk in r.skipped.items():
        o.skipped.add(ratchet_key=dh_pub, counter=n, message_key=mk)
    for (dh_pub, n), mk in r.speculative.items():
        o.speculative.add(ratchet_key=dh_pub, counter=n, message_key=mk)
    o.previous_dhr.extend(r.previous_dhr)


def _key32(value: bytes, what: str) -> bytes:
    if len(value) != 32:
        raise InvalidKey(f"{what} must be 32 bytes")
    return value


def _keys_from_proto(keys: Any) -> ratchet.SkippedKeys:
    if not keys:
        return ratchet.EMPTY_SKIPPED
    return MappingProxyType({(k.ratchet_key, k.counter): k.message_key for k in keys})


def _record_from_proto(m: Any, archived: tuple[Session, ...]) -> Session:
    r = m.ratchet
    state = ratchet.RatchetState(
        root_key=_key32(r.root_key, "root key"),
        dhs_private=_key32(r.dhs_private, "ratchet private key"),
        dhs_public=_key32(r.dhs_public, "ratchet public key"),
        dhr=_key32(r.dhr, "peer ratchet key") if r.HasField("dhr") else None,
        cks=_key32(r.cks, "sending chain key") if r.HasField("cks") else None,
        ckr=_key32(r.ckr, "receiving chain key") if r.HasField("ckr") else None,
        ns=r.ns,
        nr=r.nr,
        pn=r.pn,
        skipped=_keys_from_proto(r.skipped),
        previous_dhr=tuple(r.previous_dhr),
        speculative=_keys_from_proto(r.speculative),
    )
    pending = None
    if m.HasField("pending"):
        p = m.pending
        reg = p.registration_id if p.HasField("registration_id") else None
        pending = PendingPreKey(p.pre_key_id, p.signed_pre_key_id, reg)
    return Session(
        own_identity_key=_key32(m.own_identity_key, "own identity key"),
        peer_identity_key=_key32(m.peer_identity_key, "peer identity key"),
        base_key=_key32(m.base_key, "base key"),
        initiator=m.initiator,
        ratchet=state,
        pending=pending,
        received_since_sent=m.received_since_sent,
        archived=archived,
    )


# ---- X3DH (libsignal RatchetingSession) ---------------------------------------------------


def x3dh_secret(dh1: bytes, dh2: bytes, dh3: bytes, dh4: bytes | None) -> tuple[bytes, bytes]:
    """(root key, chain key 0) = HKDF(0xFF*32 ‖ DH1 ‖ DH2 ‖ DH3 [‖ DH4], "WhisperText", 64)."""
    ikm = _FF32 + dh1 + dh2 + dh3 + (dh4 or b"")
    okm = primitives.hkdf_sha256(ikm, primitives.ZERO_SALT, X3DH_INFO, 64)
    return okm[:32], okm[32:]


def build_active(
    identity: IdentityKeyPair,
    *,
    peer_identity_key: bytes,
    signed_pre_key: bytes,
    signed_pre_key_id: int,
    pre_key: bytes,
    pre_key_id: int,
    random_bytes: RandomBytes,
    registration_id: int | None = None,
) -> Session:
    """Alice's side; the bundle must already be verified."""
    ek = X25519KeyPair.generate(random_bytes)
    root_key, _ck0 = x3dh_secret(
        identity.dh(signed_pre_key), ek.dh(peer_identity_key), ek.dh(signed_pre_key), ek.dh(pre_key)
    )
    state = ratchet.init_active(PROFILE, root_key, signed_pre_key, random_bytes)
    return Session(
        own_identity_key=identity.x25519_public,
        peer_identity_key=peer_identity_key,
        base_key=ek.public,
        initiator=True,
        ratchet=state,
        pending=PendingPreKey(pre_key_id, signed_pre_key_id, registration_id),
    )


def build_passive(
    identity: IdentityKeyPair,
    *,
    peer_identity_key: bytes,
    base_key: bytes,
    signed_pre_key: X25519KeyPair,
    pre_key: X25519KeyPair,
) -> Session:
    """Bob's side, from a PreKeySignalMessage's keys and our private pre-keys."""
    root_key, _ck0 = x3dh_secret(
        signed_pre_key.dh(peer_identity_key),
        identity.dh(base_key),
        signed_pre_key.dh(base_key),
        pre_key.dh(base_key),
    )
    state = ratchet.init_passive(root_key, signed_pre_key.private, signed_pre_key.public)
    return Session(
        own_identity_key=identity.x25519_public,
        peer_identity_key=peer_identity_key,
        base_key=base_key,
        initiator=False,
        ratchet=state,
    )


# ---- one message -------------------------------------------------------------------------


def encrypt(session: Session, plaintext: bytes, random_bytes: RandomBytes) -> tuple[Session, bytes]:
    """Encrypt ``plaintext``; returns the new session and the serialized (PreKey)SignalMessage."""
    state, data = ratchet.encrypt(
        PROFILE, session.ratchet, plaintext, session.send_ad, random_bytes
    )
    pending = session.pending
    if pending is not None:
        data = wire.build_pre_key_signal_message(
            pre_key_id=pending.pre_key_id,
            signed_pre_key_id=pending.signed_pre_key_id,
            base_key=session.base_key,
            identity_key=session.own_identity_key,
            message=data,
            registration_id=pending.registration_id,
        )
    new = Session(
        session.own_identity_key,
        session.peer_identity_key,
        session.base_key,
        session.initiator,
        state,
        pending,
        0,
        session.archived,
    )
    return new, data


def _decrypt_one(state: Session, data: bytes) -> tuple[Session, bytes]:
    new_ratchet, result = ratchet.decrypt(PROFILE, state.ratchet, data, state.receive_ad)
    new = Session(
        state.own_identity_key,
        state.peer_identity_key,
        state.base_key,
        state.initiator,
        new_ratchet,
        None,  # the peer answered: stop sending the pre-key header
        state.received_since_sent + 1,
        state.archived,
    )
    return new, result.plaintext


def decrypt(session: Session, data: bytes) -> tuple[Session, bytes]:
    """Decrypt a serialized SignalMessage with the current state, then the archived ones.

    A state that succeeds becomes the current one (libsignal's promotion rule).
    """
    try:
        return _decrypt_one(session, data)
    except (AuthenticationFailed, InvalidKey) as exc:
        first_error: OmemoError = exc
    duplicate: DuplicateMessage | None = None
    for i, old in enumerate(session.archived):
        try:
            promoted, plaintext = _decrypt_one(old, data)
        except DuplicateMessage as exc:
            duplicate = exc
            continue
        except (AuthenticationFailed, InvalidKey):
            continue
        others = session.archived[:i] + session.archived[i + 1 :]
        current = replace(session, archived=())
        return replace(promoted, archived=(current, *others)[:MAX_ARCHIVED]), plaintext
    if duplicate is not None:
        raise duplicate
    raise first_error
