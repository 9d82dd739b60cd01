"""The Chat page's view model: labels for cards and consents, the transcript of a stored chat. Pure: no Streamlit.

Cards name the credential a tool used (kind and provider) and at most its fingerprint, never a value. A call
through the AI Gateway says so ("via the AI Gateway"): its fingerprint is the workload access token the app sent,
the provider's token is the gateway's to inject. A call the gateway's policy denied reads "Denied by policy …".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from agent.background import TURN_BROKEN, TURN_STOPPED
from agent.errors import AgentError
from agent.events import (
    ConsentNeeded,
    ConsentSettled,
    Event,
    McpConnected,
    McpUnavailable,
    ToolFinished,
    ToolStarted,
    TurnFailed,
    card_from_record,
)
from agent.memory import Entry
from identity.broker import PendingConsent
from identity.broker.kinds import kind_label
from identity.cloud import CloudTarget
from identity.settings import Settings
from ui.credentials_view import WORD_JOINER, code_span, countdown, markdown_text, plain_markdown, unlinked

__all__ = ["EXAMPLE_PROMPTS", "STATE_KEY", "TURN_WORKING", "WATCH_SECONDS", "WORD_JOINER", "Bubble", "ChatState",
           "ConsentCard", "Notice", "agent_error_text", "consent_prompt", "consent_settled_text",
           "consent_waiting_text", "denial_label", "example_key", "intro", "model_label", "notice_of", "safe_markdown",
           "stored_consent_text", "tool_details", "tool_finished_label", "tool_started_label", "transcript",
           "unlinked"]

STATE_KEY = "chat"
EXAMPLE_PROMPTS = (
    "What's the weather in Beijing?",
    "What's on my schedule today?",
    "What time is it in Shanghai?",
    "List my ECS instances",
    "Read docs/welcome.md from OSS",
    "Write 'Agent Identity demo notes' to my DingTalk document",
    "List my orders",
)
_ROLE_PROVIDER = "workload RAM role"
# How often a page that did not start the chat's running turn (a reload, another tab, another replica) reads the chat
# again, until the turn has ended: its progress is in the database, whichever process runs it.
WATCH_SECONDS = 2.0
TURN_WORKING = "Friday is still working on this answer: it appears here by itself."
_TURN_ENDED = "The turn ended before this consent was settled."
_SETTLING = "Settled: the turn picks up the outcome in a moment."
_SETTLED = {"completed": "connected: the tool call goes on by itself.",
            "declined": "not approved: nothing was connected.",
            "expired": "no approval arrived in time: ask again to get a new link."}
# Markdown images load their URL as soon as they are drawn: a tool result could smuggle one into an answer.
_IMAGE = re.compile(r"!\[")
# Model text and tool results can be steered by what a tool read (a document, a file), so they never carry a
# link: one labelled "Authorize" would pose as the consent button, which only the identity service's own URL
# becomes. Link syntax is escaped: `](url)`, `][ref]`, `]: url` (a definition); bare URLs are `unlinked`.
_LINK_SYNTAX = re.compile(r"\]([(\[:])")
# `<scheme:…>` is a link, and raw HTML (`<img src=…>`, `</…>`, `<!…>`, `<?…>`) which Streamlit drops silently: both
# are shown as the text they are.
_ANGLE_MARKUP = re.compile(r"<(?=[A-Za-z/!?])")
# A character reference is resolved before links are looked for (`http&colon;//…` links as `http://…`): it is shown
# as typed instead.
_CHAR_REFERENCE = re.compile(r"&(?=#?[A-Za-z0-9]+;)")


@dataclass
class ChatState:
    """This session's Chat page state for one user: the open chat and a prompt an example button chose."""

    owner: tuple[str, str] | None = None
    chat_id: str | None = None
    pending_prompt: str | None = None
    message: str | None = None        # a one-time note above the chat (e.g. a rename that failed)

    def for_user(self, owner: tuple[str, str]) -> ChatState:
        """This state if it is the user's, else a fresh one: another sign-in never opens the last one's chat."""
        return self if self.owner == owner else ChatState(owner=owner)

    def take_prompt(self) -> str | None:
        prompt, self.pending_prompt = self.pending_prompt, None
        return prompt


def example_key(index: int) -> str:
    return f"chat_example_{index}"


