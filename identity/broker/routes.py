"""The consent routes on the app's origin: the Authorize button's `GET /consent/authorize?state=…` and
`GET /callback`, where a provider's consent returns the browser (the sample's path).

Authorize binds the consent to the browser that pressed it (a short-lived HttpOnly `aid_consent` cookie) and sends
that browser on to the identity service's authorization URL. The return completes a consent only for its owner,
signed in, in that same browser, with the consent's own `session_uri`; anything else gets a page that explains,
completes nothing and ends that consent for good (the broker says why in the owner's activity log).
"""

from __future__ import annotations

import html
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from identity.broker.broker import CredentialBroker
from identity.broker.errors import ConsentError
from identity.broker.paths import CONSENT_AUTHORIZE_PATH, CONSENT_RETURN_PATH
from identity.cookies import browser_secret, read_cookie, set_cookie
from identity.errors import IdentityError
from identity.signin.sealing import secret_hash
from identity.users import SignedInUser

__all__ = ["CONSENT_AUTHORIZE_PATH", "CONSENT_COOKIE", "CONSENT_RETURN_PATH", "authorize_link", "consent_routes"]

CONSENT_COOKIE = "aid_consent"
# The URL holds the consent's state and session: no Referer leaves, nothing loads, nobody frames the page
# (`frame-ancestors` does not fall back to `default-src`, so it is named).
_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
                                       "base-uri 'none'; form-action 'none'"}

UserLookup = Callable[[Request], SignedInUser | None]


def authorize_link(app_url: str, state: str) -> str:
    """The Authorize button's URL for a consent: the app's own route, never the provider's URL directly."""
    return f"{app_url.rstrip('/')}{CONSENT_AUTHORIZE_PATH}?state={state}"


def _browser(request: Request, secure: bool) -> str:
    """What the broker keeps of this browser's consent cookie: its hash ("" when it has none)."""
    value = read_cookie(request.cookies, CONSENT_COOKIE, secure=secure)
    return secret_hash(value) if value else ""


def _page(title: str, message: str, status: int, app_url: str) -> HTMLResponse:
    body = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'></head>"
            "<body style='font-family:system-ui,sans-serif;max-width:34rem;margin:4rem auto;line-height:1.5'>"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>"
            f"<p><a href='{html.escape(app_url, quote=True)}'>Return to the app</a></p></body></html>")
    return HTMLResponse(body, status_code=status, headers=_HEADERS)


def consent_routes(user_of: UserLookup, broker_of: Callable[[], CredentialBroker], app_url: Callable[[], str],
                   secure: Callable[[], bool] = lambda: False) -> list[Route]:
    """The two routes, given how to find the browser's signed-in user, the process's broker, the app's URL and
    whether cookies get `Secure` (https)."""

    async def broker() -> CredentialBroker:
        # In a worker thread: the first request may build the process's broker (it loads the cloud SDKs).
        return await run_in_threadpool(broker_of)

    async def signed_in(request: Request, state: str) -> SignedInUser | None:
        """The browser's user; without one, the consent the state names ends (its link reached a stranger)."""
        user = await run_in_threadpool(user_of, request)
        if user is None and state:
            await run_in_threadpool((await broker()).note_unsigned_return, state)
        return user

    async def authorize(request: Request) -> Response:
        state, home = request.query_params.get("state", ""), app_url()
        user = await signed_in(request, state)
        if user is None:
            return _page("Sign in first", "Authorize works only in the browser where you are signed in to the app, "
                         "for a consent you started. Nothing was sent to the provider.", 401, home)
        value = browser_secret(request.cookies, CONSENT_COOKIE, secure=secure())
        try:
            consent = await run_in_threadpool((await broker()).authorize_consent, user, state, secret_hash(value))
        except ConsentError as error:
            return _page("Cannot authorize", f"{error} Nothing was sent to the provider.", error.status, home)
        cookie = set_cookie(CONSENT_COOKIE, value, secure=secure(), max_age=max(60, consent.seconds_left(
            (await broker()).clock())))
        return RedirectResponse(consent.authorization_url, status_code=303,
                                headers={**_HEADERS, "Set-Cookie": cookie})

    async def consent_return(request: Request) -> HTMLResponse:
        query, home = request.query_params, app_url()
        state = query.get("state", "")
        session_uri = query.get("session_uri") or query.get("session_id")
        user = await signed_in(request, state)
        if user is None:
            return _page("Sign in first", "This consent returned to a browser that is not signed in to the app, "
                         "so nothing was completed. Sign in, then ask the agent again.", 401, home)
        if not state:
            return _page("Incomplete consent return", "The return carries no state, so it cannot be matched to "
                         "a consent you started. Nothing was completed.", 400, home)
        try:
            if query.get("error"):
                await run_in_threadpool((await broker()).decline_consent, user, state, f"provider: {query['error']}")
                return _page("You declined", "Nothing was stored. A chat turn that waited for this approval stops "
                             "and says so in its chat.", 200, home)
            consent = await run_in_threadpool((await broker()).complete_consent, user, state, session_uri,
                                              _browser(request, secure()))
        except ConsentError as error:
            return _page("Consent not completed", f"{error} Nothing was completed.", error.status, home)
        except IdentityError as error:
            return _page("Consent not completed", f"{error} Nothing was completed.", 502, home)
        # Only what happens: a turn waiting for this consent runs on the server, whether or not its chat page is
        # still open; a consent started from the Credentials page has no turn waiting.
        return _page("Connected", f"{consent.provider} is connected. A chat turn that waited for this approval "
                     "goes on by itself, and its answer appears in its chat (also after a reload); you can close "
                     "this tab.", 200, home)

    return [Route(CONSENT_AUTHORIZE_PATH, authorize, methods=["GET"]),
            Route(CONSENT_RETURN_PATH, consent_return, methods=["GET"])]
