"""Chat page: talk to Friday; every tool call shows the credential it used, and consents appear inline.

A turn runs on a worker of the server process (`agent.background`), not in this script: a reload or a closed tab
stops the script, never the turn. The page that asked follows the turn's events live, the consent card included; the
user approves in another tab, the app's /callback route completes the consent and wakes the turn, and the answer
streams on by itself. Any other page showing that chat (after a reload, in another tab, on another replica) draws
it from the database and reads it again every few seconds until the turn has ended, with the Authorize button of
a consent the turn still waits for.
"""

from __future__ import annotations

from identity.cloud import prepare_process_environment

# Also when this page runs on its own: the Alibaba SDKs must never see a proxy or probe ECS metadata.
prepare_process_environment()

import hashlib  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import streamlit as st  # noqa: E402
from streamlit.delta_generator import DeltaGenerator  # noqa: E402

from agent import (  # noqa: E402
    MAX_PROMPT_CHARS,
    AgentError,
    ChatStore,
    ConsentNeeded,
    ConsentSettled,
    ConsentWaiting,
    Event,
    TextDelta,
    ToolFinished,
    ToolStarted,
)
from agent.progress import ChatProgress  # noqa: E402
from identity.broker.routes import authorize_link  # noqa: E402
from identity.users import SignedInUser  # noqa: E402
from ui import chat_view as view  # noqa: E402
from ui.chrome import page_frame  # noqa: E402
from ui.credentials_view import UNTRUSTED_LINK, is_trusted_authorization_url, plain_markdown  # noqa: E402
from ui.page_state import user_page_state  # noqa: E402
from ui.runtime import AppRuntime  # noqa: E402
from ui.signin import current_user, require_user  # noqa: E402

_NOTICE = {"info": st.info, "warning": st.warning, "error": st.error}


def _state(user: SignedInUser) -> view.ChatState:
    """This session's page state, reset when another user signs in."""
    return user_page_state(view.STATE_KEY, view.ChatState, user.key)


# -- sidebar actions (callbacks run before the page draws, so it shows their effect) ----------------------
def _new_chat(store: ChatStore) -> None:
    user = current_user()
    if user is None:
        return
    state = _state(user)
    empty = next((c.id for c in store.list_chats(user.key) if not store.entries(user.key, c.id)), None)
    try:
        state.chat_id = empty or store.create_chat(user.key).id  # one empty chat is enough
    except AgentError as error:  # the most chats one user may keep: said on the page, never a traceback
        state.message = error.message


def _open_chat(chat_id: str) -> None:
    user = current_user()
    if user is not None:
        _state(user).chat_id = chat_id


def _rename_chat(store: ChatStore, chat_id: str, field: str) -> None:
    user = current_user()
    if user is not None:
        _guarded(user, lambda: store.rename_chat(user.key, chat_id, str(st.session_state.get(field, ""))))


def _delete_chat(store: ChatStore, chat_id: str) -> None:
    user = current_user()
    if user is not None and _guarded(user, lambda: store.delete_chat(user.key, chat_id)):
        _state(user).chat_id = None


def _ask_example(prompt: str) -> None:
    user = current_user()
    if user is not None:
        _state(user).pending_prompt = prompt


def _guarded(user: SignedInUser, action: Callable[[], object]) -> bool:
    """Run a chat action; a failure (e.g. deleted in another tab) becomes a note, never a traceback."""
    try:
        action()
    except AgentError as error:
        _state(user).message = error.message
        return False
    return True


def _sidebar(runtime: AppRuntime, store: ChatStore, user: SignedInUser, state: view.ChatState) -> None:
    with st.sidebar:
        st.caption(view.model_label(runtime.settings, runtime.target))
        st.button("New chat", key="chat_new", icon=":material/add:", width="stretch", on_click=_new_chat,
                  args=(store,))
        for chat in store.list_chats(user.key):
            # a title is the user's own text (often their first prompt), and a button's label is Markdown
            st.button(plain_markdown(chat.title), key=f"chat_open_{chat.id}", width="stretch", on_click=_open_chat,
                      args=(chat.id,), type="primary" if chat.id == state.chat_id else "secondary")
        if state.chat_id:
            _chat_actions(store, state.chat_id, store.get_chat(user.key, state.chat_id).title)


def _title_field(chat_id: str, title: str) -> str:
    """The title box's key: a new box whenever the stored title changes, so it always starts from it."""
    return f"chat_title_{chat_id}_{hashlib.sha256(title.encode()).hexdigest()[:8]}"


