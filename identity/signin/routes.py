"""The sign-in routes on the Streamlit server: the cookie is set and cleared here, outside any script run.

A Streamlit script cannot set a cookie (it answers over a websocket), so the Login page asks the browser to
load `/auth/begin?attempt=…` when it offers a sign-in (the pre-sign-in cookie that binds the sign-in to this
browser) and `/auth/session?ticket=…` once it succeeded (an `<img>` each), whose response carries the HttpOnly
login cookie; `/auth/logout` clears it. `/oauth2callback` is the sign-in popup's landing page: streamlit-oauth's
script reads the popup's URL and closes it, so the page only needs to be small and not load the whole app.

These paths come before Streamlit's own routes in `st.App`, so they replace its native `st.login`
routes of the same names, which this app does not use.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from identity.cookies import browser_secret, clear_cookie, read_cookie, set_cookie
from identity.errors import IdentityError
from identity.signin.paths import BEGIN_PATH, CALLBACK_PATH, LOGOUT_PATH, SESSION_PATH
from identity.signin.sessions import ATTEMPT_SECONDS, SESSION_COOKIE, SIGNIN_COOKIE, LoginSessionStore
from identity.users import SignedInUser

__all__ = ["BEGIN_PATH", "CALLBACK_PATH", "LOGOUT_PATH", "SESSION_PATH", "clear_cookie_header", "request_user",
           "session_cookie_header", "signin_routes"]

Sessions = Callable[[], LoginSessionStore | None]
_NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
# Browsers say where a request comes from (Sec-Fetch-Site). The cookie routes answer only the app's own pages: not
# another site, not another port of this host ("same-site"), not a link opened from mail or typed ("none"). A
# sign-out may also be typed. Clients that send no such header are no browser, hence nobody's victim.
_COOKIE_FETCH_SITES = frozenset({"same-origin"})
_SIGN_OUT_FETCH_SITES = frozenset({"same-origin", "none"})
_CALLBACK_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signing you in…</title></head>
<body style="font-family:sans-serif;max-width:32rem;margin:4rem auto;text-align:center">
<h1>Signing you in…</h1>
<p>This window closes by itself. If it stays open, close it and go back to the app.</p>
</body></html>
"""
# The popup's URL holds the authorization code: nothing on this page may load, frame it or leak a Referer.
# `frame-ancestors` does not fall back to `default-src`: it is named, for browsers that ignore X-Frame-Options.
_CALLBACK_HEADERS = {**_NO_STORE, "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
                     "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                                "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"}


def session_cookie_header(session_id: str, *, secure: bool) -> str:
    """`Set-Cookie` for a login session: HttpOnly, SameSite=Lax, the whole app (`Path=/`), a browser-session cookie."""
    return set_cookie(SESSION_COOKIE, session_id, secure=secure)


def clear_cookie_header(*, secure: bool) -> str:
    """`Set-Cookie` that makes the browser drop the login cookie."""
    return clear_cookie(SESSION_COOKIE, secure=secure)


def request_user(store: LoginSessionStore, request: Request, now: float, *,
                 secure: bool = False) -> SignedInUser | None:
    """The signed-in user of the browser making `request` (its login cookie), or None; for app routes."""
    return store.user(read_cookie(request.cookies, SESSION_COOKIE, secure=secure), now)


def _fetched_from(request: Request, sites: frozenset[str]) -> bool:
    site = request.headers.get("sec-fetch-site")
    return site is None or site in sites


def _plain(status: int, message: str) -> Response:
    return Response(message + "\n", status_code=status, media_type="text/plain", headers=_NO_STORE)


async def _store(sessions: Sessions) -> LoginSessionStore | None:
    # The first call may build the runtime (and start localcloud): keep it off the event loop.
    try:
        return await anyio.to_thread.run_sync(sessions)
    except IdentityError:
        return None


def signin_routes(sessions: Sessions, *, secure: Callable[[], bool] = lambda: False,
                  clock: Callable[[], float] = time.time,
                  on_sign_out: Callable[[SignedInUser], None] = lambda user: None,
                  end_session: Callable[[], str | None] = lambda: None) -> list[Route]:
    """`GET /auth/begin?attempt=…`, `GET /auth/session?ticket=…`, `GET /auth/logout` and `GET /oauth2callback`.

    `sessions()` returns the login session store (None when the app has none: a bad setting); `secure()`
    says whether cookies get `Secure` (the app is served over https); `on_sign_out(user)` runs when
    `/auth/logout` ends a live session, so a sign-out from a typed URL or another tab drops what the app
    holds for the user just as the Login page's button does; `end_session()` is the sign-in server's RP-initiated
    logout URL (OpenID Connect RP-Initiated Logout 1.0), or None when its discovery names none: `/auth/logout`
    then sends the browser there, so the sign-in server's own session ends too and the next person at this browser
    is asked for a password.
    """

    async def cookie_store(request: Request, refusal: str) -> LoginSessionStore | Response:
        """The store for a cookie route, or the answer that refuses it (bad settings; not the app's own page)."""
        store = await _store(sessions)
        if store is None:
            return _plain(503, "Sign-in is not available: the app's settings are invalid.")
        if not _fetched_from(request, _COOKIE_FETCH_SITES):
            return _plain(403, refusal)
        return store

    async def begin(request: Request) -> Response:
        store = await cookie_store(request, "A sign-in is only started by the app's own Login page.")
        if isinstance(store, Response):
            return store
        browser = browser_secret(request.cookies, SIGNIN_COOKIE, secure=secure())
        attempt = request.query_params.get("attempt")
        if not await anyio.to_thread.run_sync(store.bind_attempt, attempt, browser, clock()):
            return _plain(404, "This sign-in attempt is unknown, expired or already started in another browser.")
        cookie = set_cookie(SIGNIN_COOKIE, browser, secure=secure(), max_age=int(ATTEMPT_SECONDS))
        return Response(status_code=204, headers={**_NO_STORE, "Set-Cookie": cookie})

    async def open_session(request: Request) -> Response:
        store = await cookie_store(request, "A login cookie is only handed out to the app's own pages.")
        if isinstance(store, Response):
            return store
        ticket, browser = request.query_params.get("ticket"), read_cookie(request.cookies, SIGNIN_COOKIE,
                                                                          secure=secure())
        session_id = await anyio.to_thread.run_sync(store.redeem_ticket, ticket, browser, clock())
        if session_id is None:
            return _plain(404, "This sign-in ticket is unknown, used, expired, or was issued to another browser.")
        # The pre-sign-in cookie stays until it expires: another tab of this browser may be signing in with it.
        return Response(status_code=204, headers={**_NO_STORE,
                                                  "Set-Cookie": session_cookie_header(session_id, secure=secure())})

    async def logout(request: Request) -> Response:
        if not _fetched_from(request, _SIGN_OUT_FETCH_SITES):
            return _plain(403, "Sign out from the app's own pages.")
        store = await _store(sessions)
        if store is not None:
            session_id = read_cookie(request.cookies, SESSION_COOKIE, secure=secure())
            user = await anyio.to_thread.run_sync(store.user, session_id, clock())
            await anyio.to_thread.run_sync(store.delete, session_id)
            if user is not None:
                await anyio.to_thread.run_sync(on_sign_out, user)
        # On to the sign-in server's logout (an <img> follows it too: same origin in local mode, through `/lc`); else
        # a person who typed the URL goes back to the app, and the Login page's <img> just needs the header.
        provider_logout = await anyio.to_thread.run_sync(end_session)
        response: Response = (RedirectResponse(provider_logout, status_code=303) if provider_logout
                              else RedirectResponse("/", status_code=303)
                              if request.headers.get("sec-fetch-dest") == "document" else Response(status_code=204))
        response.headers.update(_NO_STORE)
        response.headers["Set-Cookie"] = clear_cookie_header(secure=secure())
        return response

    async def callback(request: Request) -> Response:
        return HTMLResponse(_CALLBACK_PAGE, headers=_CALLBACK_HEADERS)

    return [Route(BEGIN_PATH, begin, methods=["GET"]), Route(SESSION_PATH, open_session, methods=["GET"]),
            Route(LOGOUT_PATH, logout, methods=["GET"]),
            Route(CALLBACK_PATH, callback, methods=["GET"])]
