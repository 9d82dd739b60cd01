"""`GET /callback` on the app's origin: where a provider's consent returns the browser (the sample's path).

It completes a consent only for the signed-in browser user who started it; anything else gets a page
that explains, and nothing is completed.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from identity.broker.broker import CredentialBroker
from identity.broker.errors import ConsentError
from identity.errors import IdentityError
from identity.users import SignedInUser

__all__ = ["CONSENT_RETURN_PATH", "consent_return_route"]

CONSENT_RETURN_PATH = "/callback"
# The URL holds the consent's state and session: no Referer leaves, nothing loads, nobody frames the page
# (`frame-ancestors` does not fall back to `default-src`, so it is named).
_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
                                       "base-uri 'none'; form-action 'none'"}

UserLookup = Callable[[Request], SignedInUser | None]


def _page(title: str, message: str, status: int, app_url: str) -> HTMLResponse:
    body = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'></head>"
            "<body style='font-family:system-ui,sans-serif;max-width:34rem;margin:4rem auto;line-height:1.5'>"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>"
            f"<p><a href='{html.escape(app_url, quote=True)}'>Return to the app</a></p></body></html>")
    return HTMLResponse(body, status_code=status, headers=_HEADERS)


def consent_return_route(user_of: UserLookup, broker_of: Callable[[], CredentialBroker],
                         app_url: Callable[[], str]) -> Route:
    """The route, given how to find the browser's signed-in user and the process's broker."""

    async def consent_return(request: Request) -> HTMLResponse:
        query, home = request.query_params, app_url()
        state = query.get("state", "")
        session_uri = query.get("session_uri") or query.get("session_id")
        user = await run_in_threadpool(user_of, request)
        if user is None:
            if state:
                await run_in_threadpool(broker_of().note_unsigned_return, state)
            return _page("Sign in first", "This consent returned to a browser that is not signed in to the app, "
                         "so nothing was completed. Sign in, then ask the agent again.", 401, home)
        if not state:
            return _page("Incomplete consent return", "The return carries no state, so it cannot be matched to "
                         "a consent you started. Nothing was completed.", 400, home)
        try:
            if query.get("error"):
                await run_in_threadpool(broker_of().decline_consent, user, state, f"provider: {query['error']}")
                return _page("You declined", "Nothing was stored. The agent will tell you it could not go on.",
                             200, home)
            consent = await run_in_threadpool(broker_of().complete_consent, user, state, session_uri)
        except ConsentError as error:
            return _page("Consent not completed", f"{error} Nothing was completed.", error.status, home)
        except IdentityError as error:
            return _page("Consent not completed", f"{error} Nothing was completed.", 502, home)
        return _page("Connected", f"{consent.provider} is connected. The agent carries on by itself; you can "
                     "close this tab.", 200, home)

    return Route(CONSENT_RETURN_PATH, consent_return, methods=["GET"])
