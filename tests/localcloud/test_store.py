"""The SQLite store: write-ahead journal (a nonce per signed request must not cost a full sync), private files."""

from __future__ import annotations

import sqlite3
import stat
import time

from localcloud.store import DB_NAME, open_store


def test_the_store_journals_ahead_so_a_nonce_is_not_a_full_sync(tmp_path):
    store = open_store(tmp_path, time.time)
    assert store.use_nonce("nonce-1", time.time())
    assert not store.use_nonce("nonce-1", time.time())  # replays are still refused
    with sqlite3.connect(tmp_path / DB_NAME) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._run("PRAGMA synchronous") == [(1,)]  # NORMAL: sync at checkpoints, not at every commit
    store.close()


def test_the_journal_files_are_as_private_as_the_database(tmp_path):
    store = open_store(tmp_path, time.time)
    store.use_nonce("nonce-2", time.time())
    files = sorted(p.name for p in tmp_path.iterdir())
    assert f"{DB_NAME}-wal" in files
    assert all(stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600 for name in files)
    store.close()


def test_state_written_by_one_process_is_read_by_another_connection(tmp_path):
    writer = open_store(tmp_path, time.time)
    reader = open_store(tmp_path, time.time)
    writer.insert("kind", "acct", "name", {"v": 1})
    assert reader.get("kind", "acct", "name") == {"v": 1}
    writer.close()
    reader.close()
