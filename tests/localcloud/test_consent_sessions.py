"""localcloud's consent sessions are deleted an hour after their lifetime, so its store never grows without bound."""

from __future__ import annotations

import time
from pathlib import Path

from localcloud.services.agentidentitydata import records
from localcloud.store import open_store


def _start(store, at: float) -> records.ConsentSession:
    return records.start_consent(store, account="1", workload="w", user_id="u", provider="p", scopes=["openid"],
                                 return_url="http://localhost:8501/callback", custom_state="s", custom_parameters={},
                                 created_at=at)


def test_sessions_long_past_their_lifetime_go_when_a_new_one_starts(tmp_path: Path) -> None:
    store = open_store(tmp_path / "data", time.time)
    try:
        old = _start(store, 0.0)
        kept_until = records.SESSION_LIFETIME_SECONDS + records.KEEP_AFTER_LIFETIME_SECONDS
        recent = _start(store, kept_until - 1)
        assert records.load_consent(store, old.uri).id == old.id  # expired, still answers "expired" for a while
        _start(store, kept_until + 1)

        assert records.find_consent_by_state(store, old.provider_state) is None
        assert records.load_consent(store, recent.uri).id == recent.id
    finally:
        store.close()
