"""Opening the app's database: the engine for SQLite or PostgreSQL, migrations, and errors that name the setting.

SQLite is the embedded default (`.appstate/app.sqlite3`, directory 0700, file 0600) in WAL mode, so several
processes on one host share it; writes take the lock at BEGIN (IMMEDIATE), so two writers queue instead of one
failing half-way. PostgreSQL (`APP_DATABASE_URL=postgresql+psycopg://…`) serves replicas on several hosts.
Every connection and statement has a timeout: a database that went away is an error within seconds, not a hang.
"""

from __future__ import annotations

import fcntl
import importlib
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, Engine, MetaData, String, Table, create_engine, event, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from identity.errors import SettingsError
from identity.settings import Settings
from identity.store import schema
from identity.store.errors import StoreUnavailable
from identity.store.sealing import Sealer, local_secret_key

__all__ = ["APP_STATE_DIRNAME", "DATABASE_FILE", "Database", "app_state_dir", "database_url", "insert_new",
           "open_app_database", "open_database"]

APP_STATE_DIRNAME = ".appstate"
DATABASE_FILE = "app.sqlite3"
CONNECT_TIMEOUT_SECONDS = 5
STATEMENT_TIMEOUT_MS = 15_000
SQLITE_BUSY_SECONDS = 15.0
_MIGRATIONS = Path(__file__).with_name("migrations")
_SEAL_CHECK = b"agent-identity-dashboard"
_VERSION_TABLE = "alembic_version"  # Alembic's own name for it
_MIGRATION_LOCK = 0x41494453  # PostgreSQL advisory lock id ("AIDS"): one replica migrates, the others wait


def app_state_dir(settings: Settings) -> Path:
    """Where the app keeps its own state: `.appstate/` beside localcloud's data directory."""
    return settings.localcloud_data_dir.parent / APP_STATE_DIRNAME


def open_app_database(settings: Settings) -> Database:
    """The app's one database (APP_DATABASE_URL, or `.appstate/app.sqlite3`), migrated; what the releases before
    it kept in `.appstate/*.sqlite3` is imported once. The dashboard and the agent service open the same one."""
    from identity.store.legacy import import_legacy_files  # legacy imports this module

    directory = app_state_dir(settings)
    database = open_database(database_url(settings.database_url, directory), directory, settings.secret_key)
    import_legacy_files(database, directory)
    return database


def database_url(setting: str | None, state_dir: Path) -> str:
    """APP_DATABASE_URL, or the embedded SQLite file in the app's state directory."""
    if not setting:
        return f"sqlite:///{state_dir / DATABASE_FILE}"
    try:
        url = make_url(setting)
    except ArgumentError:
        raise SettingsError("APP_DATABASE_URL is not a database URL: use postgresql+psycopg://user:password@host:"
                            "5432/dbname, or sqlite:///path/app.sqlite3, or unset it for the embedded "
                            "default.") from None
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if url.drivername == "sqlite" and url.database:
        return setting
    raise SettingsError(f"APP_DATABASE_URL uses {url.drivername!r}: the app speaks postgresql+psycopg:// "
                        "(PostgreSQL 15+) and sqlite:///path only.")


@dataclass
class Database:
    """The engine, the sealer and this process's name in the change feed."""

    engine: Engine
    sealer: Sealer = field(repr=False)
    origin: str = field(default_factory=lambda: secrets.token_hex(8))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def path(self) -> Path | None:
        """The SQLite file (None on PostgreSQL)."""
        return Path(self.engine.url.database or "") if self.dialect == "sqlite" else None

    @property
    def shown_url(self) -> str:
        """The URL with its password masked: fit for an error message."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One transaction that commits at the end or rolls back on any error (nothing half-written)."""
        with self._failures(), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads (no write lock on SQLite)."""
        with self._failures(), self.engine.connect() as connection:
            yield connection.execution_options(store_read=True)

    @contextmanager
    def _failures(self) -> Iterator[None]:
        try:
            yield
        except IntegrityError:  # a rule of the data, not an outage: the caller decides (a race another process won)
            raise
        except (DBAPIError, PoolTimeout) as exc:
            raise StoreUnavailable(_unavailable(self.shown_url, exc)) from None

    def close(self) -> None:
        self.engine.dispose()


def insert_new(connection: Connection, table: Table, values: dict[str, Any]) -> bool:
    """Insert the row unless one with its key exists (`ON CONFLICT DO NOTHING`, on either engine); whether it did.

    Check-then-insert is a race between processes (two replicas starting at once, two requests naming one new
    session): this decides it in the database, and the loser sees the winner's row afterwards."""
    # The engine's own dialect module: the other one is never imported (memory at start).
    dialect = importlib.import_module(f"sqlalchemy.dialects.{connection.dialect.name}")
    statement = dialect.insert(table).values(**values).on_conflict_do_nothing()
    # RETURNING, not rowcount: psycopg reports no row count for this statement.
    return connection.execute(statement.returning(*table.primary_key.columns)).first() is not None