def model_label(settings: Settings, target: CloudTarget) -> str:
    """Which model answers: Qwen on DashScope, or localcloud's stand-in."""
    if target.uses_local_model:
        return "Model: local model stand-in (no DASHSCOPE_API_KEY)"
    return f"Model: Qwen {settings.dashscope_model_name} on DashScope"


def intro(user_name: str, settings: Settings, target: CloudTarget) -> str:
    """The line under the title: who the agent acts for, where its credentials come from, which model."""
    return (f"Talk to Friday, the Qwen agent, acting for **{markdown_text(user_name)}**: each tool call gets its "
            f"credential from Agent Identity, and asks for your approval inline when it needs it. "
            f"{model_label(settings, target)}.")


def safe_markdown(text: str) -> str:
    """Model text as Markdown, with images and links shown as text (an image would fetch any URL the text names,
    and a link could pose as the Authorize button)."""
    text = _CHAR_REFERENCE.sub(r"\\&", text)  # &colon; &#58; …
    text = _IMAGE.sub("!\\[", text)
    text = _LINK_SYNTAX.sub(r"]\\\1", text)  # [Authorize](…), [Authorize][ref], [ref]: …
    text = _ANGLE_MARKUP.sub(r"\\<", text)  # <https://…>, <img …>
    return unlinked(text)


def _credential(kind: str, provider: str, via: str = "") -> str:
    if not kind:
        return "no credential"
    credential = f"{kind_label(kind)} from {plain_markdown(provider or _ROLE_PROVIDER)}"
    return f"{credential} via the {plain_markdown(via)}" if via else credential


def denial_label(policies: Sequence[str]) -> str:
    """A call the gateway's policy denied: "Denied by policy <names>", or why none is named."""
    return f"Denied by policy {', '.join(policies)}" if policies else "Denied by policy (no policy permits it)"


def tool_started_label(event: ToolStarted) -> str:
    """A running card's title (Markdown): tools and providers can be named by an MCP server or configuration."""
    return f"{plain_markdown(event.tool)} · {_credential(event.credential_kind, event.provider, event.via)} · running…"


def tool_finished_label(event: ToolFinished) -> str:
    """The card's title (Markdown): tool, credential kind and provider, ok/failed (or the policy's denial), latency."""
    outcome = "ok" if event.ok else "failed"
    if event.denied_by is not None:
        outcome = plain_markdown(denial_label(event.denied_by))
    credential = _credential(event.credential_kind, event.provider, event.via)
    return f"{plain_markdown(event.tool)} · {credential} · {outcome} · {event.latency_ms:.0f} ms"


def agent_error_text(error: AgentError) -> str:
    """An agent error as Markdown: its code and message as text (a message can quote a service, a path, a name)."""
    return f"{markdown_text(error.code)}: {markdown_text(error.message)}"


def tool_details(event: ToolFinished) -> str:
    """Inside the card: the start of the result, and the credential's fingerprint (never its value)."""
    lines = [f"Result: {markdown_text(event.summary)}" if event.summary else "No result text."]
    if event.via:
        sent = f" {code_span(event.fingerprint)}" if event.fingerprint else ""
        lines.append(f"Sent to the {markdown_text(event.via)}: your workload access token{sent}. The "
                     f"{markdown_text(event.provider)} token is injected by the gateway: the app never held it.")
    elif event.fingerprint:
        lines.append(f"Credential fingerprint: {code_span(event.fingerprint)}")
    return "  \n".join(lines)


def consent_prompt(event: ConsentNeeded) -> str:
    scopes = " ".join(event.scopes) or "—"
    return (f"**{markdown_text(event.tool)}** needs your approval at **{markdown_text(event.provider)}** "
            f"(scopes {code_span(scopes)}).")


def consent_waiting_text(seconds_left: int) -> str:
    return (f"Waiting for your approval… {countdown(seconds_left)} left. Press Authorize, approve, and this turn "
            "goes on by itself, also if you reload or leave this page (a new message in this chat stops waiting).")


def consent_settled_text(event: ConsentSettled) -> str:
    return f"{markdown_text(event.provider)}: {_SETTLED.get(event.status, event.status)}"


# -- the transcript of a stored chat -------------------------------------------------------------------
@dataclass(frozen=True)
class Notice:
    level: str       # "info", "warning" or "error"
    text: str


