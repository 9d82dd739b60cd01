"""Case 16, markup in the user's own text: prompts, chat titles, the name claim, provider names, tool arguments
and error texts are shown as text on every page, never as markup that fetches or links.

The pages run under AppTest against the real, provisioned localcloud. Every Markdown source a page sends (bodies
of markdown, captions, alerts and headings; labels of buttons, cards and widgets) that carries planted text is
parsed with markdown-it-py (CommonMark + GFM tables and strikethrough) and checked for what Streamlit's Markdown
would make of it beyond text: images, links and raw HTML (parser tokens); GFM's bare-URL and e-mail autolinks,
which Streamlit finds in text after escapes are resolved, and its `:material/…:` / `:streamlit:` / emoji
shortcodes (the same regexes over the parsed text: linkify-it-py is not installed); LaTeX (Streamlit's own test
for loading its math plugin, ported); and `:name[…]` directives (an unescaped colon before a letter, outside code).
The Graphviz flow is parsed as DOT and the Altair timeline's Vega-Lite spec as JSON.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import streamlit as st
from markdown_it import MarkdownIt
from markdown_it.token import Token
from streamlit.testing.v1 import AppTest

from agent import AgentError, ChatStore
from identity.broker import PendingConsent
from identity.broker.activity import Activity, Trace
from identity.users import SignedInUser
from tests.app import test_chat_page as chat_tests
from tests.app import test_inspect_page as inspect_tests
from tests.app.test_credentials_page import sign_in
from tests.conftest import repo_root
from tests.support import open_page
from tools import credential_needs
from ui import credentials_view
from ui.credentials_view import WORD_JOINER
from ui.inspect_view import turns_of
from ui.runtime import AppRuntime, app_state_dir, get_runtime, reset_runtime

# The Chat page tests' fixture, by reference: local mode on the session's localcloud, provisioned, no chats.
runtime = chat_tests.runtime
CREDENTIALS_PAGE = str(repo_root() / "pages" / "credentials.py")
LOGIN_PAGE = str(repo_root() / "pages" / "login.py")

PAYLOADS = {
    "image": "![pwn](http://127.0.0.1:9/x.png)",
    "link": "[pwn](http://evil.example/)",
    "html": "<img src=http://127.0.0.1:9/y>",
    "bare-url": "http://evil.example/a",
    "www": "www.evil.example",
    "email": "pwn@evil.example",
    "latex": "$pwn$",
    "directive": ":red[pwn]",
    "icon": ":material/warning:",
    "entity": "http&colon;//evil.example/pwn",
}
PLANTED = " ".join(PAYLOADS.values())
# A name that also tries to end its DOT label and add a link to the flow diagram.
DOT_BREAKOUT = 'Mallory", URL="http://evil.example/dot", label="'
_MARKERS = ("pwn", "evil.example", "127.0.0.1:9/", "material/warning")

# -- what Streamlit's Markdown would make of a source -----------------------------------------------------------
_MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])
_LIVE_TOKENS = frozenset({"image", "link_open", "html_inline", "html_block"})
# remark-gfm's autolink-literal transform (copied from Streamlit's bundle), run on text with escapes resolved.
_GFM_URL = re.compile(r"(?i)(https?://|www(?=\.))[-.\w]+")
_GFM_EMAIL = re.compile(r"[-.\w+]+@[-\w]+(?:\.[-\w]+)+", re.ASCII)
# Streamlit's shortcodes, on text after it rewrote `:material/` to `:material_` in the source.
_SHORTCODE = re.compile(r":[A-Za-z_][\w+-]*:", re.ASCII)
# StreamlitMarkdown's test for loading its math plugin: `$…$` or `$$…$$` outside code and escapes.
_MATH_SKIP = re.compile(r"(?:^|(?<=\n)) {0,3}(`{3,}|~{3,})[\s\S]*?(?:\n[ \t]*\1|\Z)|(?<!`)(`+)[^`\n]+\2(?!`)|\\[\\$`]")
_MATH = re.compile(r"(?<!\$)\$\$+(?!\$)[\s\S]*?\$\$|(?<!\$)\$(?![\s$])[^$\n]*?[^\s$]\$(?!\d)")
# remark-directive's text directive opens at an unescaped `:` before a letter; code spans are skipped.
_DIRECTIVE_SCAN = re.compile(r"\\.|(`+)|:(?=[A-Za-z])", re.DOTALL)
_TEXT_TOKENS = frozenset({"paragraph_open", "paragraph_close", "inline", "text", "softbreak", "hardbreak"})


def _tokens(source: str) -> Iterator[Token]:
    for token in _MARKDOWN.parse(source):
        yield token
        yield from token.children or ()


def _directives(source: str) -> list[str]:
    found, at = [], 0
    while (match := _DIRECTIVE_SCAN.search(source, at)) is not None:
        at = match.end()
        if match.group(1):  # a code span runs to the next backtick run of the same length
            close = re.compile(rf"(?<!`){match.group(1)}(?!`)").search(source, at)
            at = close.end() if close else at
        elif match.group(0) == ":":
            found.append(f"directive {source[match.start():match.start() + 12]!r}")
    return found


def _links_and_fetches(source: str) -> list[str]:
    """Images, links and raw HTML the parser finds, and the autolinks Streamlit adds in text."""
    found = []
    for token in _tokens(source.replace(":material/", ":material_")):
        if token.type in _LIVE_TOKENS:
            found.append(f"{token.type} {token.content or token.attrs}")
        elif token.type == "text":
            found += [f"autolink {m.group(0)}" for pattern in (_GFM_URL, _GFM_EMAIL)
                      for m in pattern.finditer(token.content)]
    return found


def _live_markup(source: str) -> list[str]:
    """Everything in `source` that Streamlit would render as more than text (formatting of the app's own aside)."""
    found = _links_and_fetches(source) + _directives(source)
    if "$" in source and _MATH.search(_MATH_SKIP.sub("_", source)):
        found.append("LaTeX")
    texts = (t.content for t in _tokens(source.replace(":material/", ":material_")) if t.type == "text")
    return found + [f"shortcode {m.group(0)}" for text in texts for m in _SHORTCODE.finditer(text)]


def _structure(source: str) -> list[str]:
    """Tokens beyond paragraphs of text and line breaks: headings, lists, quotes, emphasis, code…"""
    return [token.type for token in _tokens(source) if token.type not in _TEXT_TOKENS]


def _reads(source: str) -> str:
    """The text a person sees (line breaks as newlines, soft ones as spaces, the invisible word joiner dropped)."""
    parts = {"softbreak": " ", "hardbreak": "\n"}
    shown = "".join(parts.get(t.type, t.content if t.type in ("text", "code_inline") else "")
                    for t in _tokens(source) if t.type != "inline")
    return shown.replace(WORD_JOINER, "")


# -- what a page sent -------------------------------------------------------------------------------------------------
def _sources(at: AppTest, model: bool = False) -> list[str]:
    """Markdown sources the page sent (bodies and labels): the app's, or only the model's text (the Markdown drawn
    straight into an assistant bubble; its tool cards, consents and notices are the app's)."""
    found: list[str] = []

    def walk(node: Any, in_answer: bool) -> None:
        proto = getattr(node, "proto", None)
        is_model = in_answer and type(node).__name__ == "Markdown"
        if proto is not None and is_model == model:
            fields = proto.DESCRIPTOR.fields_by_name
            found.extend(getattr(proto, name) for name in ("body", "label") if name in fields and getattr(proto, name))
        answer = type(node).__name__ == "ChatMessage" and node.name == "assistant"
        for child in getattr(node, "children", {}).values():
            walk(child, answer)
    walk(at._tree, False)
    return found


def _carries_planted(source: str) -> bool:
    shown = source.replace("\\", "").replace(WORD_JOINER, "")
    return any(marker in shown for marker in _MARKERS)


def _assert_inert(at: AppTest) -> list[str]:
    """Every source with planted text in it shows it as text (the model's may format it, but never link or fetch);
    the app's sources with planted text, for further checks."""
    assert not at.exception
    planted = [s for s in _sources(at) if _carries_planted(s)]
    assert planted, "the planted text never reached the page"
    assert {s: _live_markup(s) for s in planted if _live_markup(s)} == {}
    answers = [s for s in _sources(at, model=True) if _carries_planted(s)]
    assert {s: _links_and_fetches(s) for s in answers if _links_and_fetches(s)} == {}
    return planted


def _shown_as_typed(sources: list[str], text: str) -> None:
    """One of the sources is exactly `text`, as a person reads it, with no structure of its own."""
    assert any(_reads(s) == text and not _structure(s) for s in sources), sources


def _tables_are_text(at: AppTest, planted: str) -> None:
    """Dataframe cells are text (no link or image column), and the planted text sits in a cell verbatim."""
    cells = []
    for frame in at.dataframe:
        config = json.loads(frame.proto.columns or "{}")
        assert not re.search(r'"(link|image)', json.dumps(config)), config
        cells += [str(value) for value in frame.value.to_numpy().ravel()]
    assert planted in cells


# -- planting ---------------------------------------------------------------------------------------------------------
def _named(runtime: AppRuntime, name: str) -> tuple[SignedInUser, str]:
    """alice, signed in for real, but with `name` as her ID token's name claim (what a provider could send)."""
    alice, _ = sign_in(runtime, "alice")
    user = replace(alice, name=name, claims={**alice.claims, "name": name})
    return user, runtime.sessions.create(user, time.time())


def _ask(session: str, prompt: str) -> AppTest:
    at = chat_tests._open(session)
    at.chat_input(key="chat_input").set_value(prompt).run()
    assert not at.exception
    return at


def _titles(at: AppTest) -> list[str]:
    return [b.proto.label for b in at.sidebar.button if b.key.startswith("chat_open_")]


# -- prompts and chat titles ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(PAYLOADS))
def test_markup_in_a_prompt_and_the_chat_title_made_from_it_stays_text(runtime, kind):
    _, session = sign_in(runtime, "alice")
    prompt = f"say {PAYLOADS[kind]} please"

    at = _ask(session, prompt)
    _assert_inert(at)
    _shown_as_typed([at.chat_message[0].markdown[0].proto.body], prompt)  # the bubble drawn live
    _shown_as_typed(_titles(at), prompt)  # the sidebar's chat list: the title is the first prompt

    at.run()  # a reload draws the stored chat
    _assert_inert(at)
    _shown_as_typed([at.chat_message[0].markdown[0].proto.body], prompt)


def test_block_markup_in_a_prompt_keeps_its_lines_as_text(runtime):
    _, session = sign_in(runtime, "alice")
    prompt = "# not a heading\n- not a list\n1. nor this\n> no quote\n---\n_not emphasis_ and **not bold**\n==="

    at = _ask(session, prompt)

    _shown_as_typed([at.chat_message[0].markdown[0].proto.body], prompt)


def test_markup_in_a_renamed_chat_title_stays_text(runtime):
    _, session = sign_in(runtime, "alice")
    title = f"{PAYLOADS['image']} {PAYLOADS['directive']} {PAYLOADS['latex']}"
    at = _ask(session, "What's the weather in Beijing?")

    at.sidebar.text_input[0].input(title).run()
    at.sidebar.button(key="chat_rename").click().run()

    _assert_inert(at)
    _shown_as_typed(_titles(at), title)
    inspect = inspect_tests._open(session)
    assert inspect.selectbox(key="inspect_chat").options == [title]  # a select's options are plain text


# -- the name claim ---------------------------------------------------------------------------------------------------
def test_markup_in_the_name_claim_stays_text_on_chat_and_credentials(runtime):
    _, session = _named(runtime, PLANTED)

    chat = chat_tests._open(session)
    assert any(PLANTED in _reads(s) for s in _assert_inert(chat))  # "acting for **…**"

    credentials = open_page(CREDENTIALS_PAGE, session, 60)
    assert any(PLANTED in _reads(s) for s in _assert_inert(credentials))  # "Inbound identity"
    _tables_are_text(credentials, PLANTED)  # the ID token's claims


def test_markup_in_the_name_claim_stays_text_on_login(runtime):
    _, session = _named(runtime, PLANTED)

    login = open_page(LOGIN_PAGE, session, 60)

    assert any(PLANTED in _reads(s) for s in _assert_inert(login))  # "Signed in as …"


# -- providers, tool arguments and error texts ------------------------------------------------------------------------
def _planted_provider(runtime: AppRuntime, monkeypatch: pytest.MonkeyPatch) -> AppRuntime:
    """The app configured with a provider whose name carries markup (it is not provisioned: using it fails)."""
    monkeypatch.setenv("API_KEY_PROVIDER_NAME", PLANTED)
    st.cache_resource.clear()
    reset_runtime()
    return get_runtime()


def test_markup_in_a_provider_name_and_its_error_text_stays_text_on_credentials(runtime, monkeypatch):
    alice, session = sign_in(runtime, "alice")
    planted = _planted_provider(runtime, monkeypatch)
    need = next(n for n in credential_needs(planted.settings) if n.kind == "api_key")
    now = time.time()
    planted.broker.consents.add(PendingConsent("planted", alice.key, PLANTED, ("openid",), "https://evil.example/",
                                               "urn:planted", now, now + 600))

    at = open_page(CREDENTIALS_PAGE, session, 60)
    at.button(key=credentials_view.action_key(credentials_view.CONNECT, need)).click().run()

    planted_sources = _assert_inert(at)
    shown = [_reads(s) for s in planted_sources]
    assert any(f"'{PLANTED}' does not exist" in text for text in shown)  # the service's error quotes the name
    assert any(text.startswith(f"{PLANTED} · API key") for text in shown)  # the row's caption
    assert any(text.startswith(f"{PLANTED} asks for openid") for text in shown)  # the pending consent
    _tables_are_text(at, PLANTED)  # the credentials table and the activity log


def test_markup_in_a_provider_name_and_its_error_text_stays_text_in_the_chat(runtime, monkeypatch):
    _, session = sign_in(runtime, "alice")
    _planted_provider(runtime, monkeypatch)

    at = _ask(session, "What's the weather in Beijing?")  # its tool's API key comes from the planted provider

    shown = [_reads(s) for s in _assert_inert(at)]
    assert f"weather_search · API key from {PLANTED} · failed" in " ".join(shown)  # the tool card's title
    quoted = f"The APIKeyCredentialProvider '{PAYLOADS['image']} {PAYLOADS['link']} {PAYLOADS['html']}"
    assert any(quoted in text for text in shown)  # the card's result: the service's error (cut short)
    assert any(f"'{PLANTED}' does not exist" in _reads(s) for s in _sources(at, model=True))  # the answer quotes it


def _dot_attributes(dot: str) -> list[tuple[str, str]]:
    """Every `name=value` in a DOT source; values are unquoted and unescaped as Graphviz reads them."""
    tokens = re.findall(r'"(?:\\.|[^"\\])*"|[A-Za-z_][\w.]*|-?\d+(?:\.\d+)?|->|[=\[\]{};,<>]', dot)
    pairs = []
    for index, token in enumerate(tokens[1:-1], start=1):
        if token == "=":
            value = tokens[index + 1]
            if value.startswith('"'):
                value = re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value[1:-1])
            pairs.append((tokens[index - 1], value))
    return pairs


