-- Schema version 1: the first schema of an account database.
-- Never edit a released migration: add a new numbered file instead, and a frozen sample of the
-- previous schema under tests/unit/storage/samples/.

CREATE TABLE own_device (
    singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
    device_id   INTEGER NOT NULL CHECK (device_id BETWEEN 1 AND 2147483647),
    label       TEXT,
    created_at  REAL NOT NULL
);

-- Own signed/one-time pre-key state per namespace, an opaque versioned blob from the protocol
-- core. Private pre-keys may live here; the identity key never does (it is in the keyring).
CREATE TABLE own_prekeys (
    namespace   TEXT PRIMARY KEY
                CHECK (namespace IN ('urn:xmpp:omemo:2', 'eu.siacs.conversations.axolotl')),
    state       BLOB NOT NULL,
    updated_at  REAL NOT NULL
);

CREATE TABLE devices (
    namespace   TEXT NOT NULL
                CHECK (namespace IN ('urn:xmpp:omemo:2', 'eu.siacs.conversations.axolotl')),
    jid         TEXT NOT NULL,
    device_id   INTEGER NOT NULL,
    label       TEXT,
    first_seen  REAL NOT NULL,
    last_seen   REAL NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('active', 'inactive', 'stale')),
    PRIMARY KEY (namespace, jid, device_id)
) WITHOUT ROWID;

CREATE TABLE bundles (
    namespace   TEXT NOT NULL
                CHECK (namespace IN ('urn:xmpp:omemo:2', 'eu.siacs.conversations.axolotl')),
    jid         TEXT NOT NULL,
    device_id   INTEGER NOT NULL,
    bundle      BLOB NOT NULL,
    fetched_at  REAL NOT NULL,
    PRIMARY KEY (namespace, jid, device_id)
) WITHOUT ROWID;

CREATE TABLE sessions (
    namespace   TEXT NOT NULL
                CHECK (namespace IN ('urn:xmpp:omemo:2', 'eu.siacs.conversations.axolotl')),
    jid         TEXT NOT NULL,
    device_id   INTEGER NOT NULL,
    state       BLOB NOT NULL,
    updated_at  REAL NOT NULL,
    PRIMARY KEY (namespace, jid, device_id)
) WITHOUT ROWID;

CREATE TABLE trust (
    jid          TEXT NOT NULL,
    identity_key BLOB NOT NULL,
    state        TEXT NOT NULL
                 CHECK (state IN ('undecided', 'trusted', 'verified', 'distrusted')),
    method       TEXT NOT NULL CHECK (method IN ('none', 'manual', 'blind', 'tofu', 'uri')),
    decided_at   REAL NOT NULL,
    PRIMARY KEY (jid, identity_key)
) WITHOUT ROWID;

CREATE TABLE messages (
    id             INTEGER PRIMARY KEY,
    conversation   TEXT NOT NULL,
    direction      TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    sender         TEXT,
    stanza_id      TEXT,
    origin_id      TEXT,
    body           TEXT NOT NULL,
    encryption     TEXT NOT NULL CHECK (encryption IN ('none', 'omemo2', 'legacy')),
    sender_device  INTEGER,
    trust          TEXT CHECK (trust IN ('undecided', 'trusted', 'verified', 'distrusted')),
    timestamp      REAL NOT NULL,
    stored_at      REAL NOT NULL,
    state          TEXT NOT NULL
                   CHECK (state IN ('received', 'pending', 'sent', 'acked', 'delivered',
                                    'read', 'failed')),
    error          TEXT,
    correction_of  INTEGER REFERENCES messages (id) ON DELETE SET NULL
);

CREATE INDEX messages_by_conversation ON messages (conversation, timestamp, id);
CREATE UNIQUE INDEX messages_origin_id
    ON messages (conversation, direction, origin_id) WHERE origin_id IS NOT NULL;
CREATE UNIQUE INDEX messages_stanza_id
    ON messages (conversation, stanza_id) WHERE stanza_id IS NOT NULL;
CREATE INDEX messages_corrections ON messages (correction_of) WHERE correction_of IS NOT NULL;

-- Which devices an outgoing message was encrypted for.
CREATE TABLE message_recipients (
    message_id  INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    namespace   TEXT NOT NULL
                CHECK (namespace IN ('urn:xmpp:omemo:2', 'eu.siacs.conversations.axolotl')),
    jid         TEXT NOT NULL,
    device_id   INTEGER NOT NULL,
    PRIMARY KEY (message_id, namespace, jid, device_id)
) WITHOUT ROWID;

-- Messages waiting to be sent; the send state is persisted, never only in memory.
CREATE TABLE outbox (
    message_id       INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    state            TEXT NOT NULL
                     CHECK (state IN ('queued', 'awaiting_trust', 'sending', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    next_attempt_at  REAL NOT NULL,
    created_at       REAL NOT NULL
);

CREATE VIRTUAL TABLE messages_fts USING fts5 (
    body,
    content = 'messages',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
END;
