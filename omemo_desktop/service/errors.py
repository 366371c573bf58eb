"""The service layer's errors: sentences a person can act on.

`ServiceError` is the root. Subclasses name what went wrong in the environment (server,
network, keyring) so front ends can show `str(error)` as-is.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Root of every error the service reports to a front end."""


class AccountError(ServiceError):
    """The account is unknown, already exists, or its data cannot be used."""


class ConnectionFailed(ServiceError):
    """The server could not be reached or closed the connection."""


class AuthenticationError(ConnectionFailed):
    """The server rejected the user name or password."""


class CertificateError(ConnectionFailed):
    """The server's TLS certificate could not be verified."""


class KeyringUnavailable(ServiceError):
    """No usable system keyring: secrets cannot be stored safely."""


class TrustRequired(ServiceError):
    """The recipient has devices without a trust decision; nothing was encrypted to them."""

    def __init__(self, message: str, devices: tuple[object, ...] = ()) -> None:
        super().__init__(message)
        self.devices = devices


class VerificationMismatch(ServiceError):
    """A scanned or pasted fingerprint does not match the device's key: a possible attack."""


class TransferError(ServiceError):
    """Sharing or fetching a file failed (XEP-0363 upload, aesgcm:// download)."""


class FileTooLarge(TransferError):
    """The file is larger than the server's upload service accepts (nothing was uploaded)."""


class FileIntegrityError(TransferError):
    """A downloaded file failed its AES-GCM tag check: changed, damaged or the wrong key."""


class TransferCancelled(TransferError):
    """The person cancelled the transfer; nothing was sent or saved."""