@dataclass
class ConsentCard:
    """A stored consent; `waiting` is the pending consent the chat's running turn still waits for (its Authorize
    button is shown again), `turn_open` that the turn it belongs to is still going."""

    needed: ConsentNeeded
    settled: ConsentSettled | None = None
    waiting: PendingConsent | None = None
    turn_open: bool = False


def stored_consent_text(card: ConsentCard) -> str:
    """Under a stored consent card without a button: its outcome, or why there is none."""
    if card.settled is not None:
        return consent_settled_text(card.settled)
    return _SETTLING if card.turn_open else _TURN_ENDED


Item = str | ToolFinished | ConsentCard | Notice


@dataclass
class Bubble:
    """One chat message as drawn: the user's text, or the assistant's text and cards in order."""

    role: str
    items: list[Item] = field(default_factory=list)


def notice_of(event: Event) -> Notice | None:
    """How MCP news and turn errors read; None for events that are not notices.

    A server connected from the vault is the normal case at every turn's start: only a connection the user
    just approved is news.
    """
    if isinstance(event, McpConnected) and event.via != "vault":
        return Notice("info", f"Alibaba Cloud MCP server connected: {len(event.tools)} tools available.")
    if isinstance(event, McpUnavailable):
        return Notice("warning", f"{markdown_text(event.server)} unavailable, answering without it: "
                                 f"{markdown_text(event.reason)}")
    if isinstance(event, TurnFailed) and event.code == TURN_STOPPED:
        return Notice("warning", markdown_text(event.message))
    if isinstance(event, TurnFailed) and event.code == TURN_BROKEN:
        return Notice("error", markdown_text(event.message))
    if isinstance(event, TurnFailed):
        return Notice("error", f"The model failed: {code_span(event.code)} {markdown_text(event.message)}")
    return None


def _assistant(bubbles: list[Bubble]) -> Bubble:
    if not bubbles or bubbles[-1].role != "assistant":
        bubbles.append(Bubble("assistant"))
    return bubbles[-1]


def _add_card(bubbles: list[Bubble], event: Event, consents: dict[str, ConsentCard]) -> None:
    if isinstance(event, ConsentSettled):
        if event.state in consents:
            consents[event.state].settled = event
        return
    bubble = _assistant(bubbles)
    if isinstance(event, ConsentNeeded):  # a consent asked again by a later turn: its outcome goes to the later card
        consents[event.state] = ConsentCard(event)
        bubble.items.append(consents[event.state])
    elif isinstance(event, ToolFinished):
        bubble.items.append(event)
    elif (notice := notice_of(event)) is not None:
        bubble.items.append(notice)


def _mark_open_turn(bubbles: list[Bubble], waiting: Mapping[str, PendingConsent]) -> None:
    """The last turn is still going: its unsettled consents are not over, and those still pending wait for Authorize."""
    start = max((index for index, bubble in enumerate(bubbles) if bubble.role == "user"), default=-1)
    for bubble in bubbles[start + 1:]:
        for item in bubble.items:
            if isinstance(item, ConsentCard) and item.settled is None:
                item.turn_open, item.waiting = True, waiting.get(item.needed.state)


def transcript(entries: Sequence[Entry], waiting: Mapping[str, PendingConsent] | None = None,
               turn_open: bool = False) -> list[Bubble]:
    """A stored chat as bubbles: user prompts, and the assistant's texts and cards between them. With `turn_open`,
    the last turn is still going, and its consents in `waiting` still wait for the user."""
    bubbles = _bubbles(entries)
    if turn_open:
        _mark_open_turn(bubbles, waiting or {})
    return bubbles


def _bubbles(entries: Sequence[Entry]) -> list[Bubble]:
    bubbles: list[Bubble] = []
    consents: dict[str, ConsentCard] = {}
    for entry in entries:
        if entry.kind == "card":
            event = card_from_record(entry.body)
            if event is not None:
                _add_card(bubbles, event, consents)
        elif entry.body.get("role") == "user":
            bubbles.append(Bubble("user", [str(entry.body.get("content", ""))]))
        elif entry.body.get("role") == "assistant" and entry.body.get("content"):
            _assistant(bubbles).items.append(str(entry.body["content"]))
    return bubbles
