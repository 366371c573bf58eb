"""Encrypted 1:1 chat between two of our clients through the CLI, with trust enforced."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.helpers.prosody import ProsodyServer


def _setup(make_cli, prosody: ProsodyServer, tmp_path: Path, *names: str):  # type: ignore[no-untyped-def]
    clis = []
    for name in names:
        cli = make_cli(name)
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
        clis.append(cli)
    return clis


def _listen(cli, count: int) -> subprocess.Popen[str]:  # type: ignore[no-untyped-def]
    return cli.popen("listen", "--json", "--count", str(count), "--timeout", "40")


def _collect(proc: subprocess.Popen[str]) -> list[dict[str, object]]:
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert lines, err
    return lines


def test_send_waits_for_trust_then_arrives_encrypted(make_cli, prosody, tmp_path) -> None:  # type: ignore[no-untyped-def]
    alice, bob = _setup(make_cli, prosody, tmp_path, "alice", "bob")
    alice.run("contacts", "add", "bob@localhost")
    bob.run("contacts", "add", "alice@localhost")

    refused = alice.run("send", "bob@localhost", "first secret", check=False)
    assert refused.returncode == 3, refused.stderr
    assert "decision" in refused.stderr

    devices = alice.run("devices", "bob@localhost").stdout.strip().splitlines()
    assert len(devices) == 1
    _, fp, trust, state, *_ = devices[0].split("\t")
    assert trust == "undecided" and state == "active" and len(fp) == 64
    assert devices[0].endswith("both")  # one identity serves both namespaces

    own_fp = bob.run("fingerprint").stdout.splitlines()[0].replace(" ", "")
    assert own_fp == fp

    listener = _listen(bob, 2)
    alice.run("trust", "bob@localhost", fp, "--as", "trusted")  # the parked send goes out
    alice.run("send", "bob@localhost", "second secret")
    got = _collect(listener)
    assert [m["body"] for m in got] == ["first secret", "second secret"]
    assert all(m["encryption"] == "omemo2" for m in got)
    assert all(m["from"] == "alice@localhost" for m in got)
    assert got[0]["trusted"] is False  # bob has not decided about alice's device

    # Bob answers with blind trust; alice decrypts it (her session is now confirmed).
    listener = _listen(alice, 1)
    bob.run("send", "--trust-new", "blind", "alice@localhost", "reply")
    (reply,) = _collect(listener)
    assert reply["body"] == "reply" and reply["encryption"] == "omemo2"
    assert reply["trusted"] is True


def test_distrusted_device_never_receives_key_material(make_cli, prosody, tmp_path) -> None:  # type: ignore[no-untyped-def]
    alice, _bob = _setup(make_cli, prosody, tmp_path, "alice", "bob")
    alice.run("contacts", "add", "bob@localhost")
    fp = alice.run("devices", "bob@localhost").stdout.split("\t")[1]
    alice.run("trust", "bob@localhost", fp, "--as", "distrusted")
    proc = alice.run("send", "bob@localhost", "never", check=False)
    assert proc.returncode == 1
    assert "trusted" in proc.stderr


def test_verification_uri_marks_device_verified(make_cli, prosody, tmp_path) -> None:  # type: ignore[no-untyped-def]
    alice, bob = _setup(make_cli, prosody, tmp_path, "alice", "bob")
    uri = bob.run("fingerprint").stdout.splitlines()[1]
    assert uri.startswith("xmpp:bob@localhost?omemo-sid-")
    out = alice.run("verify", uri).stdout
    assert "verified bob@localhost" in out
    assert "\tverified\t" in alice.run("devices", "bob@localhost").stdout
    bad = uri[:-4] + ("0000" if not uri.endswith("0000") else "1111")
    proc = alice.run("verify", bad, check=False)
    assert proc.returncode == 1 and "does NOT match" in proc.stderr


def test_encrypted_message_sent_while_offline_arrives_at_login(make_cli, prosody, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Regression: messages delivered right after login used to reach the pipeline before
    # the OMEMO keys were loaded, and were dropped.
    alice, bob = _setup(make_cli, prosody, tmp_path, "alice", "bob")
    alice.run("contacts", "add", "bob@localhost")
    bob.run("contacts", "add", "alice@localhost")
    bob.run("send", "--trust-new", "blind", "alice@localhost", "while you were away")
    (got,) = _collect(_listen(alice, 1))
    assert got["body"] == "while you were away"
    assert got["encryption"] == "omemo2"


def test_second_device_added_later_gets_messages_and_our_own_sends(
    make_cli, prosody, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    alice, bob = _setup(make_cli, prosody, tmp_path, "alice", "bob")
    alice.run("contacts", "add", "bob@localhost")
    bob.run("contacts", "add", "alice@localhost")
    bob.run("send", "--trust-new", "blind", "alice@localhost", "before the laptop")

    laptop = make_cli("alice-laptop")  # the same account on a second device
    laptop.run(
        "account",
        "add",
        "alice@localhost",
        "--password-file",
        str(tmp_path / "alice.pw"),
        "--server",
        prosody.address,
    )
    # The laptop may be handed the first message from the server's offline store; it was
    # not encrypted for the laptop, which then shows a notice. Let it settle first.
    drained = laptop.run("listen", "--json", "--timeout", "3").stdout.splitlines()
    assert all(json.loads(line)["notice"] for line in drained)
    listeners = [_listen(alice, 2), _listen(laptop, 1)]
    bob.run("send", "--trust-new", "blind", "alice@localhost", "to both of your devices")
    phone_got, laptop_got = (_collect(p) for p in listeners)
    assert [m["body"] for m in phone_got] == ["before the laptop", "to both of your devices"]
    assert [m["body"] for m in laptop_got] == ["to both of your devices"]
    assert laptop_got[0]["encryption"] == "omemo2"

    # A message sent from the phone is encrypted for the laptop too (it arrives as a carbon).
    listener = _listen(laptop, 1)
    alice.run("send", "--trust-new", "blind", "bob@localhost", "sent from my phone")
    (carbon,) = _collect(listener)
    assert carbon["body"] == "sent from my phone"
    assert carbon["to"] == "bob@localhost"
