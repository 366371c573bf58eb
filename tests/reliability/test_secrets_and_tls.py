"""Nothing leaked: after a scripted session no identity key, password or plaintext of an
encrypted message is found outside the message store (data directory, config, logs at DEBUG,
and the server's own storage), and TLS is always verified.

What counts as the message store: the account's SQLite database, messages.sqlite3, and its
write-ahead log messages.sqlite3-wal, which holds recent pages of that same database until
they are checkpointed. Plaintext is allowed there (the history is kept in the clear, like
every desktop client's, protected by the user account); everywhere else it is a leak,
including the -shm index file, accounts.json, the lock file and the server's data.
"""

from __future__ import annotations

import base64
import logging
import os
import re
from pathlib import Path

import pytest

from omemo_desktop.omemo.keys import IdentityKeyPair
from omemo_desktop.service.api import CertificateError
from omemo_desktop.service.messenger import Messenger
from omemo_desktop.storage.secrets import SERVICE_NAME, SecretStore
from tests.helpers.memory_keyring import MemoryKeyring
from tests.helpers.prosody import ProsodyServer
from tests.helpers.tls import make_ca
from tests.reliability.support import MakePeer

ROOT = Path(__file__).resolve().parents[2]
MESSAGE_STORE = {"messages.sqlite3", "messages.sqlite3-wal"}


def _forms(secret: bytes) -> dict[str, bytes]:
    b64 = base64.b64encode(secret)
    return {
        "raw": secret,
        "hex": secret.hex().encode(),
        "HEX": secret.hex().upper().encode(),
        "base64": b64,
        "base64 unpadded": b64.rstrip(b"="),
        "urlsafe base64": base64.urlsafe_b64encode(secret).rstrip(b"="),
    }


def _files(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob("*") if p.is_file()]


def _scan(blob: bytes, needles: dict[str, bytes]) -> list[str]:
    return [name for name, needle in needles.items() if needle in blob]


async def test_no_key_password_or_plaintext_outside_the_message_store(
    peers: MakePeer,
    prosody: ProsodyServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # everything, slixmpp's raw stanzas included
    passwords = {n: f"pw-{n}-{os.urandom(9).hex()}" for n in ("alice", "bob")}
    alice = await peers("alice", password=passwords["alice"])
    bob = await peers("bob", password=passwords["bob"])
    texts = [f"secret {i} {os.urandom(8).hex()}" for i in range(6)]
    for text in texts[:3]:
        await alice.m.send_message(alice.jid, bob.jid, text)
    await bob.wait_bodies(texts[:3])
    for text in texts[3:5]:
        await bob.m.send_message(bob.jid, alice.jid, text)
    await alice.wait_bodies(texts[3:5])
    await bob.m.close()  # offline: the next one goes through the server's storage
    await alice.m.send_message(alice.jid, bob.jid, texts[5])
    bob = await peers("bob", password=passwords["bob"])  # keys loaded back from the keyring
    await bob.wait_bodies(texts[5:])

    keyring: MemoryKeyring = peers.keyring  # type: ignore[attr-defined]
    needles: dict[str, bytes] = {}
    for (service, user), value in keyring.secrets.items():
        assert service == SERVICE_NAME
        if "/identity" in user:
            identity = IdentityKeyPair.from_seed(base64.b64decode(value))
            for form, data in _forms(identity.seed).items():
                needles[f"{user} seed ({form})"] = data
            for form, data in _forms(identity.x25519_private).items():
                needles[f"{user} X25519 private ({form})"] = data
    assert sum("seed (raw)" in n for n in needles) == 2, "expected one identity per account"
    for name, pw in passwords.items():
        for form, data in _forms(pw.encode()).items():
            needles[f"{name}'s password ({form})"] = data
        needles[f"{name}'s password (text)"] = pw.encode()
    plaintexts = {f"plaintext {t!r}": t.encode() for t in texts}

    def check(where: str) -> None:
        leaks = []
        data_dirs = [tmp_path / "alice", tmp_path / "bob"]
        for path in _files(*data_dirs, prosody.root / "data"):
            blob = path.read_bytes()
            found = _scan(blob, needles)
            if path.name not in MESSAGE_STORE:
                found += _scan(blob, plaintexts)
            leaks += [f"{path.relative_to(tmp_path.parent)}: {f}" for f in found]
        # Logs, as text and with their arguments (DEBUG, all loggers).
        logs = caplog.text.encode() + b"".join(
            repr(r.args).encode() + str(r.msg).encode() for r in caplog.records
        )
        leaks += [f"log: {f}" for f in _scan(logs, {**needles, **plaintexts})]
        assert not leaks, f"{where}: " + "; ".join(leaks)

    check("while running")
    assert any(p.name == "messages.sqlite3-wal" for p in _files(tmp_path / "bob")), (
        "expected the write-ahead log to exist while running"
    )
    stored = (tmp_path / "bob").rglob("messages.sqlite3*")
    assert any(texts[0].encode() in p.read_bytes() for p in stored), "scan sees no store?"
    await alice.m.close()
    await bob.m.close()
    check("after closing")
    assert not list(tmp_path.parent.rglob("*.log")) or all(
        p.is_relative_to(prosody.root) for p in tmp_path.parent.rglob("*.log")
    ), "the app wrote a log file"


# ---- TLS ----------------------------------------------------------------------------------

# Ways to switch certificate checks off in Python, ssl and slixmpp.
FORBIDDEN = [
    r"CERT_NONE",
    r"CERT_OPTIONAL",
    r"check_hostname\s*=\s*False",
    r"verify\s*=\s*False",
    r"_create_unverified_context",
    r"_create_stdlib_context",
    r"verify_mode\s*=",
    r"PYTHONHTTPSVERIFY",
    r"ssl_invalid_cert",  # a handler for it makes slixmpp accept the certificate
    r"ignore_ssl|no_verify|ssl\s*=\s*False",
]


def test_no_code_path_disables_certificate_verification() -> None:
    offenders = []
    for path in sorted((ROOT / "omemo_desktop").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for pattern in FORBIDDEN:
            for match in re.finditer(pattern, text, flags=re.IGNORECASE):
                line = text.count("\n", 0, match.start()) + 1
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {match.group(0)}")
        # The only TLS context we build is the default one (CERT_REQUIRED, hostname check).
        for match in re.finditer(r"ssl\.(\w*context\w*)\(", text, flags=re.IGNORECASE):
            if match.group(1) != "create_default_context":
                offenders.append(f"{path.relative_to(ROOT)}: ssl.{match.group(1)}()")
    assert not offenders, offenders


async def test_a_certificate_for_another_name_is_refused(tmp_path: Path) -> None:
    """Signed by the CA we trust, but not for the XMPP domain: no connection, a clear error."""
    from tests.conftest import _require_prosody

    _require_prosody()
    root = tmp_path / "imposter"
    server = ProsodyServer(root, ca=make_ca(root / "certs", ["imposter.example"]))
    server.start()
    try:
        server.register("eve", "pw-eve")
        m = Messenger(
            data_dir=tmp_path / "eve", ca_file=server.ca_file, secrets=SecretStore(MemoryKeyring())
        )
        try:
            with pytest.raises(CertificateError, match="could not be verified"):
                await m.add_account("eve@localhost", "pw-eve", server=server.address)
            assert m.accounts() == []
        finally:
            await m.close()
    finally:
        server.stop()
