"""Own device, devices and bundles, sessions, trust and the outbox."""

from __future__ import annotations

import sqlite3

import pytest

from omemo_desktop.storage import (
    Bundle,
    DeliveryState,
    Device,
    DeviceRepository,
    DeviceStatus,
    Direction,
    Encryption,
    MessageRepository,
    Namespace,
    NewMessage,
    OutboxRepository,
    OutboxState,
    OwnDevice,
    OwnDeviceRepository,
    OwnPreKeys,
    Session,
    SessionRepository,
    TrustDecision,
    TrustMethod,
    TrustRepository,
    TrustState,
)

O2 = Namespace.OMEMO2
LEGACY = Namespace.LEGACY


def test_own_device_and_prekeys(conn: sqlite3.Connection) -> None:
    repo = OwnDeviceRepository()
    assert repo.get(conn) is None
    repo.save(conn, OwnDevice(1234, "laptop", 10.0))
    repo.set_label(conn, "desk")
    assert repo.get(conn) == OwnDevice(1234, "desk", 10.0)
    repo.save(conn, OwnDevice(99, None, 11.0))  # there is only ever one
    assert repo.get(conn) == OwnDevice(99, None, 11.0)
    assert repo.prekeys(conn, O2) is None
    repo.save_prekeys(conn, OwnPreKeys(O2, b"\x01v1-omemo2", 1.0))
    repo.save_prekeys(conn, OwnPreKeys(LEGACY, b"\x01v1-legacy", 1.0))
    repo.save_prekeys(conn, OwnPreKeys(O2, b"\x01v1-omemo2-rotated", 2.0))
    assert repo.prekeys(conn, O2) == OwnPreKeys(O2, b"\x01v1-omemo2-rotated", 2.0)
    assert repo.prekeys(conn, LEGACY) == OwnPreKeys(LEGACY, b"\x01v1-legacy", 1.0)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO own_prekeys VALUES ('urn:other', x'00', 0)")


def test_device_list_updates(conn: sqlite3.Connection) -> None:
    repo = DeviceRepository()
    new = repo.apply_device_list(conn, O2, "bob@x", {1: "phone", 2: None}, now=100.0)
    assert [d.device_id for d in new] == [1, 2]
    new = repo.apply_device_list(conn, O2, "bob@x", {2: "tablet", 3: None}, now=200.0)
    assert [d.device_id for d in new] == [3]
    devices = {d.device_id: d for d in repo.for_jid(conn, "bob@x", O2)}
    assert devices[1].status is DeviceStatus.INACTIVE and devices[1].last_seen == 100.0
    assert devices[2] == Device(O2, "bob@x", 2, "tablet", 100.0, 200.0, DeviceStatus.ACTIVE)
    assert devices[3].first_seen == 200.0
    assert [d.device_id for d in repo.for_jid(conn, "bob@x", active_only=True)] == [2, 3]
    # the legacy namespace is a separate list
    repo.apply_device_list(conn, LEGACY, "bob@x", {7: None}, now=150.0)
    assert [d.device_id for d in repo.for_jid(conn, "bob@x", LEGACY)] == [7]
    assert len(repo.for_jid(conn, "bob@x")) == 4
    # silence makes a device stale, a message revives it
    assert repo.mark_stale(conn, silent_since=160.0) == 1
    assert repo.get(conn, LEGACY, "bob@x", 7).status is DeviceStatus.STALE  # type: ignore[union-attr]
    repo.mark_seen(conn, LEGACY, "bob@x", 7, now=300.0)
    seen = repo.get(conn, LEGACY, "bob@x", 7)
    assert seen is not None and seen.status is DeviceStatus.ACTIVE and seen.last_seen == 300.0
    repo.set_status(conn, O2, "bob@x", 3, DeviceStatus.INACTIVE)
    assert repo.get(conn, O2, "bob@x", 3).status is DeviceStatus.INACTIVE  # type: ignore[union-attr]
    assert repo.get(conn, O2, "nobody@x", 3) is None


def test_bundles(conn: sqlite3.Connection) -> None:
    repo = DeviceRepository()
    assert repo.bundle(conn, O2, "bob@x", 1) is None
    repo.save_bundle(conn, Bundle(O2, "bob@x", 1, b"bundle-1", 5.0))
    repo.save_bundle(conn, Bundle(O2, "bob@x", 1, b"bundle-2", 6.0))
    assert repo.bundle(conn, O2, "bob@x", 1) == Bundle(O2, "bob@x", 1, b"bundle-2", 6.0)
    repo.delete_bundle(conn, O2, "bob@x", 1)
    assert repo.bundle(conn, O2, "bob@x", 1) is None


