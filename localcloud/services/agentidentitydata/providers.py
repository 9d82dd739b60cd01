"""An OAuth2 credential provider as the data plane uses it: client, callback and the provider's endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from localcloud.rpc.errors import InvalidParameter
from localcloud.services.agentidentity.oauth2_providers import oauth2_client
from localcloud.services.agentidentitydata import provider_http
from localcloud.urls import LocalUrls

__all__ = ["OAuthProvider", "resolve_provider"]

# Built-in vendors map to the authorization servers localcloud runs (the real service knows the real ones).
_REALM_OF_VENDOR = {"AliyunOAuth2": "aliyun", "AlibabaCloudOAuth2": "aliyun", "DingTalkOAuth2": "dingtalk"}


@dataclass(frozen=True)
class OAuthProvider:
    name: str
    client_id: str
    client_secret: str | None
    callback_url: str
    authorize_endpoint: str
    token_endpoint: str
    auth_methods: tuple[str, ...] = ()  # the token endpoint's, from discovery (empty: client_secret_basic)


def _discovery_url(urls: LocalUrls, doc: dict[str, Any], client: dict[str, Any]) -> str | None:
    vendor = doc["CredentialProviderVendor"]
    if vendor in _REALM_OF_VENDOR:
        return urls.discovery(_REALM_OF_VENDOR[vendor])
    if vendor == "CustomOAuth2":
        return (client.get("OAuth2Discovery") or {}).get("DiscoveryURL")
    raise InvalidParameter("ResourceCredentialProviderName",
                           f"the vendor {vendor} of provider {doc['OAuth2CredentialProviderName']} is not emulated "
                           "by localcloud.")


def resolve_provider(urls: LocalUrls, doc: dict[str, Any], now: float) -> OAuthProvider:
    """The provider's client and endpoints; explicit endpoints in its config win over discovery."""
    client = oauth2_client(doc)
    authorize, token = client.get("AuthorizationEndpoint"), client.get("TokenEndpoint")
    methods: tuple[str, ...] = ()
    if not (authorize and token):
        url = _discovery_url(urls, doc, client)
        if not url:
            raise InvalidParameter("ResourceCredentialProviderName", f"provider {doc['OAuth2CredentialProviderName']} "
                                   "has neither endpoints nor a discovery URL.")
        document = provider_http.discovery(url, now, keys=False)
        authorize, token = document["authorization_endpoint"], document["token_endpoint"]
        methods = tuple(str(m) for m in document.get("token_endpoint_auth_methods_supported") or ())
    return OAuthProvider(doc["OAuth2CredentialProviderName"], client.get("ClientId", ""), client.get("ClientSecret"),
                         doc.get("CallbackURL", ""), authorize, token, methods)
