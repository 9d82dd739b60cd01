"""The PostgreSQL test fixtures give a real server: SQLAlchemy connects, LISTEN/NOTIFY crosses connections (what
replicas use to tell each other about changes), and every test gets a database of its own."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import create_engine, make_url, text


def _version_number(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            banner = connection.execute(text("SELECT version()")).scalar_one()
            number = connection.execute(text("SHOW server_version_num")).scalar_one()
    finally:
        engine.dispose()
    assert banner.startswith("PostgreSQL ")
    return int(number)


def _conninfo(url: str) -> str:
    """The libpq form of a SQLAlchemy URL, for psycopg itself."""
    parsed = make_url(url)
    return f"host={parsed.host} port={parsed.port} user={parsed.username} dbname={parsed.database} connect_timeout=10"


def test_sqlalchemy_reaches_postgresql_15_or_newer(postgres_url):
    assert postgres_url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
    assert _version_number(postgres_url) >= 150000


def test_a_notification_reaches_a_listener_on_another_connection(postgres_url):
    with psycopg.connect(_conninfo(postgres_url), autocommit=True) as listener, \
            psycopg.connect(_conninfo(postgres_url), autocommit=True) as sender:
        listener.execute("LISTEN c")
        sender.execute("SELECT pg_notify('c', 'x')")

        received = [(note.channel, note.payload) for note in listener.notifies(timeout=2.0, stop_after=1)]

    assert received == [("c", "x")]


def test_each_call_creates_its_own_database(postgres_server):
    first, second = postgres_server.create_database("fixture_a"), postgres_server.create_database("fixture_b")
    try:
        assert first != second
        with psycopg.connect(_conninfo(first), autocommit=True) as connection:
            connection.execute("CREATE TABLE only_in_a (id int)")
        with psycopg.connect(_conninfo(second), autocommit=True) as connection:
            names = [row[0] for row in connection.execute("SELECT tablename FROM pg_tables WHERE schemaname='public'")]
        assert names == []
    finally:
        postgres_server.drop_database("fixture_a")
        postgres_server.drop_database("fixture_b")


@pytest.mark.parametrize("run", [1, 2])
def test_the_postgres_url_fixture_gives_every_test_a_fresh_database(postgres_url, run):
    # Run twice: the table the first run leaves would be seen by the second if the fixture reused its database.
    with psycopg.connect(_conninfo(postgres_url), autocommit=True) as connection:
        assert connection.execute("SELECT count(*) FROM pg_tables WHERE schemaname='public'").fetchone() == (0,)
        connection.execute("CREATE TABLE left_behind (id int)")
    assert make_url(postgres_url).database.startswith("test_")