def _unavailable(shown_url: str, exc: BaseException) -> str:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
    return (f"The app's database is unavailable ({reason}). It is {shown_url}: check APP_DATABASE_URL and that the "
            "database server is running and reachable, then reload.")


def open_database(url: str, state_dir: Path, secret_key: str | None = None) -> Database:
    """Connect, migrate to the latest schema (once, whichever process comes first) and check the sealing key."""
    if url.startswith("sqlite:"):
        _private_file(Path(make_url(url).database or ""))
    sealer = Sealer(secret_key or _generated_key(state_dir))
    database = Database(_engine(url), sealer)
    try:
        _migrate(database, url)
        _check_key(database)
    except SQLAlchemyError as exc:
        database.close()
        raise StoreUnavailable(_unavailable(database.shown_url, exc)) from None
    except BaseException:
        database.close()
        raise
    return database


def _generated_key(state_dir: Path) -> str:
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return local_secret_key(state_dir)


def _private_file(path: Path) -> None:
    """Create the directory (0700) and the database file (0600) before SQLite opens it."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        os.chmod(path, 0o600)
    except OSError as exc:
        raise StoreUnavailable(f"The app's database {path} cannot be created ({exc.strerror}): make its directory "
                               "writable, or set APP_DATABASE_URL.") from None


def _engine(url: str) -> Engine:
    if url.startswith("sqlite:"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_connected)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, pool_timeout=10,
                         connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS,
                                       "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"})


def _sqlite_connected(connection: Any, _record: object) -> None:
    # The driver's own transaction handling off: `_sqlite_begin` says when a transaction starts and how.
    connection.isolation_level = None
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    """Reads begin deferred; writes take the write lock at once, so a busy database makes them wait (bounded by
    the busy timeout) instead of failing when a read turns into a write."""
    read_only = connection.get_execution_options().get("store_read", False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _migrate(database: Database, url: str) -> None:
    """Bring the schema to the latest revision, serialised across processes (advisory lock, or a lock file beside
    SQLite). A new database is built from the metadata and stamped, as Alembic's documentation describes for
    building one from scratch; a current one is left alone; only an older one runs the migrations."""
    with _migration_lock(database, url), database.engine.begin() as connection:
        if database.dialect == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK})
        tables = set(inspect(connection).get_table_names())
        if not tables & set(schema.metadata.tables):
            _create_latest(connection)
        elif _revision(connection, tables) != schema.SCHEMA_REVISION:
            _upgrade(connection)


def _revision(connection: Connection, tables: set[str]) -> str | None:
    if _VERSION_TABLE not in tables:
        return None
    return connection.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalar()  # noqa: S608 (a constant)


def _create_latest(connection: Connection) -> None:
    """The schema from the metadata, and Alembic's version table saying so (its `stamp`)."""
    schema.metadata.create_all(connection)
    version = Table(_VERSION_TABLE, MetaData(), Column("version_num", String(32), primary_key=True))
    version.create(connection, checkfirst=True)
    connection.execute(version.insert().values(version_num=schema.SCHEMA_REVISION))


def _upgrade(connection: Connection) -> None:
    from alembic import command  # imported only here: an older database is rare, and Alembic costs 11 MiB to load
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


@contextmanager
def _migration_lock(database: Database, url: str) -> Iterator[None]:
    if database.dialect != "sqlite":
        yield
        return
    lock_path = Path(str(make_url(url).database) + ".lock")
    descriptor = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _check_key(database: Database) -> None:
    """The first process seals a check value; every later one must open it, or its key is not the database's."""
    sealed = database.sealer.seal(_SEAL_CHECK, "meta:seal_check").hex()
    with database.write() as connection:
        if insert_new(connection, schema.meta, {"name": "seal_check", "value": sealed}):
            return
        row = connection.execute(select(schema.meta.c.value).where(schema.meta.c.name == "seal_check")).one()
    if database.sealer.open(bytes.fromhex(row[0]), "meta:seal_check") != _SEAL_CHECK:
        raise SettingsError("APP_SECRET_KEY is not the key this database was sealed with: set the same "
                            "APP_SECRET_KEY on every replica (or, for the embedded database, restore "
                            ".appstate/secret.key).")
