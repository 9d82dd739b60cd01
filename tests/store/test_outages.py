"""When the database is wrong, unreachable or goes away: a clear error naming the setting, never a traceback, a
hang or half-written state; and the store works again once the database is back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

import localcloud
from agent.errors import AgentError
from agent.events import MessageAdded
from agent.memory import ChatStore, recorded
from identity.store import database_url, open_database
from tests.conftest import repo_root
from tests.postgres import PostgresServer
from tests.support import free_port, local_app_env, open_page

ALICE = ("https://lc/oauth/aliyun", "alice")
PAGES = [str(repo_root() / "pages" / f"{name}.py") for name in ("login", "chat", "credentials", "inspect", "policies",
                                                                   "setup")]


@pytest.mark.parametrize("url", ["postgresql://app:pw@127.0.0.1:{port}/app", "mysql://root@127.0.0.1/app"])
def test_every_page_names_the_setting_when_the_database_cannot_be_used(url: str, fresh_cloud: localcloud.LocalCloud,
                                                                       tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch):
    for _ in local_app_env(fresh_cloud, tmp_path, monkeypatch):
        monkeypatch.setenv("APP_DATABASE_URL", url.format(port=free_port()))
        for page in PAGES:
            at = open_page(page)  # asserts no exception: no traceback on the page
            errors = [error.value for error in at.error]
            assert any("APP_DATABASE_URL" in text and ":pw@" not in text for text in errors), (page, errors)


def _set_connections(server: PostgresServer, database: str, allowed: bool) -> None:
    """Let nobody (or everybody again) connect to `database`, and end every connection it has: it went away."""
    with psycopg.connect(server.conninfo(), autocommit=True) as admin:
        admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
            sql.Identifier(database), sql.SQL("true" if allowed else "false")))
        if not allowed:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (database,))


@pytest.fixture
def chats_on_postgres(postgres_server: PostgresServer, postgres_url: str, tmp_path: Path) -> Iterator[ChatStore]:
    store = ChatStore(open_database(database_url(postgres_url, tmp_path), tmp_path, "k" * 32))
    yield store
    _set_connections(postgres_server, str(make_url(postgres_url).database), True)
    store.close()


def test_the_database_going_away_mid_chat_is_an_error_and_nothing_is_half_written(postgres_server, postgres_url,
                                                                                  chats_on_postgres):
    store, name = chats_on_postgres, str(make_url(postgres_url).database)
    chat = store.create_chat(ALICE)

    def turn() -> Iterator[MessageAdded]:
        yield MessageAdded({"role": "user", "content": "Read my DingTalk document"})
        _set_connections(postgres_server, name, False)  # the database goes away while the turn runs
        yield MessageAdded({"role": "assistant", "content": "Here it is"})

    with pytest.raises(AgentError) as raised:
        list(recorded(store, ALICE, chat.id, turn()))
    assert raised.value.code == "ChatStoreUnavailable" and "APP_DATABASE_URL" in str(raised.value)

    _set_connections(postgres_server, name, True)  # back: the same store works again, no restart needed
    entries = store.entries(ALICE, chat.id)
    assert [entry.body["content"] for entry in entries] == ["Read my DingTalk document"]
    assert store.get_chat(ALICE, chat.id).updated_at >= chat.updated_at
    store.append_message(ALICE, chat.id, {"role": "assistant", "content": "Here it is"})
    assert len(store.entries(ALICE, chat.id)) == 2
