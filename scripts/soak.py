"""Soak test (not in CI): two clients exchange encrypted messages through a throw-away Prosody
while the network drops, the clients restart and the server is killed; prints how many
messages were lost and duplicated (both must be 0) and the time taken.

    .venv/bin/python scripts/soak.py                  # 10,000 messages
    .venv/bin/python scripts/soak.py --messages 1000 --seed 7

Faults, one every --fault-every messages (chosen at random): a socket cut without a stream
close (resumption), a client restart (close and reopen its data directory: the outbox
survives), the server SIGKILLed and started again. Counting is done on each receiver's
database at the end (and on the MessageReceived events, which would show a double display).
Exit status 0 when nothing was lost or duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omemo_desktop.service.api import Event, MessageReceived  # noqa: E402
from omemo_desktop.service.messenger import Messenger  # noqa: E402
from omemo_desktop.storage.secrets import SecretStore  # noqa: E402
from tests.helpers.memory_keyring import MemoryKeyring  # noqa: E402
from tests.helpers.prosody import ProsodyServer  # noqa: E402

PASSWORD = "soak-password"
NAMES = ("alice", "bob")
WINDOW = 200  # messages in flight at most (sent, not yet received)
STALL = 180.0  # seconds without progress before giving up


class Soak:
    def __init__(self, base: Path, server: ProsodyServer, rng: random.Random) -> None:
        self.base, self.server, self.rng = base, server, rng
        self.keyring = MemoryKeyring()
        self.m: dict[str, Messenger] = {}
        self.shown: collections.Counter[tuple[str, str]] = collections.Counter()  # (to, body)
        self.faults: collections.Counter[str] = collections.Counter()
        self.notices = 0
        self.progress = time.monotonic()

    def jid(self, name: str) -> str:
        return f"{name}@localhost"

    def _listener(self, name: str):  # type: ignore[no-untyped-def]
        def on_event(event: Event) -> None:
            if isinstance(event, MessageReceived) and event.message.direction == "in":
                if event.message.notice:
                    self.notices += 1
                    if self.notices <= 3:
                        print(f"  notice for {name}: {event.message.body}", flush=True)
                else:
                    self.shown[(name, event.message.body)] += 1
                self.progress = time.monotonic()

        return on_event

    async def open(self, name: str, *, new: bool = False) -> None:
        m = Messenger(
            data_dir=self.base / name,
            ca_file=self.server.ca_file,
            secrets=SecretStore(self.keyring),
        )
        m.events.subscribe(self._listener(name))
        if new:
            await m.add_account(self.jid(name), PASSWORD, server=self.server.address)
            await m.set_trust_policy(self.jid(name), "blind")
        else:
            await m.connect(self.jid(name))
        self.m[name] = m

    async def close(self, name: str) -> None:
        await self.m.pop(name).close()

    def received(self) -> int:
        return len(self.shown)

    async def fault(self) -> None:
        kind = self.rng.choice(["socket", "socket", "client", "server"])
        self.faults[kind] += 1
        logging.info("fault: %s", kind)
        if kind == "socket":
            name = self.rng.choice(NAMES)
            logging.info("fault: socket of %s", name)
            self.m[name]._omemo(self.jid(name)).client.drop_socket()
        elif kind == "client":
            name = self.rng.choice(NAMES)
            logging.info("fault: restart of %s", name)
            await self.close(name)
            await asyncio.sleep(self.rng.uniform(0.0, 1.0))
            await self.open(name)
        else:
            await asyncio.to_thread(self.server.kill)
            await asyncio.sleep(self.rng.uniform(0.2, 1.5))
            await asyncio.to_thread(self.server.start)

    async def send(self, sender: str, body: str) -> None:
        other = NAMES[1 - NAMES.index(sender)]
        while True:
            m = self.m.get(sender)
            if m is not None:
                try:
                    await m.send_message(self.jid(sender), self.jid(other), body)
                    return
                except Exception as exc:  # a client mid-restart: try again shortly
                    logging.info("send of %s postponed: %s", body, exc)
            await asyncio.sleep(0.1)


def _stored(base: Path, name: str) -> list[str]:
    db = base / name / "accounts" / f"{name}@localhost" / "messages.sqlite3"
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT body FROM messages WHERE direction = 'in' AND correction_of IS NULL"
            " AND (error IS NULL OR error != 'undecryptable') AND body NOT LIKE 'warm-up %'"
        ).fetchall()
        return [r[0] for r in rows]
    finally:
        conn.close()


async def run(count: int, fault_every: int, seed: int, base: Path) -> int:
    rng = random.Random(seed)
    server = ProsodyServer(base / "server")
    server.start()
    for name in NAMES:
        server.register(name, PASSWORD)
    soak = Soak(base, server, rng)
    try:
        for name in NAMES:
            await soak.open(name, new=True)
        # Sessions are set up by one first message each way, in turn: two first messages
        # crossing on the wire desynchronise the sessions (a known bug, see the report).
        for sender, body in (("alice", "warm-up a"), ("bob", "warm-up b")):
            other = NAMES[1 - NAMES.index(sender)]
            await soak.send(sender, body)
            while (other, body) not in soak.shown:
                await asyncio.sleep(0.01)
        soak.shown.clear()
        expected: dict[str, list[str]] = {n: [] for n in NAMES}
        started = time.monotonic()
        soak.progress = started
        next_fault = rng.randint(fault_every // 2, fault_every + fault_every // 2)
        for i in range(count):
            sender = rng.choice(NAMES)
            other = NAMES[1 - NAMES.index(sender)]
            body = f"{sender} #{i}"
            expected[other].append(body)
            await soak.send(sender, body)
            while i + 1 - soak.received() > WINDOW:
                if time.monotonic() - soak.progress > STALL:
                    break
                await asyncio.sleep(0.01)
            if i + 1 == next_fault and i + 1 < count:
                await soak.fault()
                next_fault += rng.randint(fault_every // 2, fault_every + fault_every // 2)
            if (i + 1) % 1000 == 0:
                print(
                    f"  {i + 1} sent, {soak.received()} received, "
                    f"{time.monotonic() - started:.0f} s",
                    flush=True,
                )
        # Done when every message is stored (an event can be missed when a client closes
        # between storing a message and announcing it; the store is what counts).
        last, since = -1, time.monotonic()
        while time.monotonic() - since < STALL:
            have = sum(len(set(_stored(base, n)) & set(expected[n])) for n in NAMES)
            if have == count:
                break
            if have != last:
                last, since = have, time.monotonic()
            await asyncio.sleep(0.5)
        await asyncio.sleep(2.0)  # late duplicates would arrive here
        elapsed = time.monotonic() - started
        if soak.received() < count:
            for name, m in soak.m.items():
                acc = m._omemo(soak.jid(name))
                outbox = await acc.db.run(
                    lambda c: c.execute(
                        "SELECT state, count(*), max(attempts), max(last_error) FROM outbox"
                        " GROUP BY state"
                    ).fetchall()
                )
                print(f"  {name}: {m.connection_state(soak.jid(name))}, outbox {outbox}")
    finally:
        for name in list(soak.m):
            await soak.close(name)
        server.stop()

    lost = duplicated = shown_twice = 0
    for name in NAMES:
        stored = collections.Counter(_stored(base, name))
        missing = [body for body in expected[name] if stored[body] == 0]
        unseen = [b for b in expected[name] if stored[b] and not soak.shown[(name, b)]]
        if unseen:
            print(f"  {name} stored {len(unseen)} without showing them, e.g. {unseen[:5]}")
        lost += len(missing)
        if missing:
            print(f"  {name} never got {len(missing)}, e.g. {missing[:5]}")
        duplicated += sum(n - 1 for n in stored.values() if n > 1)
        shown_twice += sum(n - 1 for (to, _), n in soak.shown.items() if to == name and n > 1)
    faults = ", ".join(f"{k} {v}" for k, v in sorted(soak.faults.items())) or "none"
    print(f"messages:       {count} (seed {seed})")
    print(f"faults:         {faults}")
    print(f"lost:           {lost}")
    print(f"duplicated:     {duplicated} stored, {shown_twice} shown twice")
    print(f"notices:        {soak.notices} undecryptable")
    print(f"time:           {elapsed:.1f} s ({count / elapsed:.0f} messages/s)")
    return 0 if lost == duplicated == shown_twice == soak.notices == 0 else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=10_000)
    p.add_argument("--fault-every", type=int, default=None, help="default: messages / 25")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--keep", action="store_true", help="keep the data (printed path)")
    p.add_argument("--log-level", default="WARNING")
    p.add_argument("--xmpp-debug", action="store_true", help="log raw stanzas too")
    args = p.parse_args()
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    if not args.xmpp_debug:
        for noisy in ("slixmpp", "asyncio"):
            logging.getLogger(noisy).setLevel(max(logging.INFO, logging.getLogger().level))
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    fault_every = args.fault_every or max(20, args.messages // 25)
    tmp = tempfile.mkdtemp(prefix="omemo-soak-") if args.keep else None
    with tempfile.TemporaryDirectory(prefix="omemo-soak-") as scratch:
        base = Path(tmp or scratch)
        if tmp:
            print(f"data in {tmp}")
        return asyncio.run(run(args.messages, fault_every, seed, base))


if __name__ == "__main__":
    sys.exit(main())
