"""The data plane's browser-facing routes: the AuthorizationURL it hands out, and the provider callback."""

from __future__ import annotations

import html
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from localcloud.rpc.errors import ServiceError
from localcloud.services.agentidentity.records import OAUTH2_PROVIDER
from localcloud.services.agentidentitydata import provider_http
from localcloud.services.agentidentitydata.errors import ConsentSessionError, ProviderUnavailable
from localcloud.services.agentidentitydata.providers import OAuthProvider, resolve_provider
from localcloud.services.agentidentitydata.records import (
    ConsentSession,
    find_consent_by_state,
    load_consent,
    save_consent,
)
from localcloud.store import Store
from localcloud.urls import LocalUrls

__all__ = ["consent_routes"]

# Parameters of the provider request that CustomParameters may not override.
_RESERVED = {"client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge",
             "code_challenge_method"}
_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}


def _page(title: str, message: str, status: int = 400) -> HTMLResponse:
    body = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body style='font-family:sans-serif;max-width:36rem;margin:4rem auto'><h1>{html.escape(title)}</h1>"
            f"<p>{html.escape(message)}</p></body></html>")
    return HTMLResponse(body, status_code=status, headers=_HEADERS)


def _provider_page(title: str, error: ServiceError) -> HTMLResponse:
    """A page for a provider that cannot be used. A refusal (a code it rejects, a vendor localcloud does not emulate)
    keeps its 4xx; anything else is the provider failing the gateway we are: 502."""
    return _page(title, error.message, error.status if error.status < 500 else 502)


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=302, headers=_HEADERS)


def consent_routes(store: Store, clock: Callable[[], float], urls: Callable[[], LocalUrls]) -> list[Route]:
    """`GET /oauth2/authorize?request_uri=…` and `GET /oauth2/callback/<id>` (sync: they call providers)."""

    def provider_of(session: ConsentSession) -> OAuthProvider:
        doc = store.get(OAUTH2_PROVIDER.store_kind, session.account, session.provider)
        if doc is None:
            raise ProviderUnavailable(f"The credential provider {session.provider} was deleted.")
        return resolve_provider(urls(), doc, clock())

    def authorize(request: Request) -> Response:
        now = clock()
        with store.locked():  # the link works once
            try:
                session = load_consent(store, request.query_params.get("request_uri", ""))
            except ConsentSessionError:
                return _page("Unknown consent link", "This consent link is not valid. Ask the agent again.")
            if session.expired(now) or session.opened or session.status != "IN_PROGRESS":
                return _page("Consent link used or expired", "Each consent link works once, for 10 minutes. "
                             "Ask the agent again for a new one.")
            session = save_consent(store, session, opened=True)
        try:
            provider = provider_of(session)
        except ServiceError as exc:  # deleted, unreachable, or a vendor localcloud cannot stand in for
            return _provider_page("Provider unavailable", exc)
        extra = {k: v for k, v in session.custom_parameters.items() if k not in _RESERVED}
        query = {"client_id": provider.client_id, "redirect_uri": provider.callback_url, "response_type": "code",
                 "scope": " ".join(session.scopes), "state": session.provider_state,
                 "code_challenge": session.code_challenge(), "code_challenge_method": "S256", **extra}
        return _redirect(f"{provider.authorize_endpoint}?{urlencode(query)}")

    def callback(request: Request) -> Response:
        now = clock()
        with store.locked():  # the provider's state is good for one callback
            session = find_consent_by_state(store, request.query_params.get("state", ""))
            if session is None or session.authorized or session.status != "IN_PROGRESS" or session.expired(now):
                return _page("Consent not recognised", "This sign-in result does not belong to a pending consent, "
                             "or it already arrived, or it expired. Ask the agent again.")
            session = save_consent(store, session, authorized=True)
        return _finish(session, request)

    def _finish(session: ConsentSession, request: Request) -> Response:
        if request.query_params.get("error") or not request.query_params.get("code"):
            save_consent(store, session, status="FAILED", authorized=False)
            return _redirect(session.return_redirect(error=request.query_params.get("error") or "access_denied"))
        try:
            provider = provider_of(session)
            # Compared by suffix: browsers may reach localcloud under a path prefix of the app's origin.
            if not urlsplit(provider.callback_url).path.endswith(request.url.path):
                raise ProviderUnavailable("The provider called back on a URL that is not its CallbackURL.")
            body = provider_http.token_request(provider.token_endpoint, {
                "grant_type": "authorization_code", "code": request.query_params["code"],
                "redirect_uri": provider.callback_url, "code_verifier": session.code_verifier},
                provider.client_id, provider.client_secret, provider.auth_methods)
        except ServiceError as exc:
            save_consent(store, session, status="FAILED", authorized=False)
            return _provider_page("Consent failed", exc)
        entry = {"access_token": body["access_token"], "refresh_token": body.get("refresh_token"),
                 "scope": str(body.get("scope", "")),
                 "expires_at": clock() + float(body.get("expires_in") or 3600)}
        save_consent(store, session, pending=entry)
        return _redirect(session.return_redirect())

    return [Route("/oauth2/authorize", authorize, methods=["GET"]),
            Route("/oauth2/callback/{callback_id}", callback, methods=["GET"])]
