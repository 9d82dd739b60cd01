"""Requests the service must refuse, each as a 4xx JSON `{"error": {"code", "message"}}` (401 with
`WWW-Authenticate` for identity), never a 500 or a traceback; and `/health`, which needs no token and tells no
secret. One service for the module: nothing here changes what another test sees."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import localcloud
from agent.service.app import MAX_BODY_BYTES
from tests.service.support import (
    SERVICE_BEARER,
    WEATHER,
    Service,
    claims_of,
    forged,
    process_body,
    service_in_process,
    signed_by_localcloud,
)

PROCESS, OPENAI = "/process", "/openai/v1/chat/completions"
OPENAI_BODY = {"model": "qwen3-max", "messages": [{"role": "user", "content": WEATHER}]}


@pytest.fixture(scope="module")
def service(cloud: localcloud.LocalCloud, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    cloud.reset()
    with pytest.MonkeyPatch.context() as monkeypatch, \
            service_in_process(cloud, tmp_path_factory.mktemp("service"), monkeypatch) as running:
        yield running


@pytest.fixture(scope="module")
def http(service: Service) -> Iterator[httpx.Client]:
    with service.http() as client:
        yield client


def _refused(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/json")
    assert "Traceback" not in response.text and 'File "' not in response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert isinstance(body["error"]["code"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


def _unauthorized(response: httpx.Response) -> dict[str, Any]:
    error = _refused(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer"), response.headers
    return error


def _both(http: httpx.Client, headers: dict[str, str], body: dict[str, Any] | None = None) -> list[httpx.Response]:
    """The same caller on both routes (`body` is /process's; the OpenAI route gets the weather prompt)."""
    return [http.post(PROCESS, json=body or process_body(WEATHER), headers=headers),
            http.post(OPENAI, json=OPENAI_BODY, headers=headers)]


# -- the control: the same service answers a well-formed request -------------------------------------------------
def test_a_signed_in_caller_is_answered(http, service):
    response = http.post(OPENAI, json={**OPENAI_BODY, "stream": False}, headers=service.bearer("alice"))
    assert response.status_code == 200 and "30 degrees" in response.json()["choices"][0]["message"]["content"]


# -- identity --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Basic YWxpY2U6ZGVtbw==", "alice"])
def test_no_bearer_token_is_401_with_a_challenge(http, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    for response in _both(http, headers):
        assert "ID token" in _unauthorized(response)["message"]


def test_a_forged_token_is_401(http, service):
    token = forged(service.id_token("alice"))
    for response in _both(http, {"Authorization": f"Bearer {token}"}):
        _unauthorized(response)


def test_an_expired_token_is_401(http, service):
    claims = claims_of(service.id_token("alice"))
    now = int(time.time())
    token = signed_by_localcloud(service.cloud, {**claims, "iat": now - 7200, "exp": now - 3600})
    for response in _both(http, {"Authorization": f"Bearer {token}"}):
        assert "expired" in _unauthorized(response)["message"]


def test_a_token_for_another_audience_is_401(http, service):
    claims = claims_of(service.id_token("alice"))
    token = signed_by_localcloud(service.cloud, {**claims, "aud": "app-someone-else"})
    for response in _both(http, {"Authorization": f"Bearer {token}"}):
        assert "audience" in _unauthorized(response)["message"].lower()


def test_the_same_claims_signed_by_localcloud_are_accepted(http, service):
    """The doctored tokens above fail for their doctoring, not for being re-signed."""
    token = signed_by_localcloud(service.cloud, claims_of(service.id_token("alice")))
    response = http.post(OPENAI, json=OPENAI_BODY, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


def test_the_shared_bearer_token_needs_a_valid_id_token_in_user_id(http, service):
    shared = {"Authorization": f"Bearer {SERVICE_BEARER}"}
    for user_id in (None, "", "alice", forged(service.id_token("alice")), 42):
        body = process_body(WEATHER)
        if user_id is not None:
            body["user_id"] = user_id
        _unauthorized(http.post(PROCESS, json=body, headers=shared))
    # the shared token is no ID token: the OpenAI route (no user_id) refuses it
    _unauthorized(http.post(OPENAI, json=OPENAI_BODY, headers=shared))
    # a wrong shared token with a genuine ID token in user_id is refused too
    body = process_body(WEATHER, user_id=service.id_token("alice"))
    _unauthorized(http.post(PROCESS, json=body, headers={"Authorization": "Bearer not-the-shared-token"}))


# -- the body ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", [b"{", b"not json", b"\xff\xfe\x00", b'{"input": [}'])
def test_malformed_json_is_400(http, service, raw):
    for path in (PROCESS, OPENAI):
        headers = {**service.bearer("alice"), "Content-Type": "application/json"}
        _refused(http.post(path, content=raw, headers=headers), 400, "invalid_json")


@pytest.mark.parametrize("raw", [b"", b"null", b"[]", b'"text"', b"42"])
def test_a_body_that_is_no_json_object_is_400(http, service, raw):
    for path in (PROCESS, OPENAI):
        _refused(http.post(path, content=raw, headers=service.bearer("alice")), 400)


def test_an_oversized_body_is_413(http, service):
    big = process_body("x" * (MAX_BODY_BYTES + 1))
    _refused(http.post(PROCESS, json=big, headers=service.bearer("alice")), 413, "payload_too_large")
    openai_big = {**OPENAI_BODY, "messages": [{"role": "user", "content": "x" * (MAX_BODY_BYTES + 1)}]}
    _refused(http.post(OPENAI, json=openai_big, headers=service.bearer("alice")), 413, "payload_too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while reading
        yield b'{"input": "'
        for _ in range(MAX_BODY_BYTES // 8192 + 2):
            yield b"x" * 8192
        yield b'"}'

    _refused(http.post(PROCESS, content=chunks(), headers=service.bearer("alice")), 413, "payload_too_large")
    # before the caller is even checked: an anonymous flood is refused as cheaply
    _refused(http.post(PROCESS, json=big), 413)


@pytest.mark.parametrize("body", [
    {"session_id": "s"},
    {"input": None},
    {"input": []},
    {"input": "What's the weather?"},
    {"input": [{"role": "user", "type": "message", "content": []}]},
    {"input": [{"role": "user", "type": "message", "content": [{"type": "text", "text": ""}]}]},
    {"input": [{"role": "user", "type": "message", "content": [{"type": "image", "image_url": "x"}]}]},
    {"input": [{"role": "assistant", "type": "message", "content": [{"type": "text", "text": "hi"}]}]},
    {"input": ["hello"]},
])
def test_empty_or_missing_input_is_400(http, service, body):
    _refused(http.post(PROCESS, json=body, headers=service.bearer("alice")), 400)


@pytest.mark.parametrize("body", [{}, {"messages": []}, {"messages": "hi"}, {"messages": [{"role": "user"}]},
                                  {"messages": [{"role": "user", "content": ""}]},
                                  {"messages": [{"role": "assistant", "content": "hi"}]}])
def test_openai_without_a_user_message_is_400(http, service, body):
    _refused(http.post(OPENAI, json=body, headers=service.bearer("alice")), 400)


@pytest.mark.parametrize("session_id", ["../../etc/passwd", "a b", "x" * 65, "ümlaut", "s;drop", 42, ["s"], {"s": 1}])
def test_a_bad_session_id_is_400(http, service, session_id):
    body = {**process_body(WEATHER), "session_id": session_id}
    _refused(http.post(PROCESS, json=body, headers=service.bearer("alice")), 400, "invalid_session")
    if isinstance(session_id, str) and session_id.isprintable() and session_id.isascii():
        headers = {**service.bearer("alice"), "X-app-custom-session-id": session_id}
        _refused(http.post(OPENAI, json=OPENAI_BODY, headers=headers), 400, "invalid_session")


def test_other_methods_and_paths_are_not_500(http, service):
    assert http.get(PROCESS).status_code == 405
    assert http.get("/nowhere").status_code == 404
    assert http.post("/health").status_code == 405


# -- /health ---------------------------------------------------------------------------------------------------------
def test_health_is_healthy_without_a_token_and_tells_no_secret(http, service):
    response = http.get("/health")
    assert response.status_code == 200 and response.json()["status"] == "healthy"
    body = response.json()
    assert body["provisioned"] is True and body["model_backend"] == "localcloud"
    cloud, target = service.cloud, service.runtime.target
    secrets = {cloud.access_key_secret, cloud.control_token, cloud.dashscope_api_key, cloud.dingtalk_client_secret,
               SERVICE_BEARER, target.access_key_secret, target.dashscope_api_key, service.id_token("alice")}
    for secret in filter(None, secrets):
        assert secret not in response.text
    assert "secret" not in response.text.lower() and "token" not in response.text.lower()
