"""The storage layer's errors.

`StorageError` is the root. Subclasses that describe the environment (a newer database, a
missing or locked keyring, another running instance) carry a sentence a person can act on, so
front ends may show ``str(error)`` as-is. `StorageBug` is kept apart: it means our own code is
wrong (a broken migration, an impossible row), not that the machine is.
"""

from __future__ import annotations


class StorageError(Exception):
    """Root of every error raised by omemo_desktop.storage."""


class StorageBug(StorageError):
    """Our code or our bundled data is wrong; not something the user can fix."""


class DatabaseError(StorageError):
    """The account database could not be opened or used."""


class DatabaseTooNew(DatabaseError):
    """The database was written by a newer omemo-desktop with a schema this one cannot read."""

    def __init__(self, path: str, found: int, supported: int) -> None:
        super().__init__(
            f"The database {path} was written by a newer version of omemo-desktop "
            f"(schema version {found}; this version understands up to {supported}). "
            "Install the newer omemo-desktop again, or start this one with a different "
            "--data-dir. The file was left untouched."
        )
        self.path = path
        self.found = found
        self.supported = supported


class NotOurDatabase(DatabaseError):
    """The file is an SQLite database, but not one of omemo-desktop's."""


class DuplicateMessage(StorageError):
    """A message with the same origin-id or stanza-id is already stored in the conversation."""


class AnotherInstanceRunning(StorageError):
    """Another omemo-desktop process holds the data directory."""


class SecretsError(StorageError):
    """The system keyring failed; the message says what to do."""


class KeyringUnavailable(SecretsError):
    """No usable, OS-backed keyring: secrets cannot be stored safely."""


class InsecureKeyring(KeyringUnavailable):
    """Only a plaintext or otherwise unsafe keyring backend was found, and it was refused."""


class KeyringLocked(SecretsError):
    """The keyring is locked, or the unlock prompt was dismissed."""


class KeyringFailed(SecretsError):
    """The keyring reported an error while reading or writing a secret."""
