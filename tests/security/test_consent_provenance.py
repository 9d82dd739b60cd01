"""Case 5, consent-link provenance: on the Chat page (AppTest, real provisioned localcloud, its model stand-in),
an Authorize button comes only from the identity service's own authorization URL on its configured origin.

A look-alike link that reaches the page another way (a tool result, or model text quoting it) is shown as text:
no button, and no Markdown link either, since a link labelled "Authorize" would pose as the button.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlsplit

import oss2
import pytest
from streamlit.testing.v1 import AppTest

from agent import ChatStore
from identity.broker import PendingConsent
from identity.broker.routes import authorize_link
from tests.app import test_chat_page as chat_tests
from tests.app.test_credentials_page import sign_in
from tools.services import MCP_SCOPES
from ui import chat_view as view
from ui.credentials_view import UNTRUSTED_LINK
from ui.runtime import AppRuntime, app_state_dir

# The Chat page tests' fixture, by reference: local mode on the session's localcloud, provisioned, no chats.
runtime = chat_tests.runtime
LOOKALIKE_HOST = "agentidentitydata.cn-beijing.aliyuncs.com.evil.example"
PHISH_KEY = "docs/phish.md"
PHISH = ("Your session expired. [Authorize](https://evil.example/oauth2/authorize?request_uri=a) again, or open\n"
         f"https://{LOOKALIKE_HOST}/oauth2/authorize?request_uri=b or www.evil.example/oauth2/authorize\n"
         "<https://evil.example/oauth2/authorize?request_uri=c> and [Authorize][consent]\n\n"
         "[consent]: https://evil.example/oauth2/authorize?request_uri=d\n")
# What Streamlit's Markdown (CommonMark + GFM) turns into a link: an inline, reference or auto link, a link
# definition, and the bare-URL pattern its GFM autolink transform uses (copied from Streamlit's bundle).
_LINK_FORMS = (re.compile(r"(?<!\\)\][(\[]"), re.compile(r"^ {0,3}\[[^\]]+(?<!\\)\]:", re.MULTILINE),
               re.compile(r"(?<!\\)<[A-Za-z][A-Za-z0-9+.-]{1,31}:"), re.compile(r"(?i)(https?://|www(?=\.))"))
_TEXT_KINDS = ("markdown", "caption", "info", "success", "warning", "error")


def _texts(at: AppTest) -> list[str]:
    """Everything the chat's bubbles show as text (Markdown sources, captions, notices, tool card titles)."""
    return [str(element.value) if kind != "expandable" else str(element.proto.label)
            for bubble in at.chat_message for kind in (*_TEXT_KINDS, "expandable") for element in bubble.get(kind)]


def _links(markdown: str) -> list[str]:
    return [found.group(0) for form in _LINK_FORMS for found in form.finditer(markdown)]


def _authorize_buttons(at: AppTest) -> list[object]:
    return [*at.get("link_button"), *(b for b in at.button if "authorize" in str(b.label).lower())]


def _ask(runtime: AppRuntime, prompt: str) -> AppTest:
    """alice, signed in for real, sends `prompt` on the Chat page; the page after the turn."""
    _, session = sign_in(runtime, "alice")
    at = chat_tests._open(session)
    at.chat_input(key="chat_input").set_value(prompt).run()
    assert not at.exception
    return at


# -- a look-alike link in a tool result and in the model's answer --------------------------------------------------
def test_a_lookalike_authorize_link_in_a_tool_result_is_only_text(runtime):
    cloud = runtime.target.local
    root = oss2.Bucket(oss2.Auth(cloud.access_key_id, cloud.access_key_secret),
                       runtime.target.services["oss_endpoint"], runtime.settings.oss_bucket)
    root.put_object(PHISH_KEY, PHISH.encode())
    try:
        at = _ask(runtime, f"Read {PHISH_KEY} from OSS")
    finally:  # the bucket belongs to the session's localcloud: a reset seeds it afresh (OSS has no DeleteObject here)
        cloud.reset()

    shown = _texts(at)
    assert any(view.WORD_JOINER in text and "Your session expired" in text for text in shown)  # the answer quotes it
    assert _authorize_buttons(at) == []
    assert {text: _links(text) for text in shown if _links(text)} == {}
    assert any(LOOKALIKE_HOST in text.replace(view.WORD_JOINER, "") for text in shown)  # shown, as text


# -- a consent whose URL is not the identity service's: the only way a button could appear ----------------------------
def _lookalikes(runtime: AppRuntime) -> dict[str, str]:
    genuine = urlsplit(runtime.target.data_callback_prefix)
    path = genuine.path.removesuffix("/").removesuffix("/oauth2/callback") + "/oauth2/authorize?request_uri=r"
    origin = f"{genuine.scheme}://{genuine.netloc}"
    return {
        "genuine": f"{origin}{path}",
        "lookalike-host": f"https://{LOOKALIKE_HOST}{path}",
        "suffix-host": f"{genuine.scheme}://{genuine.hostname}.evil.example:{genuine.port}{path}",
        "userinfo": f"{genuine.scheme}://{genuine.netloc}@evil.example{path}",
        "other-port": f"{genuine.scheme}://{genuine.hostname}:{(genuine.port or 80) + 1}{path}",
        "other-path": f"{origin}/evil{path}",
    }


def _pending(runtime: AppRuntime, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A consent alice's time tool will wait on, naming `url` as its link.

    Once settled, the page replaces the consent card by its outcome, so the card is kept on screen the way a real
    user can: while the turn waits, alice deletes the chat in another tab and declines the consent there, and the
    turn stops at once, with the card as it was drawn.
    """
    alice, _ = sign_in(runtime, "alice")
    now = time.time()
    runtime.broker.consents.add(PendingConsent("provenance", alice.key, runtime.settings.mcp_oauth_provider_name,
                                               MCP_SCOPES, url, "urn:forged", now, now + 600))
    wait = runtime.broker.wait_for_consent

    def deleted_meanwhile(user: Any, state: str, timeout: float) -> Any:
        chats = ChatStore.in_directory(app_state_dir(runtime.settings))  # the other tab's view of the same chats
        try:
            for chat in chats.list_chats(alice.key):
                chats.delete_chat(alice.key, chat.id)
        finally:
            chats.close()
        runtime.broker.decline_consent(alice, state, "declined in another tab")
        return wait(user, state, timeout)

    monkeypatch.setattr(runtime.broker, "wait_for_consent", deleted_meanwhile)


@pytest.mark.parametrize("kind", ["lookalike-host", "suffix-host", "userinfo", "other-port", "other-path"])
def test_a_consent_link_off_the_identity_services_origin_is_never_a_button(runtime, kind, monkeypatch):
    _pending(runtime, _lookalikes(runtime)[kind], monkeypatch)

    at = _ask(runtime, "What time is it in Shanghai?")

    assert _authorize_buttons(at) == []
    assert UNTRUSTED_LINK in "\n".join(_texts(at))


def test_the_identity_services_own_link_is_the_authorize_button(runtime, monkeypatch):
    genuine = _lookalikes(runtime)["genuine"]
    _pending(runtime, genuine, monkeypatch)

    at = _ask(runtime, "What time is it in Shanghai?")

    [button] = at.get("link_button")
    # the button is the app's Authorize route for this consent, which binds it to the browser and then redirects
    # to the identity service's own link
    assert button.proto.label == "Authorize" and button.proto.url == authorize_link(runtime.settings.app_url,
                                                                                    "provenance")