def test_sessions_are_keyed_by_namespace_jid_device(conn: sqlite3.Connection) -> None:
    repo = SessionRepository()
    repo.save(conn, Session(O2, "bob@x", 1, b"\x01state-a", 1.0))
    repo.save(conn, Session(LEGACY, "bob@x", 1, b"\x01state-legacy", 1.0))
    repo.save(conn, Session(O2, "bob@x", 2, b"\x01state-b", 1.0))
    repo.save(conn, Session(O2, "bob@x", 1, b"\x01state-a2", 2.0))
    assert repo.get(conn, O2, "bob@x", 1) == Session(O2, "bob@x", 1, b"\x01state-a2", 2.0)
    assert repo.get(conn, LEGACY, "bob@x", 1) == Session(
        LEGACY, "bob@x", 1, b"\x01state-legacy", 1.0
    )
    assert [s.device_id for s in repo.for_jid(conn, O2, "bob@x")] == [1, 2]
    assert repo.delete(conn, O2, "bob@x", 2) is True
    assert repo.delete(conn, O2, "bob@x", 2) is False
    assert repo.get(conn, O2, "bob@x", 2) is None


def test_session_archive_is_per_device_newest_first_and_cleared_on_delete(
    conn: sqlite3.Connection,
) -> None:
    repo = SessionRepository()
    repo.save(conn, Session(O2, "bob@x", 1, b"\x01current", 1.0))
    assert repo.archive(conn, O2, "bob@x", 1) == ()
    repo.set_archive(conn, O2, "bob@x", 1, (b"\x01newer", b"\x01older"), 2.0)
    repo.set_archive(conn, LEGACY, "bob@x", 1, (b"\x01legacy",), 2.0)
    assert repo.archive(conn, O2, "bob@x", 1) == (b"\x01newer", b"\x01older")
    repo.set_archive(conn, O2, "bob@x", 1, (b"\x01only",), 3.0)  # replaces every slot
    assert repo.archive(conn, O2, "bob@x", 1) == (b"\x01only",)
    assert repo.delete(conn, O2, "bob@x", 1) is True  # a reset forgets the archive too
    assert repo.archive(conn, O2, "bob@x", 1) == ()
    assert repo.archive(conn, LEGACY, "bob@x", 1) == (b"\x01legacy",)


def test_trust_decisions(conn: sqlite3.Connection) -> None:
    repo = TrustRepository()
    key = bytes(range(32))
    assert repo.get(conn, "bob@x", key) is None
    assert repo.state(conn, "bob@x", key) is TrustState.UNDECIDED
    repo.set(conn, TrustDecision("bob@x", key, TrustState.TRUSTED, TrustMethod.BLIND, 1.0))
    repo.set(conn, TrustDecision("bob@x", key, TrustState.VERIFIED, TrustMethod.URI, 2.0))
    other = bytes(32)
    repo.set(conn, TrustDecision("bob@x", other, TrustState.DISTRUSTED, TrustMethod.MANUAL, 3.0))
    assert repo.get(conn, "bob@x", key) == TrustDecision(
        "bob@x", key, TrustState.VERIFIED, TrustMethod.URI, 2.0
    )
    assert [d.state for d in repo.for_jid(conn, "bob@x")] == [
        TrustState.VERIFIED,
        TrustState.DISTRUSTED,
    ]
    assert repo.for_jid(conn, "carol@x") == ()


def _outgoing(body: str, origin_id: str) -> NewMessage:
    return NewMessage(
        conversation="bob@x",
        direction=Direction.OUT,
        body=body,
        encryption=Encryption.OMEMO2,
        timestamp=1.0,
        stored_at=1.0,
        state=DeliveryState.PENDING,
        origin_id=origin_id,
    )


def test_outbox_lifecycle(conn: sqlite3.Connection) -> None:
    messages, outbox = MessageRepository(), OutboxRepository()
    first = messages.add(conn, _outgoing("one", "o1"))
    second = messages.add(conn, _outgoing("two", "o2"))
    outbox.enqueue(conn, first.id, now=10.0)
    outbox.enqueue(conn, second.id, now=11.0, state=OutboxState.AWAITING_TRUST)
    assert [e.message_id for e in outbox.due(conn, now=20.0)] == [first.id]
    assert outbox.due(conn, now=5.0) == ()
    outbox.set_state(conn, first.id, OutboxState.SENDING)
    entry = outbox.get(conn, first.id)
    assert entry is not None and entry.state is OutboxState.SENDING and entry.attempts == 1
    # the process dies mid-send: on restart the entry is queued again
    assert outbox.requeue_interrupted(conn, now=30.0) == 1
    outbox.set_state(conn, first.id, OutboxState.SENDING)
    outbox.set_state(
        conn, first.id, OutboxState.QUEUED, error="server unreachable", next_attempt_at=60.0
    )
    entry = outbox.get(conn, first.id)
    assert entry is not None
    assert (entry.state, entry.attempts, entry.last_error, entry.next_attempt_at) == (
        OutboxState.QUEUED,
        2,
        "server unreachable",
        60.0,
    )
    assert outbox.remove(conn, first.id) is True
    assert [e.message_id for e in outbox.all(conn)] == [second.id]
    # deleting the message removes its outbox entry
    conn.execute("DELETE FROM messages WHERE id = ?", (second.id,))
    assert outbox.all(conn) == ()
