"""The first vertical slice: two accounts exchange a plaintext message through the CLI,
over verified TLS to a real Prosody, with passwords in a real gnome-keyring."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.prosody import ProsodyServer


def _account(cli, prosody: ProsodyServer, user: str, tmp_path: Path, *, register: bool) -> str:  # type: ignore[no-untyped-def]
    jid = f"{user}@localhost"
    pw = tmp_path / f"{user}.pw"
    pw.write_text("secret-" + user)
    if not register:
        prosody.register(user, "secret-" + user)
    args = ["account", "add", jid, "--password-file", str(pw), "--server", prosody.address]
    cli.run(*args, *(["--register"] if register else []))
    return jid


def test_plaintext_message_between_two_accounts(make_cli, prosody, tmp_path) -> None:  # type: ignore[no-untyped-def]
    alice, bob = make_cli("alice"), make_cli("bob")
    a = _account(alice, prosody, "alice", tmp_path, register=False)
    b = _account(bob, prosody, "bob", tmp_path, register=True)  # in-band registration

    alice.run("contacts", "add", b)
    bob.run("contacts", "add", a)
    listener = bob.popen("listen", "--json", "--count", "1", "--timeout", "30")
    try:
        sent = alice.run("send", "--plain", b, "hello bob, in plain text")
        assert sent.returncode == 0
        out, err = listener.communicate(timeout=40)
    finally:
        listener.kill()
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert lines, err
    msg = lines[0]
    assert msg["from"] == a
    assert msg["body"] == "hello bob, in plain text"
    assert msg["encryption"] == "none"
    assert msg["trusted"] is False
    assert {"device", "id"} <= msg.keys()

    listed = alice.run("contacts", "list").stdout
    assert b in listed


def test_wrong_password_gives_a_readable_error(make_cli, prosody, tmp_path) -> None:  # type: ignore[no-untyped-def]
    prosody.register("carol", "right")
    cli = make_cli("carol")
    pw = tmp_path / "pw"
    pw.write_text("wrong")
    proc = cli.run(
        "account",
        "add",
        "carol@localhost",
        "--password-file",
        str(pw),
        "--server",
        prosody.address,
        check=False,
    )
    assert proc.returncode == 1
    assert "rejected the password" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_untrusted_certificate_is_refused(make_cli, prosody, tmp_path, keyring_env) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    prosody.register("dave", "pw")
    pw = tmp_path / "pw"
    pw.write_text("pw")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "omemo_desktop.cli",
            "--data-dir",
            str(tmp_path / "d"),
            "account",
            "add",
            "dave@localhost",
            "--password-file",
            str(pw),
            "--server",
            prosody.address,
        ],
        env=keyring_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "certificate" in proc.stderr and "could not be verified" in proc.stderr
