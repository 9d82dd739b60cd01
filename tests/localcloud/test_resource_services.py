"""Weather, schedule, time and DingTalk documents over real HTTP, each with the credential its tool gets."""

from __future__ import annotations

import time

import httpx
import pytest

from lab.browser import Browser
from localcloud.resources import DEMO_DOCUMENT_ID
from localcloud.resources.schedule import canonical_query, string_to_sign
from tests.localcloud.resource_credentials import (
    CloudWorld,
    StsKeys,
    api_key,
    dingtalk_app_token,
    dingtalk_user_token,
    inbound_tokens,
    mcp_token,
    start_world,
    sts_keys,
)
from tools.signing import sign_schedule_request


@pytest.fixture(scope="module")
def cloud_world(tmp_path_factory: pytest.TempPathFactory) -> CloudWorld:
    return start_world(tmp_path_factory.mktemp("services-world"))


@pytest.fixture(scope="module")
def tokens(cloud_world: CloudWorld) -> dict[str, str]:
    """alice's inbound tokens, her consented MCP token and her DingTalk token; an app's DingTalk token."""
    browsers = [Browser(), Browser()]
    try:
        inbound = inbound_tokens(cloud_world, browsers[0], "alice")
        return {"id_token": inbound["id_token"], "inbound_access": inbound["access_token"],
                "mcp": mcp_token(cloud_world, browsers[0], inbound["id_token"], "alice"),
                "dingtalk": dingtalk_user_token(cloud_world, browsers[1], inbound["id_token"], "alice"),
                "dingtalk_app": dingtalk_app_token(cloud_world)}
    finally:
        for browser in browsers:
            browser.close()


def services(cloud_world: CloudWorld) -> str:
    return cloud_world.cloud.env()["LOCALCLOUD_SERVICES_URL"]


def get(url: str, **headers: str) -> httpx.Response:
    return httpx.get(url, headers=headers, trust_env=False, timeout=10)


# -- weather: the API key from GetResourceAPIKey, as an AppCode ---------------------------------------
def test_weather_with_the_providers_key_gives_the_samples_forecasts(cloud_world):
    key = api_key(cloud_world)
    foggy = get(f"{services(cloud_world)}/weather?city=San%20Francisco", Authorization=f"APPCODE {key}")
    sunny = get(f"{services(cloud_world)}/weather?city=Hangzhou", Authorization=f"APPCODE {key}")
    assert foggy.status_code == 200 and foggy.json()["summary"] == "20 degrees and foggy"
    assert (foggy.json()["temperature"], foggy.json()["conditions"]) == (20, "foggy")
    assert (sunny.json()["city"], sunny.json()["summary"]) == ("Hangzhou", "30 degrees and sunny")


def test_weather_refuses_a_wrong_or_missing_key_the_api_gateway_way(cloud_world):
    wrong = get(f"{services(cloud_world)}/weather?city=sf", Authorization="APPCODE 87654321")
    missing = get(f"{services(cloud_world)}/weather?city=sf")
    assert wrong.status_code == 401 and wrong.headers["x-ca-error-code"] == "InvalidAppCode"
    assert missing.status_code == 401 and "Empty AppCode" in missing.headers["x-ca-error-message"]
    assert set(wrong.json()) == {"requestId", "code", "message"}


def test_weather_without_a_city_is_400(cloud_world):
    response = get(f"{services(cloud_world)}/weather", Authorization=f"APPCODE {api_key(cloud_world)}")
    assert response.status_code == 400 and response.json()["code"] == "InvalidParameter.City"


# -- schedule: STS keys from AssumeRoleForWorkloadIdentity, signed --------------------------------------
def schedule(cloud_world: CloudWorld, keys: StsKeys, day: str = "2026-03-02", now: float | None = None,
             **overrides: str) -> httpx.Response:
    url = f"{services(cloud_world)}/schedule?date={day}"
    headers = sign_schedule_request("GET", url, keys.access_key_id, keys.access_key_secret, keys.security_token,
                                    cloud_world.clock() if now is None else now)
    return get(url, **{**headers, **overrides})


def test_each_user_gets_their_own_events(cloud_world):
    alice = schedule(cloud_world, sts_keys(cloud_world, "alice"))
    bob = schedule(cloud_world, sts_keys(cloud_world, "bob"))
    assert alice.status_code == bob.status_code == 200
    assert alice.json()["user_id"] == cloud_world.subjects["alice"] and alice.json()["date"] == "2026-03-02"
    assert [e["title"] for e in alice.json()["events"]] == ["Opening meeting", "Hotel check-in", "Hotel check-out"]
    assert [e["title"] for e in bob.json()["events"]] == ["Design review", "Lunch with the platform team",
                                                          "Release sync"]