_DOT_NAMES = frozenset({"label", "color", "fontcolor", "fillcolor", "style", "penwidth", "constraint", "dir", "shape",
                        "width", "group", "rank", "rankdir", "splines", "nodesep", "ranksep", "fontname", "fontsize",
                        "arrowhead", "weight"})


def _vega_channels(spec: Any) -> Iterator[tuple[str, Any]]:
    """Every encoding channel and mark of a Vega-Lite spec, data left out."""
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key in ("data", "datasets"):
                continue
            if key == "encoding":
                yield from value.items()
            elif key == "mark":
                yield "mark", value
            yield from _vega_channels(value)
    elif isinstance(spec, list):
        for item in spec:
            yield from _vega_channels(item)


def _plant_tool_call_activity(runtime: AppRuntime, user: SignedInUser) -> None:
    """An identity call of alice's last tool call failing at a planted provider with a planted error text (where a
    service quotes a tool's argument back), and a consent pending there."""
    chats = ChatStore.in_directory(app_state_dir(runtime.settings))
    try:
        [chat] = chats.list_chats(user.key)
        call = turns_of(chats.entries(user.key, chat.id))[-1].tool_calls[-1]
    finally:
        chats.close()
    now = time.time()
    runtime.broker.log.add(Activity(now, user.key, "GetResourceAPIKey", PLANTED, "InvalidParameter", 2.0,
                                    f"InvalidParameter: {PLANTED}", Trace(call.turn_id, call.call_id, call.tool)))
    runtime.broker.consents.add(PendingConsent("planted", user.key, PLANTED, ("openid",), "https://evil.example/",
                                               "urn:planted", now, now + 60))


