"""The agent layer's errors: one root with the service's code and message, which the UI shows as they are.

    AgentError            code + message (+ HTTP status, attempts); what a turn reports as TurnFailed
    ├── ModelError        DashScope failed for good (after bounded retries), or no API key is configured
    ├── ChatNotFound      no chat with this id for this user (someone else's chat looks exactly the same)
    ├── LimitReached      a per-user bound (prompt length, number of chats, turns at once) refused the request
    ├── SessionTaken      the agent service was given a session id that is another user's chat
    └── TurnBusy          the chat's running turn did not stop in time for a new message (nothing was started)
"""

from __future__ import annotations

__all__ = ["AgentError", "ChatNotFound", "LimitReached", "ModelError", "SessionTaken", "TurnBusy"]


class AgentError(Exception):
    """Something the agent could not do; `code` is the service's (or ours), `message` says why."""

    code = "AgentError"

    def __init__(self, message: str, code: str | None = None, *, status: int | None = None,
                 attempts: int = 1, request_id: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code or type(self).code
        self.status, self.attempts, self.request_id = status, attempts, request_id

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ModelError(AgentError):
    """DashScope answered an error status, broke the stream, or could not be reached."""

    code = "ModelError"


class ChatNotFound(AgentError):
    """The chat does not exist for this user; deliberately the same whether it is missing or not theirs."""

    code = "ChatNotFound"


class LimitReached(AgentError):
    """A per-user bound refused the request (nothing was stored); the message names the bound and what to do."""

    code = "LimitReached"


class SessionTaken(AgentError):
    """A session id names another user's chat: refused, nothing is read or written."""

    code = "SessionTaken"


class TurnBusy(AgentError):
    """A chat's running turn (here or on another replica) did not end within the bound after a new message asked
    it to stop: the new message was not started, so one chat never runs two turns at once."""

    code = "TurnBusy"
