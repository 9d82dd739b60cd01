"""GetResourceOAuth2Token and CompleteResourceTokenAuth: OAuth2 tokens for a workload, with user consent."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from localcloud import arns
from localcloud.rpc.errors import InvalidParameter, MissingParameter
from localcloud.rpc.service import Call
from localcloud.services.agentidentity.records import OAUTH2_PROVIDER, WORKLOAD_IDENTITY, fetch, token_vault
from localcloud.services.agentidentitydata import provider_http, workload_tokens
from localcloud.services.agentidentitydata.errors import ConsentSessionError, ProviderUnavailable, SessionUserMismatch
from localcloud.services.agentidentitydata.providers import OAuthProvider, resolve_provider
from localcloud.services.agentidentitydata.records import (
    ConsentSession,
    VaultEntry,
    VaultKey,
    delete_vaulted,
    get_vaulted,
    load_consent,
    put_vaulted,
    save_consent,
    start_consent,
)
from localcloud.services.agentidentitydata.workload_role import require_permission

__all__ = ["complete_resource_token_auth", "get_resource_oauth2_token"]

_FLOWS = ("USER_FEDERATION", "M2M")


def _token_answer(entry: VaultEntry, now: float) -> dict[str, Any]:
    return {"AccessToken": entry.access_token, "ExpiresIn": entry.expires_in(now)}


def _refreshed(call: Call, key: VaultKey, doc: dict[str, Any]) -> VaultEntry | None:
    """The vaulted token, refreshed with its stored refresh token if it expired; None when there is none."""
    entry = get_vaulted(call.store, key)
    if entry is None or entry.expires_at > call.now:
        return entry
    if entry.refresh_token:
        provider = resolve_provider(call.urls, doc, call.now)
        try:
            body = provider_http.token_request(provider.token_endpoint, {
                "grant_type": "refresh_token", "refresh_token": entry.refresh_token}, provider.client_id,
                provider.client_secret, provider.auth_methods)
        except ProviderUnavailable:
            body = None  # a refused refresh means the user must consent again
        if body is not None:
            fresh = VaultEntry.from_token_response({"refresh_token": entry.refresh_token, **body}, call.now)
            put_vaulted(call.store, key, fresh)
            return fresh
    delete_vaulted(call.store, key)
    return None


def _machine_token(call: Call, key: VaultKey, provider: OAuthProvider, scopes: list[str]) -> dict[str, Any]:
    """M2M: client credentials at the provider, never a user; cached in the vault until expiry."""
    entry = get_vaulted(call.store, key)
    if entry is None or entry.expires_at <= call.now or call.params.bool("ForceAuthentication"):
        form = {"grant_type": "client_credentials", **({"scope": " ".join(scopes)} if scopes else {})}
        body = provider_http.token_request(provider.token_endpoint, form, provider.client_id, provider.client_secret,
                                           provider.auth_methods)
        entry = VaultEntry.from_token_response({**body, "refresh_token": None}, call.now)
        put_vaulted(call.store, key, entry)
    return _token_answer(entry, call.now)


def _allowed_return_url(call: Call, workload: dict[str, Any]) -> str:
    url = call.params.required("ResourceOAuth2ReturnURL", max_len=2048)
    if url not in (workload.get("AllowedResourceOAuth2ReturnURLs") or []):
        raise InvalidParameter("ResourceOAuth2ReturnURL", f"'{url}' is not one of the workload identity's "
                               "AllowedResourceOAuth2ReturnURLs (it must match exactly).")
    return url


def _start_consent(call: Call, token: workload_tokens.WorkloadToken, workload: dict[str, Any],
                   provider: str, scopes: list[str]) -> dict[str, Any]:
    custom = call.params.json("CustomParameters", dict) or {}
    session = start_consent(call.store, account=token.account, workload=token.workload, user_id=token.user_id or "",
                            provider=provider, scopes=scopes, return_url=_allowed_return_url(call, workload),
                            custom_state=call.params.str("CustomState", max_len=1024),
                            custom_parameters={str(k): str(v) for k, v in custom.items()}, created_at=call.now)
    url = f"{call.urls.public}/oauth2/authorize?request_uri={quote(session.uri, safe='')}"
    return {"AuthorizationURL": url, "SessionURI": session.uri, "SessionStatus": session.status}


def _session_answer(call: Call, token: workload_tokens.WorkloadToken, key: VaultKey) -> dict[str, Any]:
    """Polling a consent session by its SessionURI: the token once completed, else its status."""
    session = load_consent(call.store, call.params.required("SessionURI"), token.account)
    if (session.workload, session.user_id) != (token.workload, token.user_id):
        raise SessionUserMismatch("This consent session was started for another workload or user.")
    status = session.status_at(call.now)
    entry = get_vaulted(call.store, key) if status == "COMPLETED" else None
    if entry is not None:
        return {**_token_answer(entry, call.now), "SessionURI": session.uri, "SessionStatus": status}
    if status in ("FAILED", "EXPIRED"):
        raise ConsentSessionError(status.title(), f"The consent session is {status.lower()}: start a new one.")
    return {"SessionURI": session.uri, "SessionStatus": status}


def get_resource_oauth2_token(call: Call) -> dict[str, Any]:
    """An OAuth2 token for the workload (and its user): from the vault, by M2M, or after consent."""
    token, workload = workload_tokens.resolve(call, call.params.required("WorkloadAccessToken", max_len=16384))
    token_vault(call.params)
    doc = fetch(call, OAUTH2_PROVIDER, call.params.required("ResourceCredentialProviderName"))
    resource = arns.oauth2_provider_arn(call.region, token.account, doc["OAuth2CredentialProviderName"])
    require_permission(call, workload, token.account, "agentidentitydata:GetResourceOAuth2Token", resource)
    flow = call.params.str("OAuth2Flow", default="USER_FEDERATION", choices=_FLOWS)
    scopes = call.params.string_list("Scopes") or []
    user = token.user_id if flow != "M2M" else None
    key = VaultKey.of(token.account, token.workload, user, doc["OAuth2CredentialProviderName"], scopes)
    if flow == "M2M":
        return _machine_token(call, key, resolve_provider(call.urls, doc, call.now), scopes)
    if not token.user_id:
        raise InvalidParameter("WorkloadAccessToken", "USER_FEDERATION needs a token issued for a user "
                               "(GetWorkloadAccessTokenForJWT or ForUserId).")
    if call.params.str("SessionURI"):
        return _session_answer(call, token, key)
    entry = None if call.params.bool("ForceAuthentication") else _refreshed(call, key, doc)
    if entry is not None:
        return _token_answer(entry, call.now)
    return _start_consent(call, token, workload, doc["OAuth2CredentialProviderName"], scopes)


def _presented_user(call: Call, session: ConsentSession) -> str:
    identifier = call.params.json("UserIdentifier", dict, required=True)
    jwt = identifier.get("UserJWT") or identifier.get("UserJwt")
    if jwt:
        workload = fetch(call, WORKLOAD_IDENTITY, session.workload)
        return str(workload_tokens.verify_user_jwt(call, workload, str(jwt))["sub"])
    if identifier.get("UserId"):
        return str(identifier["UserId"])
    raise MissingParameter("UserIdentifier.UserId")


def complete_resource_token_auth(call: Call) -> dict[str, Any]:
    """Move an approved session's token into the vault, only for the user who started the session."""
    uri = call.params.required("SessionURI")
    session = load_consent(call.store, uri, call.account)
    if _presented_user(call, session) != session.user_id:  # may fetch JWKS: outside the store lock
        raise SessionUserMismatch("The user completing this consent is not the user who started it; nothing was "
                                  "stored.")
    with call.store.locked():  # completes once, even when two requests race
        session = load_consent(call.store, uri, call.account)
        status = session.status_at(call.now)
        if status != "IN_PROGRESS":
            raise ConsentSessionError(status.title(), f"The consent session is {status.lower()}.")
        if not session.authorized or session.pending is None:
            raise ConsentSessionError("NotAuthorized", "The user has not approved at the provider yet.")
        key = VaultKey.of(session.account, session.workload, session.user_id, session.provider, session.scopes)
        put_vaulted(call.store, key, VaultEntry(**session.pending))
        save_consent(call.store, session, status="COMPLETED", pending=None)
    return {}
