"""`send-file` and `download` through the CLI (separate processes, real keyring, Prosody)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.helpers.prosody import ProsodyServer


def test_send_file_then_download_by_message_id(
    make_cli, prosody: ProsodyServer, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    alice, bob = make_cli("alice"), make_cli("bob")
    for name, cli in (("alice", alice), ("bob", bob)):
        pw = tmp_path / f"{name}.pw"
        pw.write_text("pw-" + name)
        prosody.register(name, "pw-" + name)
        cli.run(
            "account",
            "add",
            f"{name}@localhost",
            "--password-file",
            str(pw),
            "--server",
            prosody.address,
        )
    src = tmp_path / "notes.txt"
    payload = os.urandom(300_000)
    src.write_bytes(payload)

    listener = bob.popen("listen", "--json", "--count", "1", "--timeout", "40")
    sent = alice.run("send-file", "--trust-new", "blind", "bob@localhost", str(src))
    assert sent.stdout.strip().isdigit()
    out, err = listener.communicate(timeout=60)
    (msg,) = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert msg["body"].startswith("aesgcm://") and msg["encryption"] == "omemo2", err
    assert msg["file"].endswith(".txt")

    dest = tmp_path / "saved.txt"
    done = bob.run("download", msg["id"], str(dest))
    assert Path(done.stdout.strip()) == dest
    assert dest.read_bytes() == payload
    again = bob.run("download", msg["id"], str(dest), check=False)
    assert again.returncode == 1 and "exists already" in again.stderr

    missing = alice.run("send-file", "bob@localhost", str(tmp_path / "nope"), check=False)
    assert missing.returncode == 1 and "Cannot read" in missing.stderr