def test_markup_in_a_name_provider_and_error_text_stays_text_on_inspect(runtime):
    name = f"{PLANTED} {DOT_BREAKOUT}"
    user, session = _named(runtime, name)
    inspect_tests._chat(session, 0)
    _plant_tool_call_activity(runtime, user)

    at = inspect_tests._open(session)

    assert any(f"Pending consent · {PLANTED}" in _reads(s) for s in _assert_inert(at))  # first to expire
    attributes = _dot_attributes(inspect_tests._graph(at))
    assert {key for key, _ in attributes} <= _DOT_NAMES  # no URL, href, image…: the name never left its label
    labels = [value for key, value in attributes if key == "label"]
    assert f"User\n{name}" in labels and any(f"\n{PLANTED}\n" in label for label in labels)
    [chart] = at.get("vega_lite_chart")
    channels = list(_vega_channels(json.loads(chart.proto.spec)))
    assert not {"href", "url", "image"} & {channel for channel, _ in channels}
    assert "image" not in json.dumps([mark for channel, mark in channels if channel == "mark"])
    tooltips = [field for channel, fields in channels if channel == "tooltip" for field in fields]
    assert tooltips and all(set(t) <= {"field", "type"} and t["field"] != "image" for t in tooltips)
    assert PLANTED not in chart.proto.spec  # the planted text is data, never part of the spec
    _tables_are_text(at, f"Pending consent · {PLANTED}")  # the timeline's table, as the tooltip shows it
    _tables_are_text(at, f"InvalidParameter: {PLANTED}")  # the turn's identity calls


def _fail_with_planted_text(*_: object, **__: object) -> Any:
    raise AgentError(f"The chat store refused {PLANTED}", "StoreError")


@pytest.mark.parametrize("where", ["listing the chats", "answering"])
def test_markup_in_an_agent_error_text_stays_text_on_chat_and_inspect(runtime, monkeypatch, where):
    _, session = sign_in(runtime, "alice")
    monkeypatch.setattr(ChatStore, "history" if where == "answering" else "list_chats", _fail_with_planted_text)

    pages = [_ask(session, "hello")] if where == "answering" else [chat_tests._open(session),
                                                                  inspect_tests._open(session)]

    for at in pages:
        assert any(f"StoreError: The chat store refused {PLANTED}" == _reads(s) for s in _assert_inert(at))


def test_the_checks_see_live_markup_in_unescaped_text():
    """The parser-based checks above do catch each payload when it is not escaped (a check that cannot fail is a
    defect)."""
    for kind, payload in PAYLOADS.items():
        assert _live_markup(f"say {payload}"), kind
    assert _structure("# heading\n- item") and _reads("a  \nb") == "a\nb"
    assert _dot_attributes(f'a [label="{DOT_BREAKOUT}"];')[1][0] == "URL"
