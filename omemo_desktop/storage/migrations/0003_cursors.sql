-- Where each archive catch-up stopped (XEP-0313): our own archive and each room's,
-- so a catch-up resumes exactly where it ended, even across a crash.
CREATE TABLE archive_cursors (
    archive TEXT PRIMARY KEY,   -- our bare JID, or a room's JID
    last_id TEXT NOT NULL,      -- the archive's id of the last message processed
    updated_at REAL NOT NULL
);
