"""Trust decisions per (jid, identity key): state, how it was decided, and when."""

from __future__ import annotations

import sqlite3

from omemo_desktop.storage.model import TrustDecision, TrustMethod, TrustState

__all__ = ["TrustRepository"]


class TrustRepository:
    def get(self, conn: sqlite3.Connection, jid: str, identity_key: bytes) -> TrustDecision | None:
        row = conn.execute(
            "SELECT state, method, decided_at FROM trust WHERE jid = ? AND identity_key = ?",
            (jid, identity_key),
        ).fetchone()
        if row is None:
            return None
        return TrustDecision(jid, identity_key, TrustState(row[0]), TrustMethod(row[1]), row[2])

    def state(self, conn: sqlite3.Connection, jid: str, identity_key: bytes) -> TrustState:
        """The decision's state, `TrustState.UNDECIDED` when there is none."""
        decision = self.get(conn, jid, identity_key)
        return TrustState.UNDECIDED if decision is None else decision.state

    def set(self, conn: sqlite3.Connection, decision: TrustDecision) -> None:
        conn.execute(
            "INSERT INTO trust (jid, identity_key, state, method, decided_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (jid, identity_key) DO UPDATE SET"
            " state = excluded.state, method = excluded.method, decided_at = excluded.decided_at",
            (
                decision.jid,
                decision.identity_key,
                decision.state,
                decision.method,
                decision.decided_at,
            ),
        )

    def for_jid(self, conn: sqlite3.Connection, jid: str) -> tuple[TrustDecision, ...]:
        rows = conn.execute(
            "SELECT identity_key, state, method, decided_at FROM trust WHERE jid = ?"
            " ORDER BY decided_at, identity_key",
            (jid,),
        ).fetchall()
        return tuple(
            TrustDecision(jid, bytes(r[0]), TrustState(r[1]), TrustMethod(r[2]), r[3]) for r in rows
        )
