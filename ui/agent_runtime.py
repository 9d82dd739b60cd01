"""The dashboard's agent runtime: the agent's (clients, broker, chats) on the app's core (its login sessions).

Apart from `ui.runtime`: importing it loads the Alibaba Cloud SDKs, DashScope and the MCP client, which only the
pages and routes that act for a user need.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.runtime import AgentRuntime, agent_runtime_on
from identity.signin import LoginSessionStore
from ui.runtime import AppCore

__all__ = ["AppRuntime", "build_runtime"]


@dataclass(frozen=True)
class AppRuntime(AgentRuntime):
    """What every page needs and no user owns: the agent's runtime, the login sessions and the setup token."""

    sessions: LoginSessionStore = field(default=None, repr=False)  # type: ignore[assignment]  # always given
    setup_token: str | None = field(default=None, repr=False)  # for the first Provision in cloud mode


def build_runtime(core: AppCore) -> AppRuntime:
    """The agent's runtime on the core's settings, target and database."""
    agent = agent_runtime_on(core.settings, core.target, core.database)
    return AppRuntime(agent.settings, agent.target, agent.clients, agent.broker, agent.chats,
                      sessions=core.sessions, setup_token=core.setup_token)
