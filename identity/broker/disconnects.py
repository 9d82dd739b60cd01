"""Disconnect marks: which OAuth2 credentials a user disconnected, kept in the app's database.

A mark means "the vault's token does not count until a fresh consent completes": it outlives sign-out, restarts
and replicas (a Disconnect that a restart undid would hand the agent a token the user took back). A mark holds no
secret, only the user, the workload, the provider and the scopes.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, select

from identity.broker.cache import CacheKey
from identity.store import Database
from identity.store.database import insert_new
from identity.store.schema import disconnects

__all__ = ["DisconnectMarks"]


def _where(key: CacheKey) -> Any:
    return and_(disconnects.c.issuer == key.user[0], disconnects.c.subject == key.user[1],
                disconnects.c.workload == key.workload, disconnects.c.kind == key.kind,
                disconnects.c.provider == key.provider, disconnects.c.scopes == json.dumps(list(key.scopes)))


class DisconnectMarks:
    def __init__(self, database: Database) -> None:
        self.database = database

    def __contains__(self, key: CacheKey) -> bool:
        with self.database.read() as db:
            return bool(db.execute(select(exists().where(_where(key)))).scalar())

    def of(self, user: tuple[str, str]) -> list[CacheKey]:
        """The user's marks (no secret in them)."""
        with self.database.read() as db:
            rows = db.execute(select(disconnects).where(disconnects.c.issuer == user[0],
                                                        disconnects.c.subject == user[1])).all()
        return [CacheKey(user, row.workload, row.kind, row.provider, tuple(json.loads(row.scopes))) for row in rows]

    @staticmethod
    def add(db: Connection, key: CacheKey, now: float) -> None:
        """Mark inside the caller's transaction (the broker announces the Disconnect in the same one)."""
        insert_new(db, disconnects, {"issuer": key.user[0], "subject": key.user[1], "workload": key.workload,
                                     "kind": key.kind, "provider": key.provider, "scopes": json.dumps(list(key.scopes)),
                                     "created_at": now})  # a second Disconnect (anywhere) keeps the first mark

    def discard(self, key: CacheKey) -> None:
        with self.database.write() as db:
            db.execute(delete(disconnects).where(_where(key)))
