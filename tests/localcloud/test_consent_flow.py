"""Sign-in to consented OAuth2 token, end to end: the official data-plane client plus scripted browsers."""

from __future__ import annotations

import time
from collections.abc import Iterator

import jwt
import pytest
from alibabacloud_agentidentitydata20251127 import models as data
from alibabacloud_tea_openapi import utils as openapi_utils
from alibabacloud_tea_openapi.exceptions import ClientException

import localcloud
from lab.browser import Browser, pkce_pair, query_of
from tests.localcloud.sample_setup import INBOUND_REDIRECT, RETURN_URL, SampleSetup, data_client, prepare

MCP_SCOPES = ["openid", "aliuid", "profile", "/acs/mcp-server"]


@pytest.fixture
def sample(fresh_cloud: localcloud.LocalCloud) -> SampleSetup:
    return prepare(fresh_cloud)


@pytest.fixture
def alice() -> Iterator[Browser]:
    browser = Browser()
    yield browser
    browser.close()


@pytest.fixture
def bob() -> Iterator[Browser]:
    browser = Browser()
    yield browser
    browser.close()


def sign_in(cloud: localcloud.LocalCloud, sample: SampleSetup, browser: Browser, username: str) -> str:
    """The inbound login of the sample (code + PKCE S256, no secret); the user's ID token."""
    verifier, challenge = pkce_pair()
    issuer = cloud.urls.issuer("aliyun")
    start = browser.get(f"{issuer}/authorize?" + "&".join([
        f"client_id={sample.inbound_app_id}", f"redirect_uri={INBOUND_REDIRECT}", "response_type=code",
        "scope=openid+profile+aliuid", "state=s1", "nonce=n1", f"code_challenge={challenge}",
        "code_challenge_method=S256"]))
    landed = query_of(browser.sign_in_and_decide(start, username, "demo", "approve", INBOUND_REDIRECT))
    assert landed["state"] == "s1"
    tokens = browser.http.post(cloud.urls.oauth_endpoint("aliyun", "token"), data={
        "grant_type": "authorization_code", "code": landed["code"], "redirect_uri": INBOUND_REDIRECT,
        "client_id": sample.inbound_app_id, "code_verifier": verifier}).json()
    return tokens["id_token"]


def workload_token(cloud: localcloud.LocalCloud, sample: SampleSetup, id_token: str) -> str:
    return data_client(cloud).get_workload_access_token_for_jwt(data.GetWorkloadAccessTokenForJWTRequest(
        workload_identity_name=sample.workload, user_token=id_token)).body.workload_access_token


def oauth2_token(cloud: localcloud.LocalCloud, sample: SampleSetup, wat: str,
                 **extra: object) -> data.GetResourceOAuth2TokenResponseBody:
    return data_client(cloud).get_resource_oauth2_token(data.GetResourceOAuth2TokenRequest(
        resource_credential_provider_name=sample.oauth_provider, scopes=MCP_SCOPES, oauth2_flow="USER_FEDERATION",
        workload_access_token=wat, resource_oauth2_return_url=RETURN_URL, custom_state="chat-1", **extra)).body


def complete(cloud: localcloud.LocalCloud, session_uri: str, id_token: str) -> None:
    data_client(cloud).complete_resource_token_auth(data.CompleteResourceTokenAuthRequest(
        session_uri=session_uri, user_identifier=data.CompleteResourceTokenAuthRequestUserIdentifier(
            user_jwt=id_token)))


def consent(browser: Browser, authorization_url: str, username: str, decision: str = "approve") -> dict[str, str]:
    """Open the authorization link, sign in at the provider, decide; the return URL's query."""
    return query_of(browser.sign_in_and_decide(browser.get(authorization_url), username, "demo", decision,
                                               RETURN_URL))


