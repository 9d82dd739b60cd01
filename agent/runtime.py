"""What a running agent needs and no user owns: settings, where calls go, the clients, the broker, the chats and the
turns running on this process's workers.

Built once per process, by the dashboard (`ui.runtime`, which adds the login sessions) and by the agent service
(`agent.service`) alike, on the same database: a consent completed at the dashboard's `/callback` wakes a turn
waiting in the service, and the other way round.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from agent.background import BackgroundTurn, BackgroundTurns
from agent.errors import AgentError
from agent.events import Event
from agent.loop import TurnContext, run_turn
from agent.memory import ChatStore, Owner, recorded
from agent.progress import ChatProgress, chat_progress, last_turn, unsettled_consents
from agent.remote import remote_turn
from identity.broker import CredentialBroker, PendingConsent
from identity.clients import Clients
from identity.cloud import CloudTarget, connect
from identity.errors import IdentityError
from identity.settings import Settings, load_settings
from identity.store import ChangeFeed, Database, open_app_database
from identity.users import SignedInUser

__all__ = ["AgentRuntime", "agent_runtime_on", "build_agent_runtime"]


@dataclass(frozen=True)
class AgentRuntime:
    settings: Settings
    target: CloudTarget
    clients: Clients
    broker: CredentialBroker
    chats: ChatStore
    turns: BackgroundTurns = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Derived rather than passed, so every runtime (the dashboard's adds fields) has the turns of its own chats.
        object.__setattr__(self, "turns", BackgroundTurns(self.chats, self.broker.feed))

    @property
    def database(self) -> Database:
        return self.broker.database

    def start_turn(self, user: SignedInUser, chat_id: str, prompt: str) -> BackgroundTurn:
        """Answer the prompt on a worker of this process, recorded in the chat as it goes: the turn goes on when the
        page that asked goes away. A turn still running in the chat is stopped first (`BackgroundTurns.start`)."""
        return self.turns.start(user.key, chat_id, self._turn_events(user, chat_id, prompt),
                                lambda: self._recorded_progress(user.key, chat_id).open)

    def _turn_events(self, user: SignedInUser, chat_id: str, prompt: str) -> Iterator[Event]:
        """The turn in this process, recorded in the chat; or by the agent service (AGENT_ENDPOINT), which records it
        in the same database. A generator: the history is read on the worker, after the chat's previous turn ended."""
        if self.settings.agent_endpoint:
            yield from remote_turn(self.settings.agent_endpoint, user.id_token, chat_id, prompt)
            return
        context = TurnContext.of(user, self.broker, self.target)
        history = self.chats.history(user.key, chat_id)
        yield from recorded(self.chats, user.key, chat_id, run_turn(context, history, prompt))

    def progress(self, owner: Owner, chat_id: str) -> ChatProgress:
        """The chat and how far its last turn got: running on a worker here, or recorded as going on (any replica)."""
        return self._recorded_progress(owner, chat_id, self.turns.running(owner, chat_id) is not None)

    def _recorded_progress(self, owner: Owner, chat_id: str, running_here: bool = False) -> ChatProgress:
        chat, entries = self.chats.get_chat(owner, chat_id), self.chats.entries(owner, chat_id)
        states = unsettled_consents(last_turn(entries))
        return chat_progress(entries, self._pending(owner, states), chat.updated_at, self.broker.clock(), running_here)

    def _pending(self, owner: Owner, states: list[str]) -> dict[str, PendingConsent]:
        """The user's consents among `states` that are still pending (read only when a turn left some unsettled)."""
        if not states:
            return {}
        now = self.broker.clock()
        try:
            consents = self.broker.consents.of(owner)
        except IdentityError as error:  # the database went away: the page says so, as for the chats
            raise AgentError(str(error), "ChatStoreUnavailable") from None
        return {c.state: c for c in consents if c.state in states and c.status_at(now) == "pending"}

    def close(self) -> None:
        """Stop the turns, stop following the change feed, write the activity log, close the database."""
        self.turns.close()
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
    if target.local is not None:  # its MCP server is built on first use: before the first turn, not during it
        threading.Thread(target=target.local.warm_up, name="localcloud-warm-up", daemon=True).start()
    return AgentRuntime(settings, target, clients, broker, ChatStore(database))
