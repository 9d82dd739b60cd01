"""The state store itself, on embedded SQLite and on a real PostgreSQL server: migrations, sealing, errors."""

from __future__ import annotations

import sqlite3
import stat
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, inspect, text

from identity.errors import SettingsError
from identity.signin.sealing import new_secret, seal, secret_hash
from identity.store import Database, StoreUnavailable, database_url, open_database
from identity.store.legacy import import_legacy_files
from identity.store.schema import metadata
from tests.support import free_port

KEY = "k" * 32


def test_every_table_exists_at_the_latest_revision(database: Database):
    with database.read() as db:
        tables = set(inspect(db).get_table_names())
        revision = db.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert set(metadata.tables) <= tables and revision == "0001"


def test_opening_again_migrates_nothing_and_keeps_the_data(database: Database, tmp_path: Path):
    with database.write() as db:
        db.execute(text("INSERT INTO meta (name, value) VALUES ('kept', 'yes')"))
    again = open_database(database.engine.url.render_as_string(hide_password=False), tmp_path / ".appstate", KEY)
    try:
        with again.read() as db:
            assert db.execute(text("SELECT value FROM meta WHERE name = 'kept'")).scalar() == "yes"
    finally:
        again.close()


def test_another_secret_key_is_refused_naming_the_setting(database: Database, tmp_path: Path):
    url = database.engine.url.render_as_string(hide_password=False)
    with pytest.raises(SettingsError, match="APP_SECRET_KEY"):
        open_database(url, tmp_path / ".appstate", "another-key-" + "x" * 32)


def test_a_short_secret_key_is_refused(tmp_path: Path):
    with pytest.raises(SettingsError, match="at least 32"):
        open_database(database_url(None, tmp_path), tmp_path, "short")


def test_the_embedded_database_is_private(tmp_path: Path):
    directory = tmp_path / ".appstate"
    opened = open_database(database_url(None, directory), directory)  # its key is generated at first start
    opened.close()
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for name in ("app.sqlite3", "secret.key"):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600, name


@pytest.mark.parametrize("url", ["mysql://root@localhost/app", "not a url at all", "sqlite://"])
def test_a_database_url_the_app_cannot_use_names_the_setting(url: str, tmp_path: Path):
    with pytest.raises(SettingsError, match="APP_DATABASE_URL"):
        database_url(url, tmp_path)


def test_postgresql_without_a_driver_means_psycopg(tmp_path: Path):
    assert database_url("postgresql://u:p@db:5432/app", tmp_path) == "postgresql+psycopg://u:p@db:5432/app"


def test_an_unreachable_server_is_a_clear_error_within_seconds(tmp_path: Path):
    url = database_url(f"postgresql://app:secret-password@127.0.0.1:{free_port()}/app", tmp_path)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as raised:
        open_database(url, tmp_path, KEY)
    message = str(raised.value)
    assert "APP_DATABASE_URL" in message and "secret-password" not in message and "***" in message
    assert time.monotonic() - started < 30  # bounded by the connect timeout, not a hang


# -- a database from the release before the store: two SQLite files, imported once ---------------------------------
_OLD_SESSIONS = """CREATE TABLE sessions (id_hash TEXT PRIMARY KEY, sealed BLOB NOT NULL, expires_at REAL NOT NULL,
                                        created_at REAL NOT NULL);"""
_OLD_CHATS = """
CREATE TABLE chats (id TEXT PRIMARY KEY, issuer TEXT NOT NULL, subject TEXT NOT NULL, title TEXT NOT NULL,
                    created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE entries (seq INTEGER PRIMARY KEY AUTOINCREMENT, chat_id TEXT NOT NULL, issuer TEXT NOT NULL,
                      subject TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL, created_at REAL NOT NULL);
"""


def _old_release_files(directory: Path) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    session_id = new_secret()
    user = (b'{"issuer": "https://lc/oauth/aliyun", "subject": "alice", "name": "Alice", "expires_at": 4e9, '
            b'"id_token": "x.y.z", "claims": {}}')
    with sqlite3.connect(directory / "login_sessions.sqlite3") as old:
        old.executescript(_OLD_SESSIONS)
        old.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)", (secret_hash(session_id), seal(session_id, user),
                                                                  4e9, 1.0))
    with sqlite3.connect(directory / "chats.sqlite3") as old:
        old.executescript(_OLD_CHATS)
        old.execute("INSERT INTO chats VALUES ('c1', 'https://lc/oauth/aliyun', 'alice', 'Weather', 1, 2)")
        for n, text_ in enumerate(("first", "second")):
            old.execute("INSERT INTO entries (chat_id, issuer, subject, kind, body, created_at) VALUES "
                        "('c1', 'https://lc/oauth/aliyun', 'alice', 'message', ?, ?)",
                        (f'{{"role": "user", "content": "{text_}"}}', n))
    return session_id


