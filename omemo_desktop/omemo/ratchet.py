"""The Double Ratchet, shared by OMEMO 2 and legacy OMEMO (pure, immutable state).

Version specifics live in a small *profile* object that the caller passes to every function;
this module knows nothing about protobuf, wire formats or info strings.

Profile API (:class:`RatchetProfile`, a structural Protocol — any object with these members):

``root_info: bytes``
    HKDF info of KDF_RK (``b"OMEMO Root Chain"``, legacy ``b"WhisperRatchet"``).
``max_skip: int``
    Largest number of message keys one message may make us skip (per chain part).
``max_stored: int``
    Message keys kept per session (skipped and speculative together); when there is no room,
    speculative keys go first, then the oldest skipped keys (FIFO).
``pn_inclusive: bool``
    When the peer's ratchet key changes, also derive the old chain's key at index ``pn``
    (libsignal/libomemo-c send the *last index* as ``pn`` instead of the count; the extra key
    makes their last message of a chain decryptable when it arrives late). That key is
    *speculative*: a spec-conforming peer (python-omemo, Gajim, us) never sent it, so it is kept
    apart from the genuinely skipped keys, only for the :data:`SPECULATIVE_CHAINS` most recent
    previous receiving chains, and never crowds genuine keys out of the store.
``seal(message_key, header, plaintext, ad) -> bytes``
    Encrypt and authenticate one message and return its wire bytes. ``message_key`` is the
    32-byte output of KDF_CK; use :func:`expand_message_key`, :func:`cbc_encrypt` and
    :func:`truncated_mac` for the usual AES-CBC + HMAC construction.
``parse(data) -> ParsedMessage``
    Parse wire bytes into the header and the pieces :meth:`open` needs. Must raise
    :class:`~omemo_desktop.omemo.errors.MalformedMessage` (an ``OmemoError``) on bad input,
    and must check that ``header.dh_pub`` is 32 bytes.
``open(message_key, message, ad) -> bytes``
    Verify the MAC (over the *received* bytes) and decrypt; raise ``AuthenticationFailed``.

The associated data ``ad`` is passed to :func:`encrypt`/:func:`decrypt` on every call (it is not
stored), so a profile whose AD depends on the direction (legacy: sender IK first) just passes a
different ``ad`` per direction.

State and functions:

- :class:`RatchetState` is a frozen dataclass. :func:`encrypt` and :func:`decrypt` return
  ``(new_state, output)`` and never mutate their input; on any exception the input state is still
  the valid current state (nothing to roll back).
- :func:`init_active` (the X3DH initiator, "Alice": peer ratchet key = Bob's signed pre-key) and
  :func:`init_passive` ("Bob": own ratchet key = the signed pre-key pair) build initial states.
  A state may also be constructed directly (e.g. libsignal's Bob starts with a sending chain).
- The sending half of a DH ratchet step is done lazily at the next :func:`encrypt` (which takes
  ``random_bytes``), so :func:`decrypt` needs no randomness. On the wire this is identical to the
  textbook algorithm: a new sending key becomes visible only when a message is sent.
- Skipped keys are indexed by ``(dh_pub, n)``; the mapping is shared between states and copied
  only when a key is added or consumed (in-order traffic never copies it). Speculative keys
  (``pn_inclusive``) live in their own small mapping, at most one per previous receiving chain.
- A message whose key was already used (``n`` below the receiving counter of its chain, or a
  recent previous chain, with no stored key) raises :class:`DuplicateMessage`: callers ignore it
  silently.
"""

from __future__ import annotations

import hmac as _hmac
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Protocol

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from . import primitives
from .errors import (
    AuthenticationFailed,
    DuplicateMessage,
    NoSession,
    TooManySkipped,
)

RandomBytes = Callable[[int], bytes]
SkippedKeys = Mapping[tuple[bytes, int], bytes]

MAX_SKIP: Final = 1000
MAX_STORED: Final = 1000
#: How many previous receiving ratchet keys are remembered to recognise duplicates.
PREVIOUS_CHAINS: Final = 5
#: A speculative key (index ``pn`` of a finished peer chain, see ``pn_inclusive``) is dropped
#: when its chain is no longer among this many previous receiving chains, i.e. at the 5th
#: further DH ratchet step (libsignal itself keeps only 5 receiving chains, too).
SPECULATIVE_CHAINS: Final = 5
EMPTY_SKIPPED: Final[SkippedKeys] = MappingProxyType({})

