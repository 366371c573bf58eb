-- Schema version 4: previous sessions per peer device, kept for decryption only. When two
-- key exchanges cross on the wire, each side builds a session from the other's and messages
-- keep arriving on the one it replaced; libsignal keeps old sessions for exactly this.
-- slot 0 is the newest; the service keeps only a few.
CREATE TABLE session_archive (
    namespace   TEXT NOT NULL
                CHECK (namespace IN ('urn:xmpp:omemo:2', 'eu.siacs.conversations.axolotl')),
    jid         TEXT NOT NULL,
    device_id   INTEGER NOT NULL,
    slot        INTEGER NOT NULL CHECK (slot >= 0),
    state       BLOB NOT NULL,
    updated_at  REAL NOT NULL,
    PRIMARY KEY (namespace, jid, device_id, slot)
) WITHOUT ROWID;