def test_the_previous_releases_files_are_imported_once(database: Database, tmp_path: Path):
    from agent.memory import ChatStore
    from identity.signin import LoginSessionStore

    directory = tmp_path / "old-appstate"
    session_id = _old_release_files(directory)

    assert import_legacy_files(database, directory) == 4  # a session, a chat, two entries
    assert import_legacy_files(database, directory) == 0
    assert sorted(p.name for p in directory.iterdir()) == ["chats.sqlite3.imported", "login_sessions.sqlite3.imported"]

    owner = ("https://lc/oauth/aliyun", "alice")
    assert LoginSessionStore(database).user(session_id, 10.0).subject == "alice"  # still signed in
    chats = ChatStore(database)
    assert [c.title for c in chats.list_chats(owner)] == ["Weather"]
    assert [m["content"] for m in chats.messages(owner, "c1")] == ["first", "second"]


def test_files_put_back_after_an_import_are_not_imported_twice(database: Database, tmp_path: Path):
    directory = tmp_path / "old-appstate"
    _old_release_files(directory)
    import_legacy_files(database, directory)
    for path in directory.iterdir():
        path.rename(path.with_name(path.name.removesuffix(".imported")))
    assert import_legacy_files(database, directory) == 0


@contextmanager
def _uncommitted_row(database: Database, table: str, values: dict[str, object]) -> Iterator[Callable[[], None]]:
    """Another process, mid-transaction, has inserted this row and not committed yet; yields "wait until someone
    queues behind it" (PostgreSQL: a backend waiting on a lock; SQLite's write lock queues writers by itself)."""
    columns = ", ".join(values)
    with database.engine.connect() as other:
        transaction = other.begin()
        other.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + c for c in values)})"), values)

        def someone_waits() -> None:
            if database.dialect != "postgresql":
                return
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with database.engine.connect() as probe:
                    if probe.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar():
                        return
                time.sleep(0.01)  # a poll interval: the deadline bounds it
            raise AssertionError("nobody queued behind the uncommitted row")

        try:
            yield someone_waits
        finally:
            transaction.commit()


def _in_thread(work: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(work())
        except Exception as error:  # kept, to be asserted on
            outcome.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_a_replica_starting_while_another_seals_the_key_check_starts_too(database: Database, tmp_path: Path):
    """Two replicas' first start on a fresh database: the second finds the first's key check, no unique-key error."""
    with database.write() as db:
        db.execute(text("DELETE FROM meta WHERE name = 'seal_check'"))
    url = database.engine.url.render_as_string(hide_password=False)
    sealed = database.sealer.seal(b"agent-identity-dashboard", "meta:seal_check").hex()
    with _uncommitted_row(database, "meta", {"name": "seal_check", "value": sealed}) as someone_waits:
        thread, outcome = _in_thread(lambda: open_database(url, tmp_path / ".appstate", KEY))
        someone_waits()
    thread.join(timeout=30)
    assert outcome and isinstance(outcome[0], Database), outcome
    outcome[0].close()


def test_a_session_another_user_is_creating_right_now_is_refused_not_an_error(database: Database):
    from agent.errors import SessionTaken
    from agent.memory import ChatStore

    store = ChatStore(database)
    bobs = {"id": "contested", "issuer": "iss", "subject": "bob", "title": "New chat", "created_at": 1.0,
            "updated_at": 1.0}
    with _uncommitted_row(database, "chats", bobs) as someone_waits:  # bob's request on another replica
        thread, outcome = _in_thread(lambda: store.open_session(("iss", "alice"), "contested"))
        someone_waits()
    thread.join(timeout=30)
    assert outcome and isinstance(outcome[0], SessionTaken), outcome  # a refusal, never a database error
    assert store.open_session(("iss", "bob"), "contested").id == "contested"


def _shape(connection: Connection) -> dict[str, object]:
    """Every table's columns (name, type, nullable, primary key), indexes and unique constraints."""
    found = inspect(connection)
    return {table: ([(c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(table)],
                    found.get_pk_constraint(table)["constrained_columns"],
                    sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in found.get_indexes(table)),
                    sorted(tuple(u["column_names"]) for u in found.get_unique_constraints(table)))
            for table in sorted(found.get_table_names())}


@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"])
def test_a_new_database_is_built_exactly_as_the_migrations_build_it(engine_name: str, tmp_path: Path,
                                                                      request: pytest.FixtureRequest):
    # A new database skips Alembic (its memory and time at a cold start): the metadata plus the version stamp must
    # be the schema the migrations make, and Alembic must see it as current, with nothing left to migrate.
    from alembic import command
    from alembic.config import Config
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from identity.store.database import _MIGRATIONS
    from identity.store.schema import SCHEMA_REVISION

    urls = [database_url(None, tmp_path / name) if engine_name == "sqlite" else
            request.getfixturevalue("postgres_server").create_database(f"shape_{name}_{uuid.uuid4().hex[:8]}")
            for name in ("fast", "migrated")]
    (tmp_path / "fast").mkdir(mode=0o700)
    (tmp_path / "migrated").mkdir(mode=0o700)
    fast = open_database(urls[0], tmp_path / "fast", KEY)
    migrated_engine = create_engine(urls[1])
    try:
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with migrated_engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        with fast.engine.connect() as built, migrated_engine.connect() as migrated:
            assert _shape(built) == _shape(migrated)
            context = MigrationContext.configure(built)
            assert context.get_current_revision() == SCHEMA_REVISION
        assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_REVISION
    finally:
        fast.close()
        migrated_engine.dispose()