def _chat_actions(store: ChatStore, chat_id: str, title: str) -> None:
    field = _title_field(chat_id, title)
    st.text_input("Title of this chat", value=title, key=field, max_chars=60)
    rename, delete = st.columns(2)
    rename.button("Rename", key="chat_rename", icon=":material/edit:", width="stretch", on_click=_rename_chat,
                  args=(store, chat_id, field))
    delete.button("Delete", key="chat_delete", icon=":material/delete:", width="stretch", on_click=_delete_chat,
                  args=(store, chat_id))


# -- drawing ----------------------------------------------------------------------------------------------
def _notice(notice: view.Notice) -> None:
    _NOTICE[notice.level](notice.text)


def _tool_card(event: ToolFinished, card: Any = None) -> None:
    card = card or st.status(view.tool_finished_label(event), expanded=False)
    card.update(label=view.tool_finished_label(event), state="complete" if event.ok else "error")
    card.markdown(view.tool_details(event))


def _authorize_button(runtime: AppRuntime, authorization_url: str, state: str) -> None:
    """The app's Authorize route for the consent, only when its URL is the identity service's own page."""
    if is_trusted_authorization_url(authorization_url, runtime.target):
        st.link_button("Authorize", authorize_link(runtime.settings.app_url, state), key=f"chat_authorize_{state}",
                       type="primary", icon=":material/open_in_new:")
    else:
        st.caption(UNTRUSTED_LINK)


def _stored_consent(runtime: AppRuntime, card: view.ConsentCard) -> None:
    """A stored consent: Authorize again while the running turn still waits for it (the card keeps its state, the
    broker its single-use link), else its outcome."""
    with st.container(border=True):
        st.markdown(view.consent_prompt(card.needed))
        if card.waiting is not None:
            _authorize_button(runtime, card.waiting.authorization_url, card.needed.state)
            st.caption(view.consent_waiting_text(card.waiting.seconds_left(runtime.broker.clock())))
        else:
            st.caption(view.stored_consent_text(card))


def _item(runtime: AppRuntime, item: view.Item) -> None:
    if isinstance(item, str):
        st.markdown(view.safe_markdown(item))
    elif isinstance(item, ToolFinished):
        _tool_card(item)
    elif isinstance(item, view.ConsentCard):
        _stored_consent(runtime, item)
    else:
        _notice(item)


def _transcript(runtime: AppRuntime, progress: ChatProgress) -> None:
    for bubble in view.transcript(progress.entries, progress.waiting, progress.open):
        with st.chat_message(bubble.role):
            for item in bubble.items:
                if bubble.role == "user":  # the user's own text: shown as typed, never as markup
                    st.markdown(plain_markdown(str(item)))
                else:
                    _item(runtime, item)
    if progress.open and not progress.waiting:
        st.caption(view.TURN_WORKING)


@st.fragment(run_every=view.WATCH_SECONDS)
def _watched_transcript(runtime: AppRuntime, user: SignedInUser, chat_id: str) -> None:
    """A chat whose turn is running but not followed by this page: read again every few seconds from the database
    (whichever replica runs the turn); once it has ended, the whole page runs again, without this timer."""
    signed_in = current_user()
    if signed_in is None or signed_in.key != user.key:  # signed out meanwhile: the page's own run says so
        st.rerun(scope="app")
    try:
        progress = runtime.progress(user.key, chat_id)
    except AgentError:  # e.g. deleted in another tab: the page's own run says so
        st.rerun(scope="app")
    _transcript(runtime, progress)
    if not progress.open:
        st.rerun(scope="app")


@dataclass
class _LiveConsent:
    box: Any
    waiting: Any
    expires_at: float


