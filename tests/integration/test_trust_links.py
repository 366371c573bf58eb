"""XEP-0434 trust messages (Kaidan's verification links) applied through the CLI."""

from __future__ import annotations

from pathlib import Path

from omemo_desktop.omemo.primitives import mont_to_ed
from tests.helpers.prosody import ProsodyServer


def test_trust_message_links_verify_and_distrust_by_identity_key(
    make_cli, prosody: ProsodyServer, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    alice, bob = make_cli("alice"), make_cli("bob")
    for name, cli in (("alice", alice), ("bob", bob)):
        (tmp_path / f"{name}.pw").write_text("pw-" + name)
        prosody.register(name, "pw-" + name)
        cli.run(
            "account", "add", f"{name}@localhost",
            "--password-file", str(tmp_path / f"{name}.pw"), "--server", prosody.address,
        )  # fmt: skip
    fp = bob.run("fingerprint").stdout.splitlines()[0].replace(" ", "")
    # Kaidan names the Ed25519 identity key; ours are drawn with sign bit 0.
    key = mont_to_ed(bytes.fromhex(fp), 0).hex()
    base = "xmpp:bob@localhost?trust-message;encryption=urn:xmpp:omemo:2"

    out = alice.run("verify", f"{base};trust={key}").stdout
    assert "verified bob@localhost device" in out
    assert "\tverified\t" in alice.run("devices", "bob@localhost").stdout

    alice.run("verify", f"{base};distrust={key}")
    assert "\tdistrusted\t" in alice.run("devices", "bob@localhost").stdout

    stranger = mont_to_ed(bytes.fromhex("11" * 32), 0).hex()
    proc = alice.run("verify", f"{base};trust={stranger}", check=False)
    assert proc.returncode == 1
    assert "no device with the key" in proc.stderr
    assert "\tdistrusted\t" in alice.run("devices", "bob@localhost").stdout  # unchanged
