"""How the frozen samples here were made (kept for the record; do not regenerate old ones).

    python tests/unit/storage/samples/build_samples.py 1   # writes v1.sqlite

Each sample is a database at schema version N with a little of everything, written by the
migrations 1..N of that time. When you add migration N+1, freeze vN.sqlite *before* merging it.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from omemo_desktop.storage.db import APPLICATION_ID, MIGRATIONS

ROWS = """
INSERT INTO own_device VALUES (1, 4242, 'sample laptop', 1700000000.0);
INSERT INTO own_prekeys VALUES ('urn:xmpp:omemo:2', x'01aabbcc', 1700000000.0);
INSERT INTO own_prekeys VALUES ('eu.siacs.conversations.axolotl', x'01ddeeff', 1700000000.0);
INSERT INTO devices VALUES ('urn:xmpp:omemo:2', 'bob@example.org', 7, 'phone',
                            1700000001.0, 1700000100.0, 'active');
INSERT INTO devices VALUES ('eu.siacs.conversations.axolotl', 'bob@example.org', 8, NULL,
                            1700000001.0, 1700000002.0, 'inactive');
INSERT INTO bundles VALUES ('urn:xmpp:omemo:2', 'bob@example.org', 7, x'0102', 1700000001.0);
INSERT INTO sessions VALUES ('urn:xmpp:omemo:2', 'bob@example.org', 7, x'01c0ffee', 1700000050.0);
INSERT INTO trust VALUES ('bob@example.org', x'00112233', 'trusted', 'blind', 1700000001.0);
INSERT INTO messages VALUES (1, 'bob@example.org', 'in', 'bob@example.org/phone', 'sid-1',
    'oid-1', 'hello from the past', 'omemo2', 7, 'trusted', 1700000010.0, 1700000011.0,
    'received', NULL, NULL);
INSERT INTO messages VALUES (2, 'bob@example.org', 'out', NULL, NULL, 'oid-2',
    'a pending reply', 'omemo2', 4242, NULL, 1700000020.0, 1700000020.0, 'pending', NULL, NULL);
INSERT INTO message_recipients VALUES (2, 'urn:xmpp:omemo:2', 'bob@example.org', 7);
INSERT INTO outbox VALUES (2, 'queued', 1, 'timed out', 1700000030.0, 1700000020.0);
"""


def build(version: int, target: Path) -> None:
    target.unlink(missing_ok=True)
    conn = sqlite3.connect(target, isolation_level=None)
    for migration in MIGRATIONS[:version]:
        conn.executescript(
            f"BEGIN; {migration.sql}\n; PRAGMA user_version = {migration.version}; COMMIT;"
        )
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.executescript(f"BEGIN; {ROWS}; COMMIT;")
    conn.execute("VACUUM")
    conn.close()


if __name__ == "__main__":
    v = int(sys.argv[1])
    build(v, Path(__file__).with_name(f"v{v}.sqlite"))
