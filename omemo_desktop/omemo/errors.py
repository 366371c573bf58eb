"""The protocol core's exception hierarchy.

Everything the pure OMEMO code raises on bad input derives from :class:`OmemoError`,
so callers can catch exactly one type and show its message to a person.
"""

from __future__ import annotations


class OmemoError(Exception):
    """Root of every error the protocol core raises on bad input or state."""


class MalformedMessage(OmemoError):
    """The bytes could not be parsed (bad protobuf, wrong lengths, bad version byte)."""


class AuthenticationFailed(OmemoError):
    """A MAC or tag did not verify: the message was forged, corrupted or not for us."""


class BadSignature(OmemoError):
    """A signature (signed pre-key, label) did not verify."""


class InvalidKey(OmemoError):
    """A public key is malformed or of small order."""


class UnknownPreKey(OmemoError):
    """A key exchange names a pre-key or signed pre-key we do not have (any more)."""


class NoPreKey(OmemoError):
    """A key exchange without a one-time pre-key was offered; OMEMO requires one."""


class DuplicateMessage(OmemoError):
    """The message was already decrypted once; callers ignore it silently."""


class TooManySkipped(OmemoError):
    """The message counter is further ahead than the skip limit allows."""


class NoSession(OmemoError):
    """There is no session with that device and the message cannot start one."""


class StateVersionError(OmemoError):
    """A serialized state blob has an unknown version or is corrupt."""


class IdentityMismatch(OmemoError):
    """A key exchange carries an identity key other than the one the sender published."""
