"""The gateway's decision log: one record per authorized (or refused) tool call, kept in localcloud's store.

A record says when, who (user and workload), which tool, the decision, the deciding policies, the policy set and
mode, and whether the call went through; never the arguments, only a keyed digest of them (HMAC-SHA256 with a key
of this data directory, so a record cannot be matched against guessed arguments by anyone without the key; the
evaluation route answers the same digest for arguments you hold). Nor tokens, nor engine error texts (they can
quote argument values): only how many errors there were.

The log keeps the last `DECISIONS_KEPT` records: record `n` lives in slot `n mod DECISIONS_KEPT` and overwrites the
one before it there, so writing never deletes and never scans.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from typing import Any

from localcloud.gateway.authorization import CedarPrincipal, GatewayDecision
from localcloud.store import Store
from localcloud.times import iso_utc

__all__ = ["DECISIONS_KEPT", "MAX_LIMIT", "DecisionLog"]

DECISIONS_KEPT = 10_000
MAX_LIMIT = 1000
_KIND = "gateway.decision"
_SEQUENCE = "gateway.decision_sequence"
_DIGEST_KEY = "gateway.arguments_digest_key"


class DecisionLog:
    """Records and reads the gateway's decisions for one account."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def digest(self, arguments: Mapping[str, Any] | None) -> str:
        """The keyed digest of a call's arguments (canonical JSON), as records carry it."""
        key = self._store.meta(_DIGEST_KEY)
        if key is None:
            self._store.set_meta_once(_DIGEST_KEY, secrets.token_hex(32))
            key = self._store.meta(_DIGEST_KEY) or ""
        canonical = json.dumps(arguments or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                               default=str)
        return "hmac-sha256:" + hmac.new(bytes.fromhex(key), canonical.encode(), hashlib.sha256).hexdigest()

    def record(self, account: str, *, now: float, principal: CedarPrincipal, server: str, tool: str,
               decision: GatewayDecision, arguments: Mapping[str, Any] | None) -> dict[str, Any]:
        """Append one decision (overwriting the oldest once the log is full); the record as stored."""
        digest = self.digest(arguments)
        with self._store.locked():
            sequence = int(self._store.meta(_SEQUENCE) or "0") + 1
            self._store.set_meta(_SEQUENCE, str(sequence))
            record = {"id": sequence, "time": iso_utc(now), "timestamp": now, "user": principal.user_id,
                      "workload": principal.actor_arn, "server": server, "tool": tool, "decision": decision.decision,
                      "deciding_policies": list(decision.deciding_policies), "policy_set": decision.policy_set,
                      "mode": decision.mode, "forwarded": decision.forwarded, "errors": len(decision.errors),
                      "arguments_digest": digest}
            slot = str(sequence % DECISIONS_KEPT)
            if not self._store.replace(_KIND, account, slot, record):
                self._store.insert(_KIND, account, slot, record)
        return record

    def query(self, account: str, *, limit: int = 100, user: str | None = None, tool: str | None = None,
              decision: str | None = None) -> list[dict[str, Any]]:
        """The newest records first, at most `limit` (1 to MAX_LIMIT), filtered by user, tool and decision."""
        limit = max(1, min(limit, MAX_LIMIT))
        wanted = {"user": user, "tool": tool, "decision": decision.upper() if decision else None}
        found = [doc for doc in self._store.list(_KIND, account)
                 if all(value is None or doc.get(key) == value for key, value in wanted.items())]
        found.sort(key=lambda doc: doc["id"], reverse=True)
        return found[:limit]