def test_a_user_without_seeded_events_gets_an_empty_list(cloud_world):
    response = schedule(cloud_world, sts_keys(cloud_world, "u-nobody"))
    assert response.status_code == 200 and response.json()["events"] == []


def test_tampered_request_is_401(cloud_world):
    keys = sts_keys(cloud_world, "alice")
    signed = sign_schedule_request("GET", f"{services(cloud_world)}/schedule?date=2026-03-02", keys.access_key_id,
                                   keys.access_key_secret, keys.security_token, cloud_world.clock())
    response = get(f"{services(cloud_world)}/schedule?date=2026-03-03", **signed)  # bob changed the date
    assert response.status_code == 401 and response.json()["Code"] == "SignatureDoesNotMatch"
    forged = schedule(cloud_world, StsKeys(keys.access_key_id, "not-the-secret", keys.security_token))
    assert forged.status_code == 401 and forged.json()["Code"] == "SignatureDoesNotMatch"


def test_expired_sts_keys_are_401(cloud_world):
    keys = sts_keys(cloud_world, "alice")
    with cloud_world.later(3600):
        response = schedule(cloud_world, keys)
    assert response.status_code == 401 and response.json()["Code"] == "InvalidSecurityToken.Expired"


@pytest.mark.parametrize(("change", "code"), [
    ({"x-acs-security-token": "CAISforged"}, "InvalidSecurityToken.MismatchWithAccessKey"),
    ({"x-acs-security-token": ""}, "InvalidSecurityToken.MissingToken"),
    ({"x-acs-date": "yesterday"}, "InvalidTimeStamp.Format"),
    ({"Authorization": "Bearer abc"}, "IncompleteSignature"),
    ({"Authorization": "SCHEDULE-HMAC-SHA256 Credential=STS.nope,Signature=00"}, "InvalidAccessKeyId.NotFound"),
])
def test_broken_credentials_are_401_in_alibaba_clouds_error_shape(cloud_world, change, code):
    response = schedule(cloud_world, sts_keys(cloud_world, "alice"), **change)
    assert response.status_code == 401
    assert response.json()["Code"] == code and {"RequestId", "Message", "HostId"} <= set(response.json())


def test_a_stale_request_is_401(cloud_world):
    response = schedule(cloud_world, sts_keys(cloud_world, "alice"), now=time.time() - 3600)
    assert response.status_code == 401 and response.json()["Code"] == "InvalidTimeStamp.Expired"


def test_long_term_keys_are_refused_with_403(cloud_world):
    cloud = cloud_world.cloud
    response = schedule(cloud_world, StsKeys(cloud.access_key_id, cloud.access_key_secret, ""))
    assert response.status_code == 403 and response.json()["Code"] == "NoPermission"


@pytest.mark.parametrize("day", ["2026-02-30", "tomorrow", "20260302", ""])
def test_a_bad_date_is_400(cloud_world, day):
    response = schedule(cloud_world, sts_keys(cloud_world, "alice"), day=day)
    assert response.status_code == 400 and response.json()["Code"] == "InvalidParameter.Date"


def test_the_string_to_sign_is_canonical():
    assert canonical_query([("b", "2 3"), ("a", "x/y"), ("a", "~")]) == "a=x%2Fy&a=~&b=2%203"
    assert string_to_sign("get", "/svc/schedule", [("date", "2026-03-02")], "2026-03-02T00:00:00Z") == \
        "GET\n/svc/schedule\ndate=2026-03-02\n2026-03-02T00:00:00Z"


# -- time: the consented MCP token ----------------------------------------------------------------------
def test_time_with_the_mcp_token_in_a_zone(cloud_world, tokens):
    response = get(f"{services(cloud_world)}/time?timezone=Asia/Shanghai", Authorization=f"Bearer {tokens['mcp']}")
    assert response.status_code == 200
    body = response.json()
    assert body["timezone"] == "Asia/Shanghai" and body["time"].endswith("+08:00") and body["utc_offset"] == "+0800"


def test_time_without_a_usable_token_is_refused(cloud_world, tokens):
    url = f"{services(cloud_world)}/time?timezone=UTC"
    missing, id_token = get(url), get(url, Authorization=f"Bearer {tokens['id_token']}")
    unscoped = get(url, Authorization=f"Bearer {tokens['inbound_access']}")
    assert missing.status_code == id_token.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer ")
    assert unscoped.status_code == 403 and 'error="insufficient_scope"' in unscoped.headers["www-authenticate"]
    assert unscoped.json()["Code"] == "InsufficientScope"


