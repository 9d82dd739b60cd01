"""The AI Gateway's consent request (-32042) as one of the broker's consents, so the app's usual flow completes it.

When the gateway has no token of the user's for the order service, it starts a consent session at the data plane
(GetResourceOAuth2Token with the caller's workload access token, its `CustomState` the elicitation id) and answers
with that session's authorization URL. The session returns the browser to the workload identity's allowed return
URL, the app's `/callback`, with `state` = the elicitation id and its `session_uri`. So the app records it as a
pending consent owned by the user, keyed by that state, with the session URI from the URL's `request_uri`: the consent
card's Authorize button, `/consent/authorize`, `/callback` (CompleteResourceTokenAuth for the signed-in owner, in
the browser that pressed Authorize) and the waiting turn's wake-up all work as for any other consent. The gateway's
own link is the one the user opens; no second consent session is started.

Completing the consent fetches nothing: the broker leaves a credential the gateway injects in the vault. Should the
broker ever hold one (the fallback below asks Agent Identity itself), `forget_injected` drops it at once.
"""

from __future__ import annotations

import re
from typing import NoReturn
from urllib.parse import parse_qs, urlsplit

from identity.broker import CredentialBroker, PendingConsent
from identity.broker.cache import CacheKey
from identity.broker.consents import CONSENT_LIFETIME_SECONDS
from identity.users import SignedInUser
from tools.base import Tool
from tools.errors import ElicitationRequired, ServiceFailed

__all__ = ["ELICITATION_ACTION", "consent_for", "forget_injected", "session_uri_of"]

ELICITATION_ACTION = "AI Gateway elicitation"  # how the activity log names the gateway's consent request
# The gateway's elicitation id becomes the consent's state (the app's key for it, in links and on return).
_ELICITATION_ID = re.compile(r"[A-Za-z0-9_-]{16,128}")


def session_uri_of(url: str) -> str:
    """The data plane's consent session in its authorization URL (`request_uri`), or "" when it names none."""
    found = parse_qs(urlsplit(url).query).get("request_uri")
    return found[0] if found else ""


def consent_for(asked: ElicitationRequired, tool: Tool, user: SignedInUser,
                broker: CredentialBroker) -> PendingConsent:
    """The pending consent the app tracks for the gateway's elicitation (recorded for the user)."""
    provider, scopes = tool.credential.provider(broker.settings), tool.credential.scopes
    session_uri = session_uri_of(asked.url)
    if not session_uri or not _ELICITATION_ID.fullmatch(asked.elicitation_id):
        _own_consent(tool, user, broker)
    now = broker.clock()
    consent = PendingConsent(asked.elicitation_id, user.key, provider, scopes, asked.url, session_uri, now,
                             now + CONSENT_LIFETIME_SECONDS)
    broker.consents.add(consent)
    broker.audit.record(user.key, ELICITATION_ACTION, provider, "consent required")
    return consent


def _own_consent(tool: Tool, user: SignedInUser, broker: CredentialBroker) -> NoReturn:
    """An elicitation the app cannot tie to a session: Agent Identity starts a consent of the app's own (the broker
    raises ConsentRequired); the gateway's next call then finds the token in the vault."""
    provider, scopes = tool.credential.provider(broker.settings), tool.credential.scopes
    broker.oauth2_token(user, provider, scopes, flow=tool.credential.flow)
    forget_injected(tool, user, broker)  # the vault already held one after all: not the app's to keep
    raise ServiceFailed("the AI Gateway asked for consent that Agent Identity already holds; ask again")


def forget_injected(tool: Tool, user: SignedInUser, broker: CredentialBroker) -> None:
    """Drop whatever the broker cached of the credential the gateway injects (a consent's completion fetches it)."""
    spec = tool.credential
    broker.cache.drop(CacheKey(user.key, broker.workload(), "oauth2", spec.provider(broker.settings), spec.scopes))
