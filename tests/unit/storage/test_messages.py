"""Messages: storing, dedupe, conversation pages, search, delivery state, bulk import."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from omemo_desktop.storage import (
    DeliveryState,
    Direction,
    DuplicateMessage,
    Encryption,
    MessageRepository,
    Namespace,
    NewMessage,
    Recipient,
    TrustState,
    connect,
)
from omemo_desktop.storage.messages import fts_query

repo = MessageRepository()


def msg(
    body: str,
    t: float,
    conversation: str = "bob@x",
    direction: Direction = Direction.IN,
    **extra: object,
) -> NewMessage:
    return NewMessage(
        conversation=conversation,
        direction=direction,
        body=body,
        encryption=Encryption.OMEMO2,
        timestamp=t,
        stored_at=t,
        state=DeliveryState.RECEIVED if direction is Direction.IN else DeliveryState.PENDING,
        **extra,  # type: ignore[arg-type]
    )


def test_add_and_get_round_trip(conn: sqlite3.Connection) -> None:
    recipients = (
        Recipient(Namespace.OMEMO2, "bob@x", 11),
        Recipient(Namespace.OMEMO2, "me@x", 22),
    )
    new = msg(
        "hello",
        5.0,
        direction=Direction.OUT,
        origin_id="o-1",
        sender="me@x/desk",
        sender_device=22,
        recipients=recipients,
    )
    stored = repo.add(conn, new)
    assert repo.get(conn, stored.id) == stored
    assert stored.body == "hello" and stored.state is DeliveryState.PENDING
    assert repo.recipients(conn, stored.id) == recipients
    incoming = repo.add(
        conn, msg("hi", 6.0, stanza_id="s-1", sender_device=11, trust=TrustState.TRUSTED)
    )
    assert repo.get(conn, incoming.id) == incoming
    assert incoming.trust is TrustState.TRUSTED
    assert repo.get(conn, 999_999) is None


def test_delivery_state_and_error(conn: sqlite3.Connection) -> None:
    stored = repo.add(conn, msg("x", 1.0, direction=Direction.OUT, origin_id="o"))
    for state in (DeliveryState.SENT, DeliveryState.ACKED, DeliveryState.DELIVERED):
        repo.set_state(conn, stored.id, state)
        assert repo.get(conn, stored.id).state is state  # type: ignore[union-attr]
    repo.set_state(conn, stored.id, DeliveryState.FAILED, error="recipient unavailable")
    failed = repo.get(conn, stored.id)
    assert failed is not None and failed.error == "recipient unavailable"
    repo.set_stanza_id(conn, stored.id, "server-id-1")
    assert repo.find_by_stanza_id(conn, "bob@x", "server-id-1") == repo.get(conn, stored.id)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE messages SET state = 'bogus' WHERE id = ?", (stored.id,))


def test_duplicates_are_refused_by_the_database(conn: sqlite3.Connection) -> None:
    first = repo.add(conn, msg("a", 1.0, origin_id="o-1", stanza_id="s-1"))
    with pytest.raises(DuplicateMessage):
        repo.add(conn, msg("a again", 2.0, origin_id="o-1"))
    with pytest.raises(DuplicateMessage):
        repo.add(conn, msg("a via MAM", 2.0, stanza_id="s-1"))
    # other conversations, and the other direction, have their own ids
    repo.add(conn, msg("a", 1.0, conversation="carol@x", origin_id="o-1", stanza_id="s-1"))
    repo.add(conn, msg("mine", 1.0, direction=Direction.OUT, origin_id="o-1"))
    # messages without ids are never duplicates of each other
    repo.add(conn, msg("plain", 1.0))
    repo.add(conn, msg("plain", 1.0))
    assert repo.find_by_origin_id(conn, "bob@x", "o-1", Direction.IN) == first
    assert repo.find_by_stanza_id(conn, "bob@x", "s-1") == first
    assert repo.find_by_origin_id(conn, "bob@x", "nope") is None
    assert repo.count(conn, "bob@x") == 4 and repo.count(conn) == 5
    # a refused duplicate leaves no recipients or half rows behind
    assert conn.execute("SELECT count(*) FROM message_recipients").fetchone()[0] == 0


def test_newest_pages_backwards_and_uses_the_index(conn: sqlite3.Connection) -> None:
    for i in range(120):
        repo.add(conn, msg(f"m{i}", float(i // 2), conversation="bob@x"))
        repo.add(conn, msg(f"c{i}", float(i), conversation="carol@x"))
    page = repo.newest(conn, "bob@x", 50)
    assert [m.body for m in page] == [f"m{i}" for i in range(119, 69, -1)]
    oldest = page[-1]
    page2 = repo.newest(conn, "bob@x", 50, before=(oldest.timestamp, oldest.id))
    assert [m.body for m in page2] == [f"m{i}" for i in range(69, 19, -1)]
    plan = " ".join(
        str(r[3])
        for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM messages WHERE conversation = ?"
            " ORDER BY timestamp DESC, id DESC LIMIT 50",
            ("bob@x",),
        )
    )
    assert "messages_by_conversation" in plan and "TEMP B-TREE" not in plan


def test_search_finds_newest_hits_and_follows_edits(conn: sqlite3.Connection) -> None:
    for i in range(30):
        repo.add(conn, msg(f"lunch plans number {i}", float(i)))
    repo.add(conn, msg("Café au lait?", 100.0, conversation="carol@x"))
    hits = repo.search(conn, "lunch plans", limit=5)
    assert [h.body for h in hits] == [f"lunch plans number {i}" for i in range(29, 24, -1)]
    assert [h.body for h in repo.search(conn, "cafe")] == ["Café au lait?"]
    assert repo.search(conn, "lunch", conversation="carol@x") == ()
    assert repo.search(conn, "   ") == ()
    # FTS syntax in the input is text, not an error
    assert repo.search(conn, 'lunch" OR NEAR(') == ()
    assert repo.search(conn, "AND") == ()
    # the index follows updates and deletes
    target = hits[0]
    conn.execute("UPDATE messages SET body = 'dinner instead' WHERE id = ?", (target.id,))
    assert [h.id for h in repo.search(conn, "dinner")] == [target.id]
    conn.execute("DELETE FROM messages WHERE id = ?", (target.id,))
    assert repo.search(conn, "dinner") == ()


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
@example("a\x00b")  # FTS5 would stop at the NUL: "unterminated string"
def test_any_typed_text_is_a_valid_fts_query(text: str) -> None:
    memory = connect(":memory:")
    try:
        query = fts_query(text)
        if query:
            memory.execute("SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?", (query,))
    finally:
        memory.close()


def test_corrections_link_to_the_original(conn: sqlite3.Connection) -> None:
    original = repo.add(conn, msg("teh typo", 1.0, origin_id="o-1"))
    fix = repo.add(conn, msg("the typo", 2.0, origin_id="o-2", correction_of=original.id))
    assert repo.corrections(conn, original.id) == (fix,)
    conn.execute("DELETE FROM messages WHERE id = ?", (original.id,))
    assert repo.get(conn, fix.id).correction_of is None  # type: ignore[union-attr]


def test_bulk_import_indexes_afterwards_and_skips_duplicates(conn: sqlite3.Connection) -> None:
    batch = [msg(f"archived {i} apple", float(i), stanza_id=f"s{i}") for i in range(200)]
    assert repo.bulk_import(conn, batch) == 200
    assert len(repo.search(conn, "apple", limit=500)) == 200
    # a second import with overlap: only new rows are stored and indexed (incremental path)
    more = [msg(f"archived {i} pear", float(i), stanza_id=f"s{i}") for i in range(150, 260)]
    assert repo.bulk_import(conn, more) == 60
    assert len(repo.search(conn, "pear", limit=500)) == 60
    assert repo.count(conn) == 260
    # the live trigger is back: a normal add is searchable at once
    repo.add(conn, msg("live kiwi", 1000.0))
    assert [m.body for m in repo.search(conn, "kiwi")] == ["live kiwi"]
    conn.execute("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')")


def test_bulk_import_failure_keeps_everything_as_it_was(conn: sqlite3.Connection) -> None:
    repo.add(conn, msg("before", 1.0))
    bad = [msg("ok", 2.0), msg("bad", 3.0, recipients=(Recipient(Namespace.OMEMO2, "b", 1),))]
    with pytest.raises(ValueError):
        repo.bulk_import(conn, bad)
    assert repo.count(conn) == 1
    repo.add(conn, msg("after kiwi", 4.0))
    assert len(repo.search(conn, "kiwi")) == 1
