"""The OAuth client streamlit-oauth drives, as a public client: PKCE, and no client secret at all.

httpx_oauth always authenticates: `client_secret_basic` sends `Authorization: Basic base64(id:)`, and
`client_secret_post` sends `client_secret=` (empty). The sample's inbound app sends neither (SAMPLE.md:
"no client_secret"), and a server may refuse an empty secret, so this client names itself with
`client_id` in the form (RFC 6749 §2.3.1, auth method "none"), like the sample does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from httpx_oauth.exceptions import HTTPXOAuthError
from httpx_oauth.oauth2 import BaseOAuth2, OAuth2ClientAuthMethod, OAuth2RequestError

from identity.tls import verified_tls

__all__ = ["PublicOAuth2Client", "token_error_message"]

TIMEOUT = httpx.Timeout(5.0)


class PublicOAuth2Client(BaseOAuth2[dict[str, Any]]):
    """httpx_oauth's OAuth2 client for a public client: `client_id` in the form, never a secret."""

    def __init__(self, client_id: str, authorize_endpoint: str, token_endpoint: str) -> None:
        super().__init__(client_id, "", authorize_endpoint, token_endpoint, name="aliyun")

    def get_httpx_client(self) -> httpx.AsyncClient:
        # No proxy from the environment (localcloud is on 127.0.0.1) and a bounded wait.
        return httpx.AsyncClient(trust_env=False, timeout=TIMEOUT, follow_redirects=False, verify=verified_tls())

    def build_request(self, client: httpx.AsyncClient, method: str, url: str, *,
                      auth_method: OAuth2ClientAuthMethod | None = None,
                      data: Mapping[str, Any] | None = None) -> tuple[httpx.Request, httpx.Auth | None]:
        """The request with `client_id` in the form and no Authorization header, whatever `auth_method` says."""
        form = None if data is None else {**data, "client_id": self.client_id}
        return client.build_request(method, url, data=form, headers=self.request_headers), None


def _oauth_error(response: httpx.Response | None) -> str | None:
    """`error (error_description)` from an RFC 6749 §5.2 error body, if there is one."""
    try:
        body = response.json() if response is not None else None
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return None
    description = body.get("error_description")
    return body["error"] + (f" ({str(description)[:300]})" if isinstance(description, str) and description else "")


def token_error_message(error: HTTPXOAuthError) -> str:
    """What went wrong at the token endpoint, for the page: the OAuth error code, never the code or a token."""
    response = error.response if isinstance(error, OAuth2RequestError) else None
    detail = _oauth_error(response)
    if detail:
        return f"The sign-in server refused to issue tokens: {detail}."
    if response is not None:
        return f"The sign-in server's token endpoint answered HTTP {response.status_code}."
    return f"The sign-in server's token endpoint could not be reached ({type(error.__cause__ or error).__name__})."
