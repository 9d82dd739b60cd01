"""Chat page: talk to Friday; every tool call shows the credential it used, and consents appear inline.

While a tool waits for consent this script is blocked in the broker's wait (bounded), with the consent card
already on screen: Streamlit sends elements as they are created. The user approves in another tab, the app's
/callback route completes the consent and wakes the wait, and the answer streams on here by itself.
"""

from __future__ import annotations

from identity.cloud import prepare_process_environment

# Also when this page runs on its own: the Alibaba SDKs must never see a proxy or probe ECS metadata.
prepare_process_environment()

import hashlib  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
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
    TurnContext,
    recorded,
    run_turn,
)
from agent.remote import remote_turn  # noqa: E402
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


def _stored_consent(card: view.ConsentCard) -> None:
    """A consent from an earlier turn: its outcome only (its link was single-use and is not kept)."""
    with st.container(border=True):
        st.markdown(view.consent_prompt(card.needed))
        if card.settled is None:
            st.caption("The turn ended before this consent was settled.")
        else:
            st.caption(view.consent_settled_text(card.settled))


def _item(item: view.Item) -> None:
    if isinstance(item, str):
        st.markdown(view.safe_markdown(item))
    elif isinstance(item, ToolFinished):
        _tool_card(item)
    elif isinstance(item, view.ConsentCard):
        _stored_consent(item)
    else:
        _notice(item)


def _transcript(store: ChatStore, user: SignedInUser, chat_id: str) -> None:
    for bubble in view.transcript(store.entries(user.key, chat_id)):
        with st.chat_message(bubble.role):
            for item in bubble.items:
                if bubble.role == "user":  # the user's own text: shown as typed, never as markup
                    st.markdown(plain_markdown(str(item)))
                else:
                    _item(item)


class _LiveAnswer:
    """Draws a running turn's events into the assistant's bubble as they arrive."""

    def __init__(self, runtime: AppRuntime) -> None:
        self.runtime, self.text = runtime, ""
        self.slot: DeltaGenerator | None = None
        self.tools: dict[str, Any] = {}
        self.consents: dict[str, tuple[Any, Any]] = {}

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

    def _consent(self, event: ConsentNeeded) -> None:
        box = st.empty()
        with box.container(border=True):
            st.markdown(view.consent_prompt(event))
            if is_trusted_authorization_url(event.authorization_url, self.runtime.target):
                st.link_button("Authorize", authorize_link(self.runtime.settings.app_url, event.state),
                               key=f"chat_authorize_{event.state}",
                               type="primary", icon=":material/open_in_new:")
            else:  # only the identity service's own page may become a button
                st.caption(UNTRUSTED_LINK)
            waiting = st.empty()
            waiting.caption(view.consent_waiting_text(int(event.expires_at - self.runtime.broker.clock())))
        self.consents[event.state] = (box, waiting)

    def _consent_update(self, event: ConsentWaiting | ConsentSettled) -> None:
        box, waiting = self.consents.get(event.state, (None, None))
        if isinstance(event, ConsentWaiting) and waiting is not None:
            waiting.caption(view.consent_waiting_text(event.seconds_left))
        elif isinstance(event, ConsentSettled) and box is not None:
            (box.success if event.status == "completed" else box.warning)(view.consent_settled_text(event))


def _turn(runtime: AppRuntime, store: ChatStore, user: SignedInUser, chat_id: str, prompt: str) -> Iterator[Event]:
    """The turn in this process, recorded in the chat; or by the agent service (AGENT_ENDPOINT), which records it
    in the same database."""
    if runtime.settings.agent_endpoint:
        return remote_turn(runtime.settings.agent_endpoint, user.id_token, chat_id, prompt)
    context = TurnContext.of(user, runtime.broker, runtime.target)
    return recorded(store, user.key, chat_id, run_turn(context, store.history(user.key, chat_id), prompt))


def _answer(runtime: AppRuntime, store: ChatStore, user: SignedInUser, chat_id: str, prompt: str) -> None:
    """Run one turn for the prompt, drawing it live and keeping it in the chat."""
    with st.chat_message("user"):
        st.markdown(plain_markdown(prompt))
    with st.chat_message("assistant"):
        live = _LiveAnswer(runtime)
        try:
            for event in _turn(runtime, store, user, chat_id, prompt):
                live.show(event)
        except AgentError as error:  # e.g. the chat was deleted in another tab meanwhile
            st.error(view.agent_error_text(error))


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
    if chat_id is not None:
        _transcript(store, user, chat_id)
        if prompt:
            store.check_room(user.key, chat_id)  # a full chat asks for a new one (LimitReached)
            _answer(runtime, store, user, chat_id, prompt)


render()
