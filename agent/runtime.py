"""What a running agent needs and no user owns: settings, where calls go, the clients, the broker and the chats.

Built once per process, by the dashboard (`ui.runtime`, which adds the login sessions) and by the agent service
(`agent.service`) alike, on the same database: a consent completed at the dashboard's `/callback` wakes a turn
waiting in the service, and the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent.memory import ChatStore
from identity.broker import CredentialBroker
from identity.clients import Clients
from identity.cloud import CloudTarget, connect
from identity.settings import Settings, load_settings
from identity.store import ChangeFeed, Database, open_app_database

__all__ = ["AgentRuntime", "agent_runtime_on", "build_agent_runtime"]


@dataclass(frozen=True)
class AgentRuntime:
    settings: Settings
    target: CloudTarget
    clients: Clients
    broker: CredentialBroker
    chats: ChatStore

    @property
    def database(self) -> Database:
        return self.broker.database

    def close(self) -> None:
        """Stop following the change feed, write the activity log, close the database."""
        self.broker.feed.stop()
        self.broker.log.flush()
        self.broker.database.close()


def build_agent_runtime(environ: Mapping[str, str], secrets: Mapping[str, Any] | None = None) -> AgentRuntime:
    """Resolve the settings, open the database, connect (starting or reusing localcloud in local mode)."""
    settings = load_settings(environ, secrets=secrets or {})
    database = open_app_database(settings)  # first: a bad APP_DATABASE_URL is said before anything starts
    try:
        target = connect(settings)
    except BaseException:
        database.close()
        raise
    return agent_runtime_on(settings, target, database)


def agent_runtime_on(settings: Settings, target: CloudTarget, database: Database) -> AgentRuntime:
    """The clients, the broker (following the change feed from now on) and the chats, on an open database."""
    clients = Clients(target)
    feed = ChangeFeed(database)
    broker = CredentialBroker(clients, settings, database=database, feed=feed)
    feed.start()  # other processes' sign-outs, Disconnects, Clears and consents reach this one from now on
    return AgentRuntime(settings, target, clients, broker, ChatStore(database))