def test_alice_goes_from_sign_in_to_a_consented_token(fresh_cloud, sample, alice):
    id_token = sign_in(fresh_cloud, sample, alice, "alice")
    wat = workload_token(fresh_cloud, sample, id_token)
    started = oauth2_token(fresh_cloud, sample, wat)
    assert started.access_token is None and started.session_status == "IN_PROGRESS"
    assert started.authorization_url.startswith(f"{fresh_cloud.urls.public}/oauth2/authorize?request_uri=")
    back = consent(alice, started.authorization_url, "alice")
    assert back == {"session_uri": started.session_uri, "state": "chat-1"}
    complete(fresh_cloud, started.session_uri, id_token)
    got = oauth2_token(fresh_cloud, sample, wat)
    assert got.access_token and 0 < got.expires_in <= 3600
    claims = jwt.decode(got.access_token, options={"verify_signature": False})
    assert claims["sub"] == jwt.decode(id_token, options={"verify_signature": False})["sub"]
    assert "/acs/mcp-server" in claims["scope"].split()
    polled = oauth2_token(fresh_cloud, sample, wat, session_uri=started.session_uri)
    assert (polled.access_token, polled.session_status) == (got.access_token, "COMPLETED")


def test_bob_cannot_complete_alices_consent_and_gets_nothing_in_his_vault(fresh_cloud, sample, alice, bob):
    alice_id, bob_id = sign_in(fresh_cloud, sample, alice, "alice"), sign_in(fresh_cloud, sample, bob, "bob")
    started = oauth2_token(fresh_cloud, sample, workload_token(fresh_cloud, sample, alice_id))
    consent(bob, started.authorization_url, "bob")  # alice forwarded her link; bob approves it as himself
    with pytest.raises(ClientException) as caught:
        complete(fresh_cloud, started.session_uri, bob_id)
    assert (caught.value.code, caught.value.status_code) == ("Forbidden.SessionUserMismatch", 403)
    bob_view = oauth2_token(fresh_cloud, sample, workload_token(fresh_cloud, sample, bob_id))
    assert bob_view.access_token is None and bob_view.authorization_url
    with pytest.raises(ClientException) as polled:
        oauth2_token(fresh_cloud, sample, workload_token(fresh_cloud, sample, bob_id), session_uri=started.session_uri)
    assert polled.value.code == "Forbidden.SessionUserMismatch"


def test_completion_before_the_user_approved_is_refused(fresh_cloud, sample, alice):
    id_token = sign_in(fresh_cloud, sample, alice, "alice")
    started = oauth2_token(fresh_cloud, sample, workload_token(fresh_cloud, sample, id_token))
    with pytest.raises(ClientException) as caught:
        complete(fresh_cloud, started.session_uri, id_token)
    assert caught.value.code == "InvalidSession.NotAuthorized"


def test_authorization_link_works_once(fresh_cloud, sample, alice):
    id_token = sign_in(fresh_cloud, sample, alice, "alice")
    started = oauth2_token(fresh_cloud, sample, workload_token(fresh_cloud, sample, id_token))
    assert alice.get(started.authorization_url).status_code == 302
    again = alice.get(started.authorization_url)
    assert again.status_code == 400 and "works once" in again.text


def test_denied_consent_returns_access_denied_and_fails_the_session(fresh_cloud, sample, alice):
    id_token = sign_in(fresh_cloud, sample, alice, "alice")
    wat = workload_token(fresh_cloud, sample, id_token)
    started = oauth2_token(fresh_cloud, sample, wat)
    back = consent(alice, started.authorization_url, "alice", decision="deny")
    assert back["error"] == "access_denied" and back["session_uri"] == started.session_uri
    with pytest.raises(ClientException) as caught:
        oauth2_token(fresh_cloud, sample, wat, session_uri=started.session_uri)
    assert caught.value.code == "InvalidSession.Failed"


def test_force_authentication_starts_a_fresh_consent(fresh_cloud, sample, alice):
    id_token = sign_in(fresh_cloud, sample, alice, "alice")
    wat = workload_token(fresh_cloud, sample, id_token)
    started = oauth2_token(fresh_cloud, sample, wat)
    consent(alice, started.authorization_url, "alice")
    complete(fresh_cloud, started.session_uri, id_token)
    forced = oauth2_token(fresh_cloud, sample, wat, force_authentication=True)
    assert forced.access_token is None and forced.session_uri != started.session_uri