class _LiveAnswer:
    """Draws a running turn's events into the assistant's bubble as they arrive."""

    def __init__(self, runtime: AppRuntime) -> None:
        self.runtime, self.text = runtime, ""
        self.slot: DeltaGenerator | None = None
        self.tools: dict[str, Any] = {}
        self.consents: dict[str, _LiveConsent] = {}   # still waiting

    def show(self, event: Event) -> None:
        if isinstance(event, TextDelta):
            self._text(event.text)
            return
        self.slot = None  # text after a card starts below it
        if isinstance(event, ToolStarted):
            self.tools[event.call_id] = st.status(view.tool_started_label(event), state="running", expanded=False)
        elif isinstance(event, ToolFinished):
            _tool_card(event, self.tools.pop(event.call_id, None))
        elif isinstance(event, ConsentNeeded):
            self._consent(event)
        elif isinstance(event, ConsentWaiting | ConsentSettled):
            self._consent_update(event)
        elif (notice := view.notice_of(event)) is not None:
            _notice(notice)

    def _text(self, delta: str) -> None:
        if self.slot is None:
            self.slot, self.text = st.empty(), ""
        self.text += delta
        self.slot.markdown(view.safe_markdown(self.text))

    def tick(self) -> None:
        """Nothing new for a moment: move the countdowns (a page call, so a reload or a new message ends this run
        at once; the turn goes on regardless)."""
        now = self.runtime.broker.clock()
        for consent in self.consents.values():
            consent.waiting.caption(view.consent_waiting_text(int(consent.expires_at - now)))

    def _consent(self, event: ConsentNeeded) -> None:
        box = st.empty()
        with box.container(border=True):
            st.markdown(view.consent_prompt(event))
            _authorize_button(self.runtime, event.authorization_url, event.state)
            waiting = st.empty()
            waiting.caption(view.consent_waiting_text(int(event.expires_at - self.runtime.broker.clock())))
        self.consents[event.state] = _LiveConsent(box, waiting, event.expires_at)

    def _consent_update(self, event: ConsentWaiting | ConsentSettled) -> None:
        consent = self.consents.get(event.state)
        if isinstance(event, ConsentWaiting) and consent is not None:
            consent.waiting.caption(view.consent_waiting_text(event.seconds_left))
        elif isinstance(event, ConsentSettled) and (consent := self.consents.pop(event.state, None)) is not None:
            (consent.box.success if event.status == "completed" else consent.box.warning)(
                view.consent_settled_text(event))


def _answer(runtime: AppRuntime, user: SignedInUser, chat_id: str, prompt: str) -> None:
    """Start a turn for the prompt on the process's worker and draw it live while this page is open; it goes on,
    recording into the chat, when the page goes away."""
    turn = runtime.start_turn(user, chat_id, prompt)
    with st.chat_message("user"):
        st.markdown(plain_markdown(prompt))
    with st.chat_message("assistant"):
        live = _LiveAnswer(runtime)
        for event in turn.follow():
            if event is None:
                live.tick()
            else:
                live.show(event)


def _examples() -> None:
    columns = st.columns(3)
    for index, prompt in enumerate(view.EXAMPLE_PROMPTS):
        columns[index % 3].button(prompt, key=view.example_key(index), width="stretch", on_click=_ask_example,
                                  args=(prompt,))


def _chat_for(store: ChatStore, user: SignedInUser, state: view.ChatState, prompt: str | None) -> str | None:
    """The open chat (the latest if none is chosen); a prompt without one starts a chat named after it."""
    chats = {chat.id: chat for chat in store.list_chats(user.key)}
    if state.chat_id not in chats:
        state.chat_id = next(iter(chats), None)
    if prompt and state.chat_id is None:
        state.chat_id = store.create_chat(user.key).id
    if prompt and state.chat_id:
        store.title_if_untitled(user.key, state.chat_id, prompt)
    return state.chat_id


def render() -> None:
    """The Chat page for the signed-in user."""
    runtime = page_frame()
    st.title("Chat")
    user = require_user()
    store, state = _store_or_stop(runtime), _state(user)
    st.caption(view.intro(user.name, runtime.settings, runtime.target))
    # The browser enforces max_chars; the agent refuses a longer prompt anyway (a websocket client can send one).
    prompt = st.chat_input("Ask Friday…", key="chat_input", max_chars=MAX_PROMPT_CHARS) or state.take_prompt()
    try:
        _chat_page(runtime, store, user, state, prompt)
    except AgentError as error:  # e.g. the open chat was deleted in another tab
        st.error(view.agent_error_text(error))


def _store_or_stop(runtime: AppRuntime) -> ChatStore:
    return runtime.chats


def _chat_page(runtime: AppRuntime, store: ChatStore, user: SignedInUser, state: view.ChatState,
               prompt: str | None) -> None:
    chat_id = _chat_for(store, user, state, prompt)
    _sidebar(runtime, store, user, state)
    if state.message:
        st.warning(state.message)
        state.message = None
    _examples()
    if chat_id is None:
        return
    if prompt:  # this page follows its own turn live, below the chat as it was
        _transcript(runtime, ChatProgress(store.entries(user.key, chat_id)))
        store.check_room(user.key, chat_id)  # a full chat asks for a new one (LimitReached)
        _answer(runtime, user, chat_id, prompt)
        return
    progress = runtime.progress(user.key, chat_id)
    if progress.open:
        _watched_transcript(runtime, user, chat_id)
    else:
        _transcript(runtime, progress)


render()
