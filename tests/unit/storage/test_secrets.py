"""The keyring adapter: round trips, refusal of unsafe backends, errors a person can act on."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from typing import Any

import keyring.backends.chainer
import keyring.backends.fail
import keyring.backends.null
import keyring.errors
import pytest

from omemo_desktop.storage import secrets
from omemo_desktop.storage.errors import (
    InsecureKeyring,
    KeyringFailed,
    KeyringLocked,
    KeyringUnavailable,
)
from omemo_desktop.storage.secrets import SERVICE_NAME, SecretStore, resolve_backend
from tests.helpers.keyring_daemon import ROOT, missing_tools, run_in_secret_service
from tests.helpers.memory_keyring import MemoryKeyring

MEMORY = "tests.helpers.memory_keyring.MemoryKeyring"
JID = "alice@example.org"
NULL = keyring.backends.null.Keyring()  # type: ignore[no-untyped-call]


@pytest.fixture
async def store() -> Any:
    backend = MemoryKeyring()
    s = SecretStore(backend)
    yield s, backend
    s.close()


async def test_password_and_seed_round_trip(store: Any) -> None:
    s, backend = store
    assert await s.load_password(JID) is None
    assert await s.load_identity_seed(JID) is None
    await s.store_password(JID, "hunter2")
    seed = os.urandom(32)
    await s.store_identity_seed(JID, seed)
    assert await s.load_password(JID) == "hunter2"
    assert await s.load_identity_seed(JID) == seed
    assert backend.secrets == {
        (SERVICE_NAME, f"{JID}/password"): "hunter2",
        (SERVICE_NAME, f"{JID}/identity"): base64.b64encode(seed).decode(),
    }
    assert await s.delete_password(JID) is True
    assert await s.delete_password(JID) is False
    await s.forget_account(JID)
    assert backend.secrets == {}


async def test_full_jids_are_refused(store: Any) -> None:
    s, _ = store
    with pytest.raises(ValueError, match="bare JID"):
        await s.store_password("alice@example.org/laptop", "x")
    with pytest.raises(ValueError):
        await s.load_password("")


async def test_a_damaged_seed_is_reported(store: Any) -> None:
    s, backend = store
    backend.set_password(SERVICE_NAME, f"{JID}/identity", "not base64!!")
    with pytest.raises(KeyringFailed, match="damaged"):
        await s.load_identity_seed(JID)


def test_explicit_backend_from_the_environment_is_accepted() -> None:
    assert isinstance(resolve_backend({"PYTHON_KEYRING_BACKEND": MEMORY}), MemoryKeyring)


def test_explicit_backend_that_cannot_load_is_explained() -> None:
    with pytest.raises(KeyringUnavailable, match="PYTHON_KEYRING_BACKEND"):
        resolve_backend({"PYTHON_KEYRING_BACKEND": "no.such.Backend"})


@pytest.mark.parametrize("name", ["keyring.backends.fail.Keyring", "keyring.backends.null.Keyring"])
def test_fail_and_null_are_refused_even_when_explicit(name: str) -> None:
    with pytest.raises(KeyringUnavailable, match="No system keyring is available"):
        resolve_backend({"PYTHON_KEYRING_BACKEND": name})


class PlaintextKeyring(MemoryKeyring):
    """Looks like keyrings.alt's plaintext file backend."""


PlaintextKeyring.__module__ = "keyrings.alt.file"


class FakeSecretService(MemoryKeyring):
    """Looks like keyring's Secret Service backend."""


FakeSecretService.__module__ = "keyring.backends.SecretService"


class FakeChainer:
    def __init__(self, *backends: object) -> None:
        self.backends = list(backends)


FakeChainer.__module__ = "keyring.backends.chainer"


def _implicit(monkeypatch: pytest.MonkeyPatch, backend: object) -> Any:
    monkeypatch.setattr(keyring, "get_keyring", lambda: backend)
    return resolve_backend({})


def test_implicit_os_backend_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = FakeSecretService()
    assert _implicit(monkeypatch, backend) is backend


def test_implicit_plaintext_backend_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InsecureKeyring) as info:
        _implicit(monkeypatch, PlaintextKeyring())
    message = str(info.value)
    assert "keyrings.alt.file" in message and "GNOME Keyring or KWallet" in message
    assert "PYTHON_KEYRING_BACKEND" in message


