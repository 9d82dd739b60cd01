"""A demo user's sign-in at the local cloud, through the scripted browser (`lab.browser`), as the Login page does it.

Local mode only: the attack lab needs a second, real user (the demo user `bob` or `alice`, password `demo`),
signed in the way a person would be (authorization code + PKCE at the sign-in server, the ID token verified by the
app's own sign-in module). Pages are reached on localcloud's own address even when their links name the public
base (`APP_REDIRECT_URI/lc` by default).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from urllib.parse import urlencode

from identity import provision
from identity.cloud import CloudTarget
from identity.settings import Settings
from identity.signin import OidcProvider
from identity.users import SignedInUser
from lab.browser import Browser, BrowserError, pkce_pair, query_of

__all__ = ["DEMO_PASSWORD", "demo_sign_in", "public_base"]

DEMO_PASSWORD = "demo"
SIGN_IN_SCOPE = "openid profile aliuid"
_CALLBACK_TAIL = "/oauth2/callback/"


def public_base(target: CloudTarget) -> str:
    """The local cloud's base URL as browsers reach it (the data plane's callback prefix names it)."""
    prefix = target.data_callback_prefix
    return prefix[: -len(_CALLBACK_TAIL)] if prefix.endswith(_CALLBACK_TAIL) else prefix.rstrip("/")


def _code_of(landed: str, state: str) -> str:
    answer = query_of(landed)
    if answer.get("state") != state or not answer.get("code"):
        raise BrowserError(f"The sign-in server did not return a code: {answer.get('error', 'no code')}.")
    return answer["code"]


def demo_sign_in(browser: Browser, target: CloudTarget, settings: Settings, username: str,
                 clock: Callable[[], float], password: str = DEMO_PASSWORD) -> SignedInUser:
    """Sign a demo user in as the Login page does (PKCE, state, nonce) and verify the ID token the same way."""
    client_id = str(provision.read_config(settings.config_json).get("inbound_app_id") or "")
    if not client_id:
        raise BrowserError("The app's sign-in application is not provisioned: open Setup and press Provision.")
    provider = OidcProvider(target.oauth_discovery_url)
    metadata, (verifier, challenge) = provider.metadata(), pkce_pair()
    state, nonce, redirect = secrets.token_urlsafe(16), secrets.token_urlsafe(16), settings.inbound_redirect_uri
    query = {"client_id": client_id, "redirect_uri": redirect, "response_type": "code", "scope": SIGN_IN_SCOPE,
             "state": state, "nonce": nonce, "code_challenge": challenge, "code_challenge_method": "S256"}
    landed = browser.sign_in_and_decide(f"{metadata.authorization_endpoint}?{urlencode(query)}", username, password,
                                        "approve", redirect)
    answer = browser.post_form(metadata.token_endpoint, {
        "grant_type": "authorization_code", "code": _code_of(landed, state), "redirect_uri": redirect,
        "client_id": client_id, "code_verifier": verifier})
    try:
        body = answer.json() if answer.status_code == 200 else {}
    except ValueError:  # not JSON
        body = {}
    id_token = body.get("id_token") if isinstance(body, dict) else None
    if not isinstance(id_token, str):
        raise BrowserError(f"The sign-in server issued no ID token (HTTP {answer.status_code}).")
    return provider.verify(id_token, client_id=client_id, nonce=nonce, now=clock())