_CK_MESSAGE: Final = b"\x01"
_CK_CHAIN: Final = b"\x02"


@dataclass(frozen=True, slots=True)
class Header:
    dh_pub: bytes
    pn: int
    n: int


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """A parsed ratchet message. ``authenticated`` is what the MAC covers after the AD."""

    header: Header
    ciphertext: bytes
    mac: bytes
    authenticated: bytes


class RatchetProfile(Protocol):
    @property
    def root_info(self) -> bytes: ...
    @property
    def max_skip(self) -> int: ...
    @property
    def max_stored(self) -> int: ...
    @property
    def pn_inclusive(self) -> bool: ...

    def seal(self, message_key: bytes, header: Header, plaintext: bytes, ad: bytes) -> bytes: ...
    def parse(self, data: bytes) -> ParsedMessage: ...
    def open(self, message_key: bytes, message: ParsedMessage, ad: bytes) -> bytes: ...


@dataclass(frozen=True, slots=True)
class RatchetState:
    root_key: bytes
    dhs_private: bytes
    dhs_public: bytes
    dhr: bytes | None
    cks: bytes | None
    ckr: bytes | None
    ns: int = 0
    nr: int = 0
    pn: int = 0
    skipped: SkippedKeys = field(default_factory=lambda: EMPTY_SKIPPED)
    previous_dhr: tuple[bytes, ...] = ()
    #: keys derived only for libsignal's ``pn`` quirk, oldest first (see ``pn_inclusive``)
    speculative: SkippedKeys = field(default_factory=lambda: EMPTY_SKIPPED)

    def __repr__(self) -> str:  # never print key material
        return (
            f"RatchetState(ns={self.ns}, nr={self.nr}, pn={self.pn}, skipped={len(self.skipped)},"
            f" speculative={len(self.speculative)})"
        )


@dataclass(frozen=True, slots=True)
class DecryptResult:
    plaintext: bytes
    header: Header
    #: True when this message started a new receiving chain (a DH ratchet step happened).
    new_chain: bool
    #: True when the key came from the skipped-key store (an out-of-order message).
    from_skipped: bool


# --- building blocks (also for profiles) -------------------------------------------------


def kdf_rk(root_key: bytes, dh_out: bytes, info: bytes) -> tuple[bytes, bytes]:
    okm = primitives.hkdf_sha256(dh_out, root_key, info, 64)
    return okm[:32], okm[32:]


def kdf_ck(chain_key: bytes) -> tuple[bytes, bytes]:
    """Return (next chain key, message key)."""
    return (
        _hmac.digest(chain_key, _CK_CHAIN, "sha256"),
        _hmac.digest(chain_key, _CK_MESSAGE, "sha256"),
    )


def expand_message_key(message_key: bytes, info: bytes) -> tuple[bytes, bytes, bytes]:
    """HKDF(salt=0*32, ikm=mk, info, 80) -> (enc_key 32, auth_key 32, iv 16)."""
    okm = primitives.hkdf_sha256(message_key, primitives.ZERO_SALT, info, 80)
    return okm[:32], okm[32:64], okm[64:]


