"""Case 6, redirect safety: every place a return or redirect URL enters refuses one that leads elsewhere.

Where URLs enter: the app's settings (APP_REDIRECT_URI, INBOUND_REDIRECT_URI, and the consent return URL built
from the first), the sign-in server's `redirect_uri` (registered at IMS, matched exactly at `authorize`), the
data plane's `ResourceOAuth2ReturnURL` (one of the workload identity's allowed return URLs, exactly) and the
provider request it builds, and any `next`-style parameter on the app's own routes (`/auth/session`,
`/auth/logout`, `/oauth2callback`, `/callback`), which never redirect anywhere but the app.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from alibabacloud_agentidentity20250901 import models as ai
from alibabacloud_agentidentity20250901.client import Client as ControlClient
from alibabacloud_agentidentitydata20251127 import models as data
from alibabacloud_ims20190815 import models as ims
from alibabacloud_ims20190815.client import Client as ImsClient
from alibabacloud_tea_openapi.exceptions import ClientException

import localcloud
from identity.errors import SettingsError
from identity.settings import load_settings
from identity.signin import LoginSessionStore, signin_routes
from tests.conftest import tea_config
from tests.identity.broker import test_broker as broker_tests
from tests.identity.broker.test_broker import sign_in
from tests.localcloud.oidc.oidc_client import WEB_REDIRECT, Browser, create_apps
from tests.localcloud.oidc.test_authorize_errors import assert_error_page
from tests.localcloud.sample_setup import RETURN_URL, SampleSetup, data_client, prepare
from tests.security.binding_support import served_routes

# The broker tests' fixture, by reference: a provisioned localcloud and the app's real /callback over HTTP.
broker_app = broker_tests.broker_app
EVIL = "evil.example"
# Return URLs an attacker would try, each of which leads (or could lead) a browser away from the app.
HOSTILE_URLS = ["//evil.example", "//evil.example/callback", "javascript:alert(document.cookie)",
                "http://evil.example/callback", "https://evil.example/callback",
                "http://localhost:8501@evil.example/callback", "http://localhost.evil.example:8501/callback"]
HOSTILE_NEXT = ["//evil.example", "https://evil.example/", "javascript:alert(1)", "/\\evil.example"]
_NEXT_NAMES = ("next", "return_to", "redirect_uri", "redirect", "url")


def _settings(tmp_path: Path, **environ: str):
    return load_settings(environ, config_file=tmp_path / "none.yml")


# -- settings ------------------------------------------------------------------------------------------------------
# An https URL on any host is the operator's to choose for the app itself; everything else above is refused.
@pytest.mark.parametrize("url", [*(u for u in HOSTILE_URLS if not u.startswith("https:")), "http://192.168.1.20:8501",
                                 "https://:8501", "https://demo.example:badport"])
def test_a_hostile_or_plain_http_app_url_is_refused(tmp_path, url):
    with pytest.raises(SettingsError, match="APP_REDIRECT_URI"):
        _settings(tmp_path, APP_REDIRECT_URI=url)


@pytest.mark.parametrize("url", ["http://localhost:8501", "http://127.0.0.1:8501", "http://[::1]:8501",
                                 "https://agent-demo.streamlit.app"])
def test_https_or_loopback_app_urls_are_accepted_and_consent_returns_to_them(tmp_path, url):
    settings = _settings(tmp_path, APP_REDIRECT_URI=url)

    assert settings.consent_return_url == f"{url}/callback"
    assert settings.inbound_redirect_uri == f"{url}/oauth2callback"


@pytest.mark.parametrize("url", [*HOSTILE_URLS, "http://localhost:9999/oauth2callback",
                                 "https://localhost:8501/oauth2callback"])
def test_an_inbound_redirect_uri_off_the_apps_origin_is_refused(tmp_path, url):
    with pytest.raises(SettingsError, match="INBOUND_REDIRECT_URI"):
        _settings(tmp_path, APP_REDIRECT_URI="http://localhost:8501", INBOUND_REDIRECT_URI=url)


# -- the sign-in server: redirect URIs are registered absolute URLs, then matched exactly ---------------------------
@pytest.fixture
def web_app(fresh_cloud: localcloud.LocalCloud) -> str:
    """A WebApp registered at IMS with the redirect URI `WEB_REDIRECT` (the app's `/oauth2callback`)."""
    return create_apps(fresh_cloud).web


@pytest.fixture
def oidc_browser(fresh_cloud: localcloud.LocalCloud) -> Iterator[Browser]:
    browser = Browser(fresh_cloud)
    yield browser
    browser.close()


@pytest.mark.parametrize("redirect_uri", [*HOSTILE_URLS, WEB_REDIRECT + "/../evil", WEB_REDIRECT + "?next=//evil",
                                          WEB_REDIRECT + "#x", WEB_REDIRECT.replace("localhost", "LOCALHOST")])
def test_authorize_never_redirects_to_an_unregistered_uri(web_app, oidc_browser, redirect_uri):
    response = oidc_browser.authorize(web_app, redirect_uri, state="st")

    assert_error_page(response, 400, "redirect_uri")


@pytest.mark.parametrize("redirect_uri", ["javascript:alert(1)", "//evil.example/cb", "/oauth2callback",
                                          WEB_REDIRECT + "#fragment"])
def test_ims_refuses_to_register_a_redirect_uri_that_is_not_an_absolute_url(fresh_cloud, redirect_uri):
    request = ims.CreateApplicationRequest(app_name="redirect-probe", display_name="Redirect probe", app_type="WebApp",
                                           predefined_scopes="openid", required_scopes="openid",
                                           redirect_uris=redirect_uri, protocol_version="2.1")
    with pytest.raises(ClientException) as refused:
        ImsClient(tea_config(fresh_cloud)).create_application(request)

    assert refused.value.code == "InvalidParameter.RedirectUris"


# -- the data plane: ResourceOAuth2ReturnURL ------------------------------------------------------------------------
@pytest.fixture
def sample(fresh_cloud: localcloud.LocalCloud) -> SampleSetup:
    """The sample's resources; the workload identity allows exactly `RETURN_URL`."""
    return prepare(fresh_cloud)


def _start_consent(cloud: localcloud.LocalCloud, sample: SampleSetup, return_url: str,
                   **extra: object) -> data.GetResourceOAuth2TokenResponseBody:
    wat = data_client(cloud).get_workload_access_token_for_user_id(data.GetWorkloadAccessTokenForUserIdRequest(
        workload_identity_name=sample.workload, user_id="alice-id")).body.workload_access_token
    return data_client(cloud).get_resource_oauth2_token(data.GetResourceOAuth2TokenRequest(
        resource_credential_provider_name=sample.oauth_provider, scopes=["openid"], oauth2_flow="USER_FEDERATION",
        workload_access_token=wat, resource_oauth2_return_url=return_url, **extra)).body


@pytest.mark.parametrize("return_url", [*HOSTILE_URLS, RETURN_URL + "?next=//evil.example", RETURN_URL + "#x",
                                        RETURN_URL + "/../evil", RETURN_URL.upper()])
def test_a_return_url_the_workload_identity_does_not_allow_is_refused(fresh_cloud, sample, return_url):
    with pytest.raises(ClientException) as refused:
        _start_consent(fresh_cloud, sample, return_url)

    assert refused.value.code == "InvalidParameter.ResourceOAuth2ReturnURL"


@pytest.mark.parametrize("allowed", ["javascript:alert(1)", "//evil.example/callback", "/callback"])
def test_a_workload_identity_cannot_allow_a_return_url_that_is_not_absolute_http(fresh_cloud, allowed):
    request = ai.CreateWorkloadIdentityRequest(workload_identity_name="redirect-probe",
                                               allowed_resource_oauth2_return_urls=[allowed])
    with pytest.raises(ClientException) as refused:
        ControlClient(tea_config(fresh_cloud)).create_workload_identity(request)

    assert refused.value.code == "InvalidParameter.AllowedResourceOAuth2ReturnURLs"


def test_custom_parameters_cannot_redirect_the_provider_elsewhere(fresh_cloud, sample):
    hijack = {"redirect_uri": f"https://{EVIL}/steal", "state": "attacker", "client_id": "attacker-app"}
    started = _start_consent(fresh_cloud, sample, RETURN_URL, custom_parameters=hijack)

    hop = httpx.get(started.authorization_url, follow_redirects=False, trust_env=False, timeout=10)

    assert hop.status_code == 302
    sent = {k: v[0] for k, v in parse_qs(urlsplit(hop.headers["location"]).query).items()}
    assert sent["redirect_uri"].startswith(fresh_cloud.urls.data_plane_callback_prefix())
    assert sent["state"] != "attacker" and sent["client_id"] == sample.mcp_app_id
    assert EVIL not in hop.headers["location"]


# -- the app's own routes: a `next`-style parameter never moves the browser off the app --------------------------------
@pytest.fixture
def signin_app(tmp_path: Path) -> Iterator[str]:
    """The sign-in routes served over HTTP as the app serves them, with a real login session store."""
    store = LoginSessionStore.in_directory(tmp_path / ".appstate")
    try:
        with served_routes(signin_routes(lambda: store)) as url:
            yield url
    finally:
        store.close()


def _get(url: str, **headers: str) -> httpx.Response:
    return httpx.get(url, headers=headers, follow_redirects=False, trust_env=False, timeout=10)


@pytest.mark.parametrize("target", HOSTILE_NEXT)
@pytest.mark.parametrize("name", _NEXT_NAMES)
def test_logout_sends_the_browser_only_to_the_app(signin_app, name, target):
    response = _get(f"{signin_app}/auth/logout?{name}={target}", **{"Sec-Fetch-Dest": "document",
                                                                      "Sec-Fetch-Site": "none"})

    assert response.status_code == 303 and response.headers["location"] == "/"


@pytest.mark.parametrize("path", ["/auth/session?ticket=t", "/oauth2callback?code=c&state=s"])
@pytest.mark.parametrize("name", _NEXT_NAMES)
def test_sign_in_routes_never_redirect_whatever_they_are_asked(signin_app, path, name):
    response = _get(f"{signin_app}{path}&{name}=//{EVIL}")

    assert not response.is_redirect and "location" not in response.headers and EVIL not in response.text


@pytest.mark.parametrize("signed_in", [False, True])
def test_the_consent_return_route_never_redirects_and_links_only_to_the_app(broker_app, signed_in):
    _, browser = sign_in(broker_app, "alice")
    client = browser.http if signed_in else httpx.Client(trust_env=False, timeout=10)
    query = "&".join(f"{name}=//{EVIL}" for name in _NEXT_NAMES)
    try:
        response = client.get(f"{broker_app.url}/callback?state=s&session_uri=u&{query}")
    finally:
        if not signed_in:
            client.close()

    assert response.status_code in (401, 404) and "location" not in response.headers
    assert EVIL not in response.text and f"href='{broker_app.url}'" in response.text


def _framing_and_referrer(response: httpx.Response) -> None:
    policy = [directive.strip() for directive in response.headers["content-security-policy"].split(";")]
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in policy
    assert response.headers["cache-control"] == "no-store"


def test_the_sign_in_landing_page_sends_no_referrer_and_refuses_framing(signin_app):
    _framing_and_referrer(_get(f"{signin_app}/oauth2callback?code=c&state=s"))


def test_the_consent_return_page_sends_no_referrer_and_refuses_framing(broker_app):
    _framing_and_referrer(_get(f"{broker_app.url}/callback?state=s&session_uri=u"))
