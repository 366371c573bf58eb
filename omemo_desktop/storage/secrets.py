"""The keyring adapter: the account password and the identity key seed, never in a plain file.

Secrets live in the operating system's keyring under the service name ``omemo-desktop``, with
user names ``<bare jid>/password`` and ``<bare jid>/identity`` (the seed, base64). Only
OS-backed keyrings are accepted on their own (Secret Service, KWallet, macOS Keychain, Windows
Credential Manager). ``keyring`` would silently pick a plaintext file backend when keyrings.alt
is installed; that, keyring's fail and null backends, and a chain containing only such backends
are refused, unless the user named a backend explicitly in ``PYTHON_KEYRING_BACKEND``.

Keyring calls can block on D-Bus or a password prompt, so they run on a single worker thread
(serialized) and the API is async. Secrets are never logged; only the JID and the operation are.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import os
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, Final, TypeVar

import keyring
import keyring.backend
import keyring.core
import keyring.errors

from omemo_desktop.storage.errors import (
    InsecureKeyring,
    KeyringFailed,
    KeyringLocked,
    KeyringUnavailable,
    SecretsError,
)

__all__ = [
    "BACKEND_ENV",
    "SERVICE_NAME",
    "SecretStore",
    "is_os_backend",
    "resolve_backend",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

SERVICE_NAME: Final = "omemo-desktop"
BACKEND_ENV: Final = "PYTHON_KEYRING_BACKEND"

#: Modules of keyring's backends that keep secrets in an OS-managed, encrypted store.
OS_BACKEND_MODULES: Final = frozenset(
    {
        "keyring.backends.SecretService",
        "keyring.backends.libsecret",
        "keyring.backends.kwallet",
        "keyring.backends.macOS",
        "keyring.backends.macOS.api",
        "keyring.backends.Windows",
    }
)
_REFUSED_ALWAYS: Final = frozenset({"keyring.backends.fail", "keyring.backends.null"})

NO_KEYRING: Final = (
    "No system keyring is available, so omemo-desktop cannot store your password and identity "
    "key safely. Install and start GNOME Keyring or KWallet (on Linux; on macOS and Windows the "
    "system keychain is used), log in to your desktop session again, then try again."
)
LOCKED: Final = (
    "The system keyring is locked, or its unlock prompt was dismissed. Unlock it (for example "
    "by logging in to your desktop session, or in Passwords and Keys / KWallet Manager) and try "
    "again."
)


def _module(backend: object) -> str:
    return type(backend).__module__


def is_os_backend(backend: object) -> bool:
    """True for keyring backends that keep secrets in an OS-managed store."""
    return _module(backend) in OS_BACKEND_MODULES


def _describe(backend: object) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def resolve_backend(environ: Mapping[str, str] | None = None) -> Any:
    """The keyring backend to use, or an actionable `KeyringUnavailable`.

    Blocking (it may talk to D-Bus): call it from a worker thread, as `SecretStore.open` does.
    """
    env = os.environ if environ is None else environ
    explicit = env.get(BACKEND_ENV)
    if explicit:
        try:
            chosen = keyring.core.load_keyring(explicit)
        except (ImportError, AttributeError, RuntimeError, ValueError) as exc:
            raise KeyringUnavailable(
                f"The keyring backend chosen in {BACKEND_ENV}={explicit!r} cannot be used "
                f"({exc}). Unset {BACKEND_ENV} to use the system keyring, or name an installed "
                "backend."
            ) from exc
        if _module(chosen) in _REFUSED_ALWAYS:
            raise KeyringUnavailable(NO_KEYRING)
        log.info("using the keyring backend chosen in %s: %s", BACKEND_ENV, _describe(chosen))
        return chosen
    chosen = keyring.get_keyring()
    if is_os_backend(chosen):
        return chosen
    members = list(getattr(chosen, "backends", ()))  # a ChainerBackend
    secure = [b for b in members if is_os_backend(b)]
    if secure:
        best = max(secure, key=lambda b: float(b.priority))
        log.info("using the keyring backend %s from a chain", _describe(best))
        return best
    refused = [b for b in [chosen, *members] if _module(b) not in _REFUSED_ALWAYS]
    refused = [b for b in refused if _module(b) != "keyring.backends.chainer"]
    if refused:
        names = ", ".join(sorted({_describe(b) for b in refused}))
        raise InsecureKeyring(
            f"Only keyring backends that are not the system keyring were found ({names}); "
            "they may keep secrets in a plain file, so omemo-desktop refuses them. Install and "
            "start GNOME Keyring or KWallet, then try again. To use one of them anyway, choose "
            f"it explicitly with the environment variable {BACKEND_ENV}."
        )
    raise KeyringUnavailable(NO_KEYRING)


#: Exceptions that mean our code is wrong, never turned into a "keyring failed" message.
_OUR_BUGS: Final = (TypeError, AttributeError, NameError, AssertionError, ImportError)


def _translate(exc: Exception, doing: str) -> SecretsError:
    text = str(exc)
    lowered = text.lower()
    if isinstance(exc, keyring.errors.KeyringLocked) or "dismissed" in lowered:
        return KeyringLocked(LOCKED)
    if "locked" in lowered:
        return KeyringLocked(LOCKED)
    if isinstance(exc, keyring.errors.NoKeyringError):
        return KeyringUnavailable(NO_KEYRING)
    return KeyringFailed(
        f"The system keyring failed while {doing} ({type(exc).__name__}: {text}). Check that "
        "the keyring service is running and unlocked, then try again."
    )


def _identity(device: int | None) -> str:
    return "identity" if device is None else f"identity/{int(device)}"


def _user(jid: str, kind: str) -> str:
    if not jid or "/" in jid or jid != jid.strip():
        raise ValueError(f"expected a bare JID, got {jid!r}")
    return f"{jid}/{kind}"


class SecretStore:
    """Async access to this app's secrets in one keyring backend.

    Create with ``await SecretStore.open()`` (resolves and checks the backend on the worker),
    or pass a backend directly in tests. ``close()`` stops the worker thread.
    """

    def __init__(self, backend: Any, *, executor: Executor | None = None) -> None:
        self._backend = backend
        self._own_executor = executor is None
        self._executor: Executor = executor or ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="keyring"
        )

    @classmethod
    async def open(
        cls, environ: Mapping[str, str] | None = None, *, executor: Executor | None = None
    ) -> SecretStore:
        own = executor or ThreadPoolExecutor(max_workers=1, thread_name_prefix="keyring")
        loop = asyncio.get_running_loop()
        try:
            backend = await loop.run_in_executor(own, resolve_backend, environ)
        except BaseException:
            if executor is None:
                own.shutdown(wait=False)
            raise
        store = cls(backend, executor=own)
        store._own_executor = executor is None
        return store

    @property
    def backend_name(self) -> str:
        return _describe(self._backend)

    def close(self) -> None:
        if self._own_executor:
            self._executor.shutdown(wait=True)

    async def _call(self, doing: str, fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn)
        except (SecretsError, *_OUR_BUGS):
            raise  # our own errors, or a bug in our code: not the keyring's fault
        except Exception as exc:  # backends raise many unrelated types (D-Bus, Win32, ...)
            raise _translate(exc, doing) from exc

    async def _set(self, username: str, value: str, doing: str) -> None:
        await self._call(doing, lambda: self._backend.set_password(SERVICE_NAME, username, value))

    async def _get(self, username: str, doing: str) -> str | None:
        value = await self._call(doing, lambda: self._backend.get_password(SERVICE_NAME, username))
        return None if value is None else str(value)

    async def _delete(self, username: str, doing: str) -> bool:
        def delete() -> bool:
            try:
                self._backend.delete_password(SERVICE_NAME, username)
            except keyring.errors.PasswordDeleteError:
                return False  # nothing stored: deleting is already done
            return True

        return await self._call(doing, delete)

    async def store_password(self, jid: str, password: str) -> None:
        await self._set(_user(jid, "password"), password, "storing the account password")
        log.info("stored the password of %s in the keyring", jid)

    async def load_password(self, jid: str) -> str | None:
        return await self._get(_user(jid, "password"), "reading the account password")

    async def delete_password(self, jid: str) -> bool:
        return await self._delete(_user(jid, "password"), "deleting the account password")

    async def store_identity_seed(self, jid: str, seed: bytes, device: int | None = None) -> None:
        """`device` keeps one seed per device, so two data directories of the same account
        on one machine (one keyring) never overwrite each other's identity."""
        encoded = base64.b64encode(seed).decode("ascii")
        await self._set(_user(jid, _identity(device)), encoded, "storing the identity key")
        log.info("stored the identity key of %s in the keyring", jid)

    async def load_identity_seed(self, jid: str, device: int | None = None) -> bytes | None:
        encoded = await self._get(_user(jid, _identity(device)), "reading the identity key")
        if encoded is None:
            return None
        try:
            return base64.b64decode(encoded.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError) as exc:
            raise KeyringFailed(
                f"The identity key of {jid} in the system keyring is damaged (not base64). "
                "Restore it from a backup, or remove the account and add it again."
            ) from exc

    async def delete_identity_seed(self, jid: str, device: int | None = None) -> bool:
        return await self._delete(_user(jid, _identity(device)), "deleting the identity key")

    async def forget_account(self, jid: str) -> None:
        """Remove both secrets of an account (missing ones are fine)."""
        await self.delete_password(jid)
        await self.delete_identity_seed(jid)
        log.info("removed the secrets of %s from the keyring", jid)