def test_time_with_an_expired_token_is_401(cloud_world, tokens):
    with cloud_world.later(3600 + 60):
        response = get(f"{services(cloud_world)}/time", Authorization=f"Bearer {tokens['mcp']}")
    assert response.status_code == 401


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "America", "x" * 5000])
def test_time_in_an_unknown_zone_is_400(cloud_world, tokens, zone):
    response = httpx.get(f"{services(cloud_world)}/time", params={"timezone": zone},
                         headers={"Authorization": f"Bearer {tokens['mcp']}"}, trust_env=False, timeout=10)
    assert response.status_code == 400 and "unknown time zone" in response.json()["Message"]


# -- DingTalk documents: a DingTalk token ---------------------------------------------------------------
def document_url(cloud_world: CloudWorld, document_id: str = DEMO_DOCUMENT_ID, action: str = "overwriteContent") -> str:
    return f"{cloud_world.cloud.env()['DINGTALK_API_BASE']}/v2.0/doc/me/suites/documents/{document_id}/{action}"


def overwrite(cloud_world: CloudWorld, token: str, body: object, document_id: str = DEMO_DOCUMENT_ID) -> httpx.Response:
    return httpx.post(document_url(cloud_world, document_id), json=body, trust_env=False, timeout=10,
                      headers={"x-acs-dingtalk-access-token": token})


def read(cloud_world: CloudWorld, token: str, document_id: str = DEMO_DOCUMENT_ID) -> httpx.Response:
    return get(document_url(cloud_world, document_id, "content"), **{"x-acs-dingtalk-access-token": token})


def test_overwrite_then_read_back_round_trip(cloud_world, tokens):
    before = read(cloud_world, tokens["dingtalk"])
    assert before.status_code == 200 and before.json()["result"]["content"].startswith("# Agent Identity demo")
    written = overwrite(cloud_world, tokens["dingtalk"], {"dataType": "markdown", "content": "# Notes\n\n- call Bob"})
    assert written.status_code == 200 and written.json()["success"] is True
    after = read(cloud_world, tokens["dingtalk"]).json()["result"]
    assert (after["docKey"], after["content"]) == (DEMO_DOCUMENT_ID, "# Notes\n\n- call Bob")


def test_documents_belong_to_the_tokens_subject(cloud_world, tokens):
    overwrite(cloud_world, tokens["dingtalk"], {"content": "alice's private notes"})
    assert "alice" not in read(cloud_world, tokens["dingtalk_app"]).json()["result"]["content"]


@pytest.mark.parametrize("which", ["mcp", "inbound_access", "id_token"])
def test_alibaba_cloud_tokens_are_refused_in_dingtalks_error_shape(cloud_world, tokens, which):
    response = overwrite(cloud_world, tokens[which], {"dataType": "markdown", "content": "x"})
    assert response.status_code == 401
    assert set(response.json()) == {"code", "message", "requestid"}
    assert response.json()["code"] == "InvalidAuthentication"


def test_expired_or_missing_dingtalk_token_is_401(cloud_world, tokens):
    with cloud_world.later(7200 + 60):
        assert read(cloud_world, tokens["dingtalk"]).status_code == 401
    missing = httpx.post(document_url(cloud_world), json={"content": "x"}, trust_env=False, timeout=10)
    assert missing.status_code == 401 and missing.json()["code"] == "InvalidAuthentication"


def test_unknown_document_is_404(cloud_world, tokens):
    assert overwrite(cloud_world, tokens["dingtalk"], {"content": "x"}, document_id="nope").status_code == 404
    assert read(cloud_world, tokens["dingtalk"], document_id="nope").json()["code"] == "resource.not.found"


@pytest.mark.parametrize("body", [
    {"dataType": "markdown"}, {"content": 42}, {"dataType": "html", "content": "x"}, ["content"],
    {"content": "x" * 50_001},
])
def test_bad_overwrite_bodies_are_400(cloud_world, tokens, body):
    response = overwrite(cloud_world, tokens["dingtalk"], body)
    assert response.status_code == 400 and set(response.json()) == {"code", "message", "requestid"}


@pytest.mark.parametrize("raw", [b"not json", b"\xff\xfe", b"[" * 100_000, b""])
def test_malformed_bodies_are_400_never_500(cloud_world, tokens, raw):
    response = httpx.post(document_url(cloud_world), content=raw, trust_env=False, timeout=10,
                          headers={"x-acs-dingtalk-access-token": tokens["dingtalk"]})
    assert response.status_code == 400


def test_an_oversized_body_is_413(cloud_world, tokens):
    response = httpx.post(document_url(cloud_world), content=b"x" * 400_000, trust_env=False, timeout=10,
                          headers={"x-acs-dingtalk-access-token": tokens["dingtalk"]})
    assert response.status_code == 413
