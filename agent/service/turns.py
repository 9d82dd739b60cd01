"""Running one turn for an async HTTP response: the loop on a worker thread, its events handed over a queue.

The turn is `agent.loop.run_turn`, recorded in the user's chat (the session) as the dashboard records it. When the
client goes away the response stops reading; the worker sees that at the turn's next event (a waiting consent
reports every few seconds), closes the loop's generator (which ends its waits and calls) and frees the thread.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import threading
from collections.abc import AsyncIterator, Callable, Iterator

from agent.errors import AgentError
from agent.events import Event, TurnDone, TurnFailed
from agent.loop import TurnContext, run_turn
from agent.memory import recorded
from agent.runtime import AgentRuntime
from identity.errors import IdentityError
from identity.users import SignedInUser

__all__ = ["SESSION_ID", "new_session_id", "stream_turn"]

SESSION_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_END = object()


def new_session_id() -> str:
    return secrets.token_urlsafe(12)


def _events(runtime: AgentRuntime, user: SignedInUser, session_id: str, prompt: str) -> Iterator[Event]:
    """The turn's events, recorded in the session's chat; a store or identity failure ends it as an error."""
    try:
        chat = runtime.chats.open_session(user.key, session_id)
        runtime.chats.check_room(user.key, chat.id)
        runtime.chats.title_if_untitled(user.key, chat.id, prompt)
        history = runtime.chats.history(user.key, chat.id)
        context = TurnContext.of(user, runtime.broker, runtime.target)
        yield from recorded(runtime.chats, user.key, chat.id, run_turn(context, history, prompt))
    except (AgentError, IdentityError) as error:
        yield TurnFailed(getattr(error, "code", type(error).__name__), str(error))
        yield TurnDone("", 0, ok=False)


def _work(events: Iterator[Event], hand_over: Callable[[object], None], stop: threading.Event) -> None:
    try:
        for event in events:
            hand_over(event)
            if stop.is_set():
                break
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()  # GeneratorExit inside the loop: waits end, nothing more is called
        hand_over(_END)


async def stream_turn(runtime: AgentRuntime, user: SignedInUser, session_id: str,
                      prompt: str) -> AsyncIterator[Event]:
    """The turn's events as they happen; leaving the iteration early stops the turn."""
    loop, queue = asyncio.get_running_loop(), asyncio.Queue[object]()
    stop = threading.Event()

    def hand_over(item: object) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the server's loop is gone (shutting down): nobody is reading any more
            stop.set()

    worker = threading.Thread(target=_work, args=(_events(runtime, user, session_id, prompt), hand_over, stop),
                              name=f"agent-turn-{session_id[:8]}", daemon=True)
    worker.start()
    try:
        while (item := await queue.get()) is not _END:
            yield item  # type: ignore[misc]
    finally:
        stop.set()