def test_implicit_fail_or_null_backend_means_no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    fail_backend = keyring.backends.fail.Keyring()  # type: ignore[no-untyped-call]
    for backend in (fail_backend, NULL):
        with pytest.raises(KeyringUnavailable, match="Install and start GNOME Keyring"):
            _implicit(monkeypatch, backend)


def test_chainer_uses_its_os_member_and_drops_plaintext(monkeypatch: pytest.MonkeyPatch) -> None:
    secure = FakeSecretService()
    assert _implicit(monkeypatch, FakeChainer(PlaintextKeyring(), secure)) is secure
    with pytest.raises(InsecureKeyring):
        _implicit(monkeypatch, FakeChainer(PlaintextKeyring(), NULL))


def test_explicit_plaintext_backend_is_the_users_choice() -> None:
    sys.modules.setdefault("tests.unit.storage.test_secrets", sys.modules[__name__])
    chosen = resolve_backend({"PYTHON_KEYRING_BACKEND": f"{__name__}.PlaintextKeyring"})
    assert type(chosen).__name__ == "PlaintextKeyring"


class Raising(MemoryKeyring):
    def __init__(self, exc: Exception) -> None:
        super().__init__()
        self.exc = exc

    def get_password(self, service: str, username: str) -> str | None:
        raise self.exc

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "expected", "words"),
    [
        (keyring.errors.KeyringLocked("Failed to unlock the collection!"), KeyringLocked, "locked"),
        (
            keyring.errors.InitError("Failed to create the collection: Prompt dismissed."),
            KeyringLocked,
            "dismissed",
        ),
        (keyring.errors.NoKeyringError("No recommended backend"), KeyringUnavailable, "GNOME"),
        (RuntimeError("D-Bus went away"), KeyringFailed, "D-Bus went away"),
    ],
)
async def test_backend_errors_become_actionable(
    exc: Exception, expected: type[Exception], words: str
) -> None:
    s = SecretStore(Raising(exc))
    try:
        with pytest.raises(expected, match=words):
            await s.load_password(JID)
        with pytest.raises(expected):
            await s.store_identity_seed(JID, b"\x00" * 32)
    finally:
        s.close()


async def test_open_resolves_on_the_worker() -> None:
    s = await SecretStore.open({"PYTHON_KEYRING_BACKEND": MEMORY})
    try:
        assert s.backend_name == MEMORY
    finally:
        s.close()


def test_no_secret_service_means_a_clear_error() -> None:
    """Without any D-Bus session the real resolution fails closed with the sentence we want."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHON_KEYRING_BACKEND", "DBUS_SESSION_BUS_ADDRESS")
    }
    env["PYTHONPATH"] = str(ROOT)
    env["XDG_RUNTIME_DIR"] = "/nonexistent"
    code = (
        "import asyncio\n"
        "from omemo_desktop.storage.secrets import SecretStore\n"
        "from omemo_desktop.storage.errors import KeyringUnavailable\n"
        "try:\n"
        "    asyncio.run(SecretStore.open())\n"
        "except KeyringUnavailable as e:\n"
        "    print(type(e).__name__, e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30
    )
    assert out.stdout.startswith("KeyringUnavailable No system keyring is available"), out


@pytest.mark.skipif(missing_tools() is not None, reason=str(missing_tools()))
def test_real_secret_service_round_trip() -> None:
    report = run_in_secret_service()
    assert report.get("error") is None, report
    assert report["backend"] == "keyring.backends.SecretService.Keyring"
    for check in (
        "password_ok",
        "seed_ok",
        "other_account_empty",
        "overwrite_ok",
        "forgotten",
        "delete_missing_ok",
    ):
        assert report[check] is True, (check, report)
    assert report["files"] == [], "a secret was found in the clear on disk"


@pytest.mark.skipif(missing_tools() is not None, reason=str(missing_tools()))
def test_real_secret_service_locked_is_reported() -> None:
    report = run_in_secret_service(unlock=False)
    assert report["error"] == "KeyringLocked", report
    assert "Unlock it" in report["message"]


async def test_a_bug_in_our_code_is_not_blamed_on_the_keyring() -> None:
    s = SecretStore(Raising(TypeError("wrong arguments")))
    try:
        with pytest.raises(TypeError):
            await s.load_password(JID)
    finally:
        s.close()
    assert secrets.SERVICE_NAME == "omemo-desktop"
