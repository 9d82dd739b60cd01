"""The seed's consent round trip across two processes: `python -m agent.service` streams a turn that needs alice's
DingTalk consent; the consent is given at the app (this test process: Authorize, the provider's page, `/callback`
completing it through the dashboard's own broker) and the service's turn, waiting in the other process, resumes by
itself through the shared database and finishes with the tool's output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import localcloud
from tests.security.fault_support import bounded
from tests.service.schemas import validate_event
from tests.service.support import (
    DINGTALK,
    Service,
    consent_of,
    process_body,
    process_turn,
    provisioned,
    service_process,
)
from tools import call_tool, read_dingtalk_document
from tools.documents import DINGTALK_SCOPES

TURN_SECONDS = 90.0


@pytest.fixture
def remote(fresh_cloud: localcloud.LocalCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Service]:
    with provisioned(fresh_cloud, tmp_path, monkeypatch) as app_runtime, \
            service_process(fresh_cloud, tmp_path, app_runtime) as running:
        yield running


def _consented_turn(service: Service, session_id: str, decision: str) -> tuple[list[dict[str, Any]], list[dict]]:
    consents: list[dict[str, Any]] = []

    def at_the_app(consent: dict[str, Any]) -> None:
        consents.append(consent)
        service.give_consent("alice", consent["state"], decision)

    events = bounded(lambda: process_turn(service, process_body(DINGTALK, session_id), service.bearer("alice"),
                                          at_the_app), TURN_SECONDS, "a turn through the agent service")
    for event in events:
        validate_event(event)
    return events, consents


def _tool_output(events: list[dict[str, Any]]) -> dict[str, Any]:
    [output] = [e for e in events if e["object"] == "message" and e["type"] == "plugin_call_output"
                and e["status"] == "completed"]
    return output


def test_a_consent_given_at_the_app_resumes_the_services_turn(remote):
    events, consents = _consented_turn(remote, "two-process-approve", "approve")
    [consent] = consents
    settings = remote.app_runtime.settings
    assert consent["provider"] == settings.dingtalk_oauth_provider_name
    assert consent["scopes"] == list(DINGTALK_SCOPES) and consent["expires_at"] > 0
    assert consent["authorization_url"].startswith(remote.cloud.url)  # the identity service's, for the browser
    link = consent["authorize_link"]
    assert link.startswith(f"{settings.app_url}/") and consent["state"] in link
    [message] = [e for e in events if consent_of(e) is consent]
    assert message["role"] == "assistant" and message["metadata"]["event"]["type"] == "ConsentNeeded"
    sentence = message["content"][1]
    assert sentence["type"] == "text" and sentence["text"] == (
        f"Please click the link to authorize {consent['provider']}: {consent['authorize_link']}")
    # after the consent: settled, the tool ran with the new token, the answer and a completed response
    settled = [e["metadata"]["event"] for e in events if e["object"] == "message" and e["status"] == "completed"
               and e.get("metadata", {}).get("event", {}).get("type") == "ConsentSettled"]
    assert [s["status"] for s in settled] == ["completed"]
    output = _tool_output(events)
    assert output["metadata"]["event"]["ok"] is True
    assert output["content"][0]["data"]["name"] == "write_dingtalk_document"
    assert events.index(message) < events.index(output)
    assert events[-1]["object"] == "response" and events[-1]["status"] == "completed"
    read = call_tool(read_dingtalk_document, {}, remote.user("alice"), remote.app_runtime.broker,
                     remote.app_runtime.target.services)
    assert read.ok and "Agent Identity demo notes" in read.content


def test_a_declined_consent_ends_the_tool_call_clearly_and_the_response_completes(remote):
    events, consents = _consented_turn(remote, "two-process-deny", "deny")
    assert len(consents) == 1
    output = _tool_output(events)
    assert output["metadata"]["event"]["ok"] is False
    assert "declined" in json.dumps(output["content"][0]["data"]["output"])
    assert events[-1]["object"] == "response" and events[-1]["status"] == "completed" and "error" not in events[-1]
