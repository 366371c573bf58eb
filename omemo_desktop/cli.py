"""omemo-desktop-cli: the headless front end over the same service as the GUI.

The command line is a stable contract (scripts and tests rely on it); see README.md.
Exit codes: 0 success, 1 failure (message on stderr), 2 usage, 3 trust decision needed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from . import log, paths
from .service.api import (
    ConnectionStateChanged,
    DecryptionFailed,
    Event,
    MessageReceived,
    MessengerApi,
    ServiceError,
    TrustRequired,
    create_messenger,
    shared_file,
)

EXIT_FAILURE = 1
EXIT_TRUST = 3


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="omemo-desktop-cli", description=__doc__.splitlines()[0])
    p.add_argument(
        "--data-dir", help=f"data directory (default: the platform's; env {paths.DATA_DIR_ENV})"
    )
    p.add_argument("--ca-file", help="extra CA certificate (PEM) to trust, e.g. a test server's")
    p.add_argument("--account", help="account JID to use when several are configured")
    p.add_argument("--log-level", default="WARNING")
    sub = p.add_subparsers(dest="command", required=True)

    acc = sub.add_parser("account", help="manage accounts").add_subparsers(
        dest="action", required=True
    )
    add = acc.add_parser("add", help="add an account (stores the password in the keyring)")
    add.add_argument("jid")
    add.add_argument("--password-file", required=True, help="file holding the password")
    add.add_argument("--server", help="HOST[:PORT], skips DNS (tls://HOST:PORT = direct TLS)")
    add.add_argument("--register", action="store_true", help="create the account first (XEP-0077)")
    acc.add_parser("list", help="list configured accounts")

    send = sub.add_parser("send", help="send a message (OMEMO-encrypted unless --plain)")
    send.add_argument("jid")
    send.add_argument("text")
    send.add_argument("--plain", action="store_true", help="send unencrypted")
    send.add_argument("--trust-new", choices=["blind"], help="trust undecided devices blindly")

    send_file = sub.add_parser(
        "send-file", help="share a file: encrypted upload, link sent with OMEMO (XEP-0454)"
    )
    send_file.add_argument("jid", help="contact or room")
    send_file.add_argument("path")
    send_file.add_argument("--trust-new", choices=["blind"], help="trust undecided devices blindly")

    download = sub.add_parser("download", help="fetch and verify a shared file")
    download.add_argument("source", metavar="ID|URL", help="message id or aesgcm:// link")
    download.add_argument("dest", help="file name, or a folder to keep the link's file name")
    download.add_argument("--force", action="store_true", help="replace an existing file")

    listen = sub.add_parser("listen", help="print received messages")
    listen.add_argument("--json", action="store_true", help="one JSON object per line")
    listen.add_argument("--timeout", type=float, default=None, help="stop after S seconds")
    listen.add_argument("--count", type=int, default=None, help="stop after N messages")

    contacts = sub.add_parser("contacts", help="manage contacts").add_subparsers(
        dest="action", required=True
    )
    cadd = contacts.add_parser("add", help="add a contact and subscribe to its presence")
    cadd.add_argument("jid")
    cadd.add_argument("--name", default="")
    contacts.add_parser("list", help="list contacts")

    dev = sub.add_parser("devices", help="a contact's OMEMO devices")
    dev.add_argument("jid")
    trust = sub.add_parser("trust", help="record a trust decision for a device")
    trust.add_argument("jid")
    trust.add_argument("device", help="fingerprint (hex, spaces allowed) or device id")
    trust.add_argument("--as", dest="trust_as", required=True, choices=["trusted", "distrusted"])
    sub.add_parser("fingerprint", help="own fingerprint and verification URI")
    verify = sub.add_parser("verify", help="apply an xmpp: verification URI")
    verify.add_argument("uri")
    return p


def _pick_account(messenger: MessengerApi, wanted: str | None) -> str:
    accounts = messenger.accounts()
    if wanted:
        if wanted not in accounts:
            raise ServiceError(f"No account {wanted} is configured. Add it with 'account add'.")
        return wanted
    if not accounts:
        raise ServiceError("No account is configured yet. Add one with 'account add JID'.")
    if len(accounts) > 1:
        raise ServiceError("Several accounts are configured; choose one with --account JID.")
    return accounts[0]


async def _run(args: argparse.Namespace) -> int:
    messenger = create_messenger(paths.data_dir(args.data_dir), paths.ca_file(args.ca_file))
    try:
        return await _dispatch(messenger, args)
    finally:
        await messenger.close()


async def _dispatch(m: MessengerApi, args: argparse.Namespace) -> int:
    if args.command == "account":
        if args.action == "list":
            for jid in m.accounts():
                print(jid)
            return 0
        password = Path(args.password_file).read_text(encoding="utf-8").rstrip("\r\n")
        await m.add_account(args.jid, password, server=args.server, register=args.register)
        print(f"Account {args.jid} added.")
        return 0

    account = _pick_account(m, args.account)
    if args.command == "listen":
        return await _listen(m, account, args)  # subscribes before connecting: nothing missed
    await m.connect(account)

    if args.command == "send":
        trust_new = getattr(args, "trust_new", None)
        sender = getattr(m, "send_message_cli", None)
        if sender is not None:
            await sender(account, args.jid, args.text, encrypt=not args.plain, trust_new=trust_new)
        else:
            await m.send_message(account, args.jid, args.text, encrypt=not args.plain)
        return 0
    if args.command == "send-file":
        file_sender = getattr(m, "send_file_cli", None)
        if file_sender is not None:
            view = await file_sender(account, args.jid, Path(args.path), trust_new=args.trust_new)
        else:
            view = await m.send_file(account, args.jid, Path(args.path))
        print(view.id)
        return 0
    if args.command == "download":
        saved = await m.download(account, args.source, Path(args.dest), overwrite=args.force)
        print(saved)
        return 0
    if args.command == "contacts":
        if args.action == "add":
            await m.add_contact(account, args.jid, args.name)
            print(f"Contact {args.jid} added; presence subscription requested.")
        else:
            for c in m.contacts(account):
                print(f"{c.jid}\t{c.name}\t{c.subscription}")
        return 0
    if args.command == "devices":
        for d in await m.devices(account, args.jid):
            print(
                f"{d.device_id}\t{d.fingerprint}\t{d.trust}\t"
                f"{'active' if d.active else 'inactive'}\t{d.label or ''}\t{d.namespace}"
            )
        return 0
    if args.command == "trust":
        await _trust(m, account, args)
        return 0
    if args.command == "fingerprint":
        fingerprint, uri = await m.own_fingerprint(account)
        print(" ".join(fingerprint[i : i + 8] for i in range(0, len(fingerprint), 8)))
        print(uri)
        return 0
    if args.command == "verify":
        for d in await m.apply_verification_uri(account, args.uri):
            print(f"verified {d.jid} device {d.device_id}")
        return 0
    raise AssertionError(args.command)


async def _trust(m: MessengerApi, account: str, args: argparse.Namespace) -> None:
    wanted = args.device.replace(" ", "").lower()
    devices = await m.devices(account, args.jid)
    match = [d for d in devices if str(d.device_id) == wanted or d.fingerprint == wanted]
    if not match:
        raise ServiceError(f"{args.jid} has no device {args.device}. See 'devices {args.jid}'.")
    for d in match:
        await m.set_trust(account, args.jid, d.device_id, args.trust_as)
        print(f"{args.jid} device {d.device_id}: {args.trust_as}")


async def _listen(m: MessengerApi, account: str, args: argparse.Namespace) -> int:
    done = asyncio.Event()
    seen = 0

    def on_event(event: Event) -> None:
        nonlocal seen
        if isinstance(event, MessageReceived) and event.account == account:
            msg = event.message
            if args.json:
                line = json.dumps(
                    {
                        "from": msg.peer if msg.direction == "in" else account,
                        "to": account if msg.direction == "in" else msg.peer,
                        "body": msg.body,
                        "encryption": msg.encryption,
                        "device": msg.sender_device,
                        "trusted": msg.trust in ("trusted", "verified"),
                        "trust": msg.trust,
                        "id": msg.id,
                        "timestamp": msg.timestamp,
                        "notice": msg.notice,
                        # a shared file (XEP-0454): its name; `download ID DEST` fetches it
                        "file": shared.name if (shared := shared_file(msg)) else None,
                    }
                )
            else:
                line = f"{msg.peer}: {msg.body}"
            print(line, flush=True)
            seen += 1
            if args.count is not None and seen >= args.count:
                done.set()
        elif isinstance(event, DecryptionFailed) and not args.json:
            print(f"! {event.peer} device {event.device_id}: {event.reason}", flush=True)
        elif isinstance(event, ConnectionStateChanged) and event.state == "failed":
            print(f"! connection failed: {event.error}", file=sys.stderr, flush=True)

    unsubscribe = m.events.subscribe(on_event)
    try:
        await m.connect(account)
        catch_up = getattr(m, "catch_up", None)
        if catch_up is not None:
            await catch_up(account)
        if args.count is not None and seen >= args.count:
            return 0
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), args.timeout)
    finally:
        unsubscribe()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    log.setup(args.log_level)
    try:
        return asyncio.run(_run(args))
    except TrustRequired as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_TRUST
    except (ServiceError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