def test_for_jwt_reports_the_verified_claims(fresh_cloud, sample, alice):
    id_token = sign_in(fresh_cloud, sample, alice, "alice")
    body = data_client(fresh_cloud).get_workload_access_token_for_jwt(data.GetWorkloadAccessTokenForJWTRequest(
        workload_identity_name=sample.workload, user_token=id_token)).body
    claims = body.user_context.jwt_claims
    assert claims.issuer == fresh_cloud.urls.issuer("aliyun")
    assert claims.audiences == [sample.inbound_app_id]
    assert claims.subject == jwt.decode(id_token, options={"verify_signature": False})["sub"]


def _forged(id_token: str, **changes: object) -> str:
    """The token's claims re-signed with a key of our own, under the provider's `kid`."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    header = jwt.get_unverified_header(id_token)
    claims = {**jwt.decode(id_token, options={"verify_signature": False}), **changes}
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": header["kid"]})


@pytest.mark.parametrize("make", [
    lambda t: _forged(t),                                                     # foreign key, real kid
    lambda t: jwt.encode(jwt.decode(t, options={"verify_signature": False}), None, algorithm="none"),
    lambda t: t.rsplit(".", 1)[0] + ".c2lnbmF0dXJl",                          # signature swapped
    lambda t: "not.a.jwt",
])
def test_forged_user_tokens_are_rejected(fresh_cloud, sample, alice, make):
    forged = make(sign_in(fresh_cloud, sample, alice, "alice"))
    with pytest.raises(ClientException) as caught:
        workload_token(fresh_cloud, sample, forged)
    assert caught.value.code == "InvalidParameter.UserToken"


def test_user_token_for_another_audience_is_rejected(fresh_cloud, sample, alice):
    verifier, challenge = pkce_pair()  # alice signs in to the MCP app instead of the inbound app
    start = alice.get(f"{fresh_cloud.urls.issuer('aliyun')}/authorize?client_id={sample.mcp_app_id}"
                      f"&redirect_uri={sample_callback(fresh_cloud, sample)}&response_type=code&scope=openid"
                      f"&state=x&code_challenge={challenge}&code_challenge_method=S256")
    landed = query_of(alice.sign_in_and_decide(start, "alice", "demo", "approve", fresh_cloud.urls.public + "/oauth2"))
    tokens = alice.http.post(fresh_cloud.urls.oauth_endpoint("aliyun", "token"), data={
        "grant_type": "authorization_code", "code": landed["code"], "client_id": sample.mcp_app_id,
        "redirect_uri": sample_callback(fresh_cloud, sample), "code_verifier": verifier}).json()
    with pytest.raises(ClientException) as caught:
        workload_token(fresh_cloud, sample, tokens["id_token"])
    assert caught.value.code == "InvalidParameter.UserToken" and "audience" in caught.value.message


def sample_callback(cloud: localcloud.LocalCloud, sample: SampleSetup) -> str:
    from alibabacloud_agentidentity20250901 import models as ai
    from alibabacloud_agentidentity20250901.client import Client as ControlClient

    from tests.conftest import tea_config

    return ControlClient(tea_config(cloud)).get_oauth2_credential_provider(ai.GetOAuth2CredentialProviderRequest(
        oauth2_credential_provider_name=sample.oauth_provider)).body.oauth2_credential_provider.callback_url


def test_sessions_expire_and_tokens_refresh_inside_localcloud(tmp_path, monkeypatch):
    skew = [0.0]  # how far the shared clock has moved on; the SDK signs with the same clock
    cloud = localcloud.start(port=0, data_dir=tmp_path / "clocked", clock=lambda: time.time() + skew[0])
    monkeypatch.setattr(openapi_utils.Utils, "get_timestamp", staticmethod(
        lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + skew[0]))))
    sample, browser = prepare(cloud), Browser()
    try:
        id_token = sign_in(cloud, sample, browser, "alice")
        wat = workload_token(cloud, sample, id_token)
        stale = oauth2_token(cloud, sample, wat)
        fresh = oauth2_token(cloud, sample, wat)
        consent(browser, fresh.authorization_url, "alice")
        complete(cloud, fresh.session_uri, id_token)
        first = oauth2_token(cloud, sample, wat).access_token
        skew[0] = 601
        expired = browser.get(stale.authorization_url)
        assert expired.status_code == 400 and "expired" in expired.text
        skew[0] = 3500  # the access token (3600 s) is about to lapse; the workload token is still good
        assert oauth2_token(cloud, sample, wat).access_token == first
        skew[0] = 3590
        wat = data_client(cloud).get_workload_access_token_for_user_id(data.GetWorkloadAccessTokenForUserIdRequest(
            workload_identity_name=sample.workload,
            user_id=jwt.decode(id_token, options={"verify_signature": False})["sub"])).body.workload_access_token
        skew[0] = 3700
        refreshed = oauth2_token(cloud, sample, wat)
        assert refreshed.access_token and refreshed.access_token != first
    finally:
        browser.close()


def _dingtalk_provider(cloud: localcloud.LocalCloud, callback: str) -> str:
    from alibabacloud_agentidentity20250901 import models as ai
    from alibabacloud_agentidentity20250901.client import Client as ControlClient

    from tests.conftest import tea_config

    ControlClient(tea_config(cloud)).create_oauth2_credential_provider(ai.CreateOAuth2CredentialProviderRequest(
        oauth2_credential_provider_name="test-provider-for-dingtalk", credential_provider_vendor="DingTalkOAuth2",
        oauth2_provider_config=ai.OAuth2ProviderConfig(included_oauth2_provider_config=ai.IncludedOAuth2ProviderConfig(
            client_id=cloud.dingtalk_client_id, client_secret=cloud.dingtalk_client_secret)),
        callback_url=callback))
    return "test-provider-for-dingtalk"


def test_machine_to_machine_tokens_need_no_user(fresh_cloud, sample):
    provider = _dingtalk_provider(fresh_cloud, f"{fresh_cloud.urls.data_plane_callback_prefix()}ding-1")
    wat = data_client(fresh_cloud).get_workload_access_token(data.GetWorkloadAccessTokenRequest(
        workload_identity_name=sample.workload)).body.workload_access_token
    request = data.GetResourceOAuth2TokenRequest(resource_credential_provider_name=provider, scopes=["corpid"],
                                                 oauth2_flow="M2M", workload_access_token=wat)
    first = data_client(fresh_cloud).get_resource_oauth2_token(request).body
    assert first.access_token and first.authorization_url is None
    assert jwt.decode(first.access_token, options={"verify_signature": False})["client_id"] == \
        fresh_cloud.dingtalk_client_id
    assert data_client(fresh_cloud).get_resource_oauth2_token(request).body.access_token == first.access_token


def test_dingtalk_consent_goes_through_the_dingtalk_pages(fresh_cloud, sample, alice):
    provider = _dingtalk_provider(fresh_cloud, f"{fresh_cloud.urls.data_plane_callback_prefix()}ding-2")
    id_token = sign_in(fresh_cloud, sample, alice, "alice")
    wat = workload_token(fresh_cloud, sample, id_token)
    request = data.GetResourceOAuth2TokenRequest(
        resource_credential_provider_name=provider, scopes=["openid", "corpid"], oauth2_flow="USER_FEDERATION",
        workload_access_token=wat, resource_oauth2_return_url=RETURN_URL, custom_state="chat-2",
        custom_parameters={"prompt": "consent"})
    started = data_client(fresh_cloud).get_resource_oauth2_token(request).body
    page = alice.follow(alice.get(started.authorization_url), RETURN_URL)
    assert not isinstance(page, str) and "DingTalk" in page.text
    back = query_of(alice.sign_in_and_decide(page, "alice", "demo", "approve", RETURN_URL))
    assert back["state"] == "chat-2"
    complete(fresh_cloud, started.session_uri, id_token)
    assert data_client(fresh_cloud).get_resource_oauth2_token(request).body.access_token
