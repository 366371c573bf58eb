"""Signed pre-key signatures as libsignal makes and checks them (legacy-omemo.md §4).

* :func:`verify` accepts what Conversations, Dino, Monal and python-oldmemo produce: libsignal
  "curvesig" signatures (the Edwards sign bit of the signer travels in ``sig[63] & 0x80``) and
  XEdDSA signatures (that bit is always 0).  It needs only the peer's Curve25519 key, so it works
  for identities that exist only in Curve25519 form.
* :func:`sign_with_seed` is how we sign with our Ed25519-seed identity.
* :func:`xeddsa_sign`, :func:`curvesig_sign` and :func:`xeddsa_verify` work from a raw
  Curve25519 scalar (an identity imported from a libsignal store, and the published vectors).
  They use a small pure-Python Edwards25519 implementation; they are not on any hot path.
"""

from __future__ import annotations

import hashlib
from typing import Final

from .. import primitives
from ..errors import BadSignature, InvalidKey

P: Final = primitives.P
Q: Final = 2**252 + 27742317777372353535851937790883648493
_D: Final = -121665 * pow(121666, P - 2, P) % P
_SQRT_M1: Final = pow(2, (P - 1) // 4, P)

# Extended homogeneous coordinates (X, Y, Z, T) with x = X/Z, y = Y/Z, xy = T/Z.
_Point = tuple[int, int, int, int]


def _recover_x(y: int, sign: int) -> int:
    if y >= P:
        raise InvalidKey("Edwards y-coordinate out of range")
    x2 = (y * y - 1) * pow(_D * y * y + 1, P - 2, P) % P
    if x2 == 0:
        if sign:
            raise InvalidKey("invalid Edwards point")
        return 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * _SQRT_M1 % P
    if (x * x - x2) % P:
        raise InvalidKey("not a point on Edwards25519")
    if (x & 1) != sign:
        x = P - x
    return x


_BY: Final = 4 * pow(5, P - 2, P) % P
_BX: Final = _recover_x(_BY, 0)
_BASE: Final[_Point] = (_BX, _BY, 1, _BX * _BY % P)
_IDENTITY: Final[_Point] = (0, 1, 1, 0)


def _add(p1: _Point, p2: _Point) -> _Point:
    x1, y1, z1, t1 = p1
    x2, y2, z2, t2 = p2
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = 2 * t1 * t2 * _D % P
    d = 2 * z1 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _mul(scalar: int, point: _Point) -> _Point:
    result = _IDENTITY
    while scalar:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _encode(point: _Point) -> bytes:
    x, y, z, _ = point
    zi = pow(z, P - 2, P)
    x, y = x * zi % P, y * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _decode(data: bytes) -> _Point:
    n = int.from_bytes(data, "little")
    y = n & ((1 << 255) - 1)
    x = _recover_x(y, n >> 255)
    return (x, y, 1, x * y % P)


def _h(*parts: bytes) -> int:
    return int.from_bytes(hashlib.sha512(b"".join(parts)).digest(), "little")


_HASH1_PREFIX: Final = b"\xfe" + b"\xff" * 31


def _edwards_from_curve(u_bytes: bytes, sign: int) -> bytes:
    """The Ed25519 public key with Montgomery coordinate u and the given sign bit."""
    if len(u_bytes) != 32:
        raise InvalidKey("Curve25519 public keys are 32 bytes")
    if int.from_bytes(u_bytes, "little") >= P:
        raise InvalidKey("Curve25519 public key is not reduced (u >= p)")
    return primitives.mont_to_ed(u_bytes, sign)


def verify(identity_u: bytes, signature: bytes, message: bytes) -> None:
    """Check a libsignal curvesig or XEdDSA signature by the Curve25519 key ``identity_u``.

    Raises BadSignature (or InvalidKey for an unusable key); returns None on success.
    """
    if len(signature) != 64:
        raise BadSignature(f"signatures are 64 bytes, got {len(signature)}")
    sign = signature[63] >> 7
    try:
        ed_public = _edwards_from_curve(identity_u, sign)
    except InvalidKey as exc:
        raise BadSignature(f"signing key is unusable: {exc}") from exc
    primitives.ed25519_verify(ed_public, signature[:63] + bytes([signature[63] & 0x7F]), message)


def sign_with_seed(seed: bytes, message: bytes) -> bytes:
    """Sign as libsignal expects from an Ed25519 seed identity (sign bit stored in sig[63])."""
    sig = bytearray(primitives.ed25519_sign(seed, message))
    sig[63] |= primitives.ed25519_public(seed)[31] & 0x80
    return bytes(sig)


def _scalar(private: bytes) -> int:
    if len(private) != 32:
        raise InvalidKey("Curve25519 private keys are 32 bytes")
    return int.from_bytes(primitives.clamp(private), "little")


def xeddsa_sign(private: bytes, message: bytes, random64: bytes) -> bytes:
    """XEdDSA (Signal spec) with a Curve25519 private key; ``random64`` is Z (64 bytes)."""
    if len(random64) != 64:
        raise ValueError("XEdDSA needs 64 random bytes")
    k = _scalar(private)
    e = _encode(_mul(k, _BASE))
    a = (Q - k) % Q if e[31] & 0x80 else k % Q
    public = e[:31] + bytes([e[31] & 0x7F])
    r = _h(_HASH1_PREFIX, a.to_bytes(32, "little"), message, random64) % Q
    big_r = _encode(_mul(r, _BASE))
    h = _h(big_r, public, message) % Q
    s = (r + h * a) % Q
    return big_r + s.to_bytes(32, "little")


def curvesig_sign(private: bytes, message: bytes, random64: bytes) -> bytes:
    """libsignal's old ``curve25519_sign``: k used directly, sign bit of k·B put in sig[63]."""
    if len(random64) != 64:
        raise ValueError("curvesig needs 64 random bytes")
    k = _scalar(private)
    public = _encode(_mul(k, _BASE))
    r = _h(_HASH1_PREFIX, k.to_bytes(32, "little"), message, random64) % Q
    big_r = _encode(_mul(r, _BASE))
    h = _h(big_r, public, message) % Q
    s = bytearray(((r + h * k) % Q).to_bytes(32, "little"))
    s[31] |= public[31] & 0x80
    return big_r + bytes(s)


def xeddsa_verify(identity_u: bytes, signature: bytes, message: bytes) -> None:
    """Full XEdDSA verification (Signal spec §2.6) in pure Python; raises BadSignature."""
    if len(signature) != 64:
        raise BadSignature(f"signatures are 64 bytes, got {len(signature)}")
    try:
        public = _edwards_from_curve(identity_u, 0)
        big_r_point = _decode(signature[:32])
        a_point = _decode(public)
    except InvalidKey as exc:
        raise BadSignature(f"signature or key is not a valid point: {exc}") from exc
    if int.from_bytes(signature[:32], "little") & ((1 << 255) - 1) >= P:
        raise BadSignature("signature R is not reduced")
    s = int.from_bytes(signature[32:], "little")
    if s >= 1 << 253:
        raise BadSignature("signature s is out of range")
    h = _h(signature[:32], public, message) % Q
    neg_a = (P - a_point[0], a_point[1], 1, (P - a_point[3]) % P)
    check = _add(_mul(s, _BASE), _mul(h, neg_a))
    if _encode(check) != _encode(big_r_point):
        raise BadSignature("XEdDSA signature does not verify")


def curve_public_from_private(private: bytes) -> bytes:
    """Curve25519 public key (u) of a private scalar, as libsignal derives it."""
    return primitives.x25519_public_bytes(primitives.clamp(private))