def cbc_encrypt(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    pad = 16 - len(plaintext) % 16
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return enc.update(plaintext + bytes((pad,)) * pad) + enc.finalize()


def cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    if not ciphertext or len(ciphertext) % 16:
        raise AuthenticationFailed("ciphertext length is not a multiple of the AES block size")
    dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = dec.update(ciphertext) + dec.finalize()
    pad = padded[-1]
    if not 1 <= pad <= 16 or padded[-pad:] != bytes((pad,)) * pad:
        raise AuthenticationFailed("bad padding after decryption")
    return padded[:-pad]


def truncated_mac(key: bytes, data: bytes, length: int) -> bytes:
    return _hmac.digest(key, data, "sha256")[:length]


def check_mac(key: bytes, data: bytes, mac: bytes) -> None:
    if not mac or not _hmac.compare_digest(truncated_mac(key, data, len(mac)), mac):
        raise AuthenticationFailed("message authentication failed")


# --- initialisation ------------------------------------------------------------------------


def init_active(
    profile: RatchetProfile,
    root_key: bytes,
    peer_ratchet_public: bytes,
    random_bytes: RandomBytes,
) -> RatchetState:
    """Alice: the peer's ratchet key is Bob's signed pre-key; sending chain ready at once."""
    private = primitives.clamp(random_bytes(32))
    public = primitives.x25519_public_bytes(private)
    rk, cks = kdf_rk(root_key, primitives.x25519(private, peer_ratchet_public), profile.root_info)
    return RatchetState(rk, private, public, peer_ratchet_public, cks, None)


def init_passive(root_key: bytes, own_private: bytes, own_public: bytes) -> RatchetState:
    """Bob: own ratchet key = the signed pre-key pair; chains start with the first message."""
    return RatchetState(root_key, own_private, own_public, None, None, None)


# --- encrypt / decrypt ------------------------------------------------------------------------


def encrypt(
    profile: RatchetProfile,
    state: RatchetState,
    plaintext: bytes,
    ad: bytes,
    random_bytes: RandomBytes,
) -> tuple[RatchetState, bytes]:
    root_key, dhs_private, dhs_public = state.root_key, state.dhs_private, state.dhs_public
    cks, ns, pn = state.cks, state.ns, state.pn
    if cks is None:
        if state.dhr is None:
            raise NoSession("this session cannot send before it has received a message")
        dhs_private = primitives.clamp(random_bytes(32))
        dhs_public = primitives.x25519_public_bytes(dhs_private)
        dh_out = primitives.x25519(dhs_private, state.dhr)
        root_key, cks = kdf_rk(root_key, dh_out, profile.root_info)
        pn, ns = ns, 0
    next_ck, mk = kdf_ck(cks)
    data = profile.seal(mk, Header(dhs_public, pn, ns), plaintext, ad)
    new_state = RatchetState(
        root_key,
        dhs_private,
        dhs_public,
        state.dhr,
        next_ck,
        state.ckr,
        ns + 1,
        state.nr,
        pn,
        state.skipped,
        state.previous_dhr,
        state.speculative,
    )
    return new_state, data


def _derive_skipped(
    chain_key: bytes, start: int, until: int, dh_pub: bytes, out: dict[tuple[bytes, int], bytes]
) -> bytes:
    for i in range(start, until):
        chain_key, mk = kdf_ck(chain_key)
        out[(dh_pub, i)] = mk
    return chain_key


def decrypt(
    profile: RatchetProfile, state: RatchetState, data: bytes, ad: bytes
) -> tuple[RatchetState, DecryptResult]:
    message = profile.parse(data)
    header = message.header
    index = (header.dh_pub, header.n)

    stored = state.skipped.get(index)
    if stored is not None:
        plaintext = profile.open(stored, message, ad)
        remaining = _copy(state.skipped)
        del remaining[index]
        new_state = _with(state, MappingProxyType(remaining), state.speculative)
        return new_state, DecryptResult(plaintext, header, False, True)
    stored = state.speculative.get(index)
    if stored is not None:  # a libsignal-style peer's last message of a chain, arriving late
        plaintext = profile.open(stored, message, ad)
        remaining = _copy(state.speculative)
        del remaining[index]
        new_state = _with(state, state.skipped, MappingProxyType(remaining))
        return new_state, DecryptResult(plaintext, header, False, True)

    max_skip = profile.max_skip
    new_keys: dict[tuple[bytes, int], bytes] = {}
    if header.dh_pub == state.dhr and state.ckr is not None:
        if header.n < state.nr:
            raise DuplicateMessage("this message key was already used")
        if header.n - state.nr > max_skip:
            raise TooManySkipped(f"message {header.n} would skip more than {max_skip} keys")
        ck = _derive_skipped(state.ckr, state.nr, header.n, header.dh_pub, new_keys)
        next_ck, mk = kdf_ck(ck)
        plaintext = profile.open(mk, message, ad)
        skipped, speculative = _merge(
            state.skipped, new_keys, state.speculative, profile.max_stored
        )
        new_state = RatchetState(
            state.root_key,
            state.dhs_private,
            state.dhs_public,
            state.dhr,
            state.cks,
            next_ck,
            state.ns,
            header.n + 1,
            state.pn,
            skipped,
            state.previous_dhr,
            speculative,
        )
        return new_state, DecryptResult(plaintext, header, False, False)

    if header.dh_pub in state.previous_dhr:
        raise DuplicateMessage("this message belongs to an old chain whose key is gone")
    if header.n > max_skip:
        raise TooManySkipped(f"message {header.n} would skip more than {max_skip} keys")
    previous = state.previous_dhr
    guess: dict[tuple[bytes, int], bytes] = {}
    if state.ckr is not None and state.dhr is not None:
        if header.pn - state.nr > max_skip:
            raise TooManySkipped(f"previous chain length {header.pn} skips too many keys")
        # keys nr..pn-1 were sent by a peer that counts like the spec; index pn is the
        # speculative one (only a libsignal-style peer, whose pn is the last index, used it)
        ck = _derive_skipped(state.ckr, state.nr, header.pn, state.dhr, new_keys)
        if profile.pn_inclusive and state.nr <= header.pn < state.nr + max_skip:
            guess[(state.dhr, header.pn)] = kdf_ck(ck)[1]
    if state.dhr is not None:
        previous = (state.dhr, *state.previous_dhr[: PREVIOUS_CHAINS - 1])
    dh_out = primitives.x25519(state.dhs_private, header.dh_pub)
    root_key, ckr = kdf_rk(state.root_key, dh_out, profile.root_info)
    ck = _derive_skipped(ckr, 0, header.n, header.dh_pub, new_keys)
    next_ck, mk = kdf_ck(ck)
    plaintext = profile.open(mk, message, ad)
    # age out the speculative keys of chains no longer among the SPECULATIVE_CHAINS most recent
    speculative = state.speculative
    recent = previous[:SPECULATIVE_CHAINS]
    if guess or any(dh_pub not in recent for dh_pub, _ in speculative):
        kept = {key: mk for key, mk in speculative.items() if key[0] in recent}
        kept.update(guess)  # oldest first, the new chain's key last
        speculative = MappingProxyType(kept) if kept else EMPTY_SKIPPED
    skipped, speculative = _merge(state.skipped, new_keys, speculative, profile.max_stored)
    new_state = RatchetState(
        root_key,
        state.dhs_private,
        state.dhs_public,
        header.dh_pub,
        None,  # the sending half of the step happens at the next encrypt
        next_ck,
        state.ns,
        header.n + 1,
        state.pn,
        skipped,
        previous,
        speculative,
    )
    return new_state, DecryptResult(plaintext, header, True, False)


def _copy(skipped: SkippedKeys) -> dict[tuple[bytes, int], bytes]:
    # dict(mappingproxy) re-inserts key by key through the Mapping protocol (141 µs for 2,000
    # keys); the proxy's copy() clones the dict underneath (4.5 µs). Once the store is full,
    # every DH step of a conversation copies it (benchmarks/: conversation row).
    if isinstance(skipped, (dict, MappingProxyType)):
        return skipped.copy()
    return dict(skipped)


def _merge(
    skipped: SkippedKeys,
    new: dict[tuple[bytes, int], bytes],
    speculative: SkippedKeys,
    limit: int,
) -> tuple[SkippedKeys, SkippedKeys]:
    """Add the genuinely skipped keys ``new``; if both stores together exceed ``limit``, drop
    speculative keys first, then the oldest skipped keys (FIFO)."""
    merged: dict[tuple[bytes, int], bytes] | None = None
    if new:
        merged = _copy(skipped)
        merged.update(new)
    excess = len(merged if merged is not None else skipped) + len(speculative) - limit
    if excess > 0 and speculative:
        drop = min(excess, len(speculative))
        rest = _copy(speculative)
        for key in list(itertools.islice(rest, drop)):  # the oldest first
            del rest[key]
        speculative = MappingProxyType(rest) if rest else EMPTY_SKIPPED
        excess -= drop
    if excess > 0 and merged is None:  # only an inconsistent loaded state gets here
        merged = _copy(skipped)
    if merged is None:
        return skipped, speculative
    if excess > 0:  # FIFO: the oldest keys first (dicts keep insertion order)
        for key in list(itertools.islice(merged, excess)):
            del merged[key]
    return MappingProxyType(merged), speculative


def _with(state: RatchetState, skipped: SkippedKeys, speculative: SkippedKeys) -> RatchetState:
    return RatchetState(
        state.root_key,
        state.dhs_private,
        state.dhs_public,
        state.dhr,
        state.cks,
        state.ckr,
        state.ns,
        state.nr,
        state.pn,
        skipped,
        state.previous_dhr,
        speculative,
    )
