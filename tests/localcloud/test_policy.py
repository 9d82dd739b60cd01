"""RAM policy validation and evaluation, without a socket."""

from __future__ import annotations

import json

import pytest

from localcloud.policy import PolicyError, evaluate, parse_policy, trusted_principals


def _doc(*statements: dict) -> dict:
    return {"Version": "1", "Statement": list(statements)}


def test_explicit_deny_beats_allow():
    docs = [_doc({"Effect": "Allow", "Action": "ram:*", "Resource": "*"}),
            _doc({"Effect": "Deny", "Action": "ram:Delete*", "Resource": "*"})]
    assert evaluate(docs, "ram:GetRole", "*").allowed
    assert evaluate(docs, "ram:DeleteRole", "*").reason == "ExplicitDeny"
    assert evaluate(docs, "oss:GetObject", "*").reason == "ImplicitDeny"


def test_actions_match_case_insensitively_and_resources_by_wildcard():
    docs = [_doc({"Effect": "Allow", "Action": ["AgentIdentityData:GetResource*"],
                  "Resource": "acs:agentidentity:*:1:tokenvault/default/apikeycredentialprovider/*"})]
    assert evaluate(docs, "agentidentitydata:GetResourceAPIKey",
                    "acs:agentidentity:cn-beijing:1:tokenvault/default/apikeycredentialprovider/p").allowed
    assert not evaluate(docs, "agentidentitydata:GetResourceAPIKey",
                        "acs:agentidentity:cn-beijing:2:tokenvault/default/apikeycredentialprovider/p").allowed


def test_conditions_must_hold_and_unknown_operators_grant_nothing():
    allow = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "workload.x"}}
    doc = _doc({**allow, "Condition": {"StringEquals": {"k": "v1"}}}, {**allow, "Condition": {"Weird": {"k": "v2"}}})
    assert trusted_principals(doc, "Service", context={"k": "v1"}) == ["workload.x"]
    assert trusted_principals(doc, "Service", context={"k": "v2"}) == []


@pytest.mark.parametrize(("text", "trust", "message"), [
    ("[]", False, "JSON object"),
    ('{"Version": "2", "Statement": []}', False, "Version"),
    (json.dumps(_doc({"Effect": "Allow", "Action": "x"})), False, "Resource"),
    (json.dumps(_doc({"Effect": "Allow", "Action": "x", "Resource": "*"})), True, "Principal"),
    (json.dumps(_doc({"Effect": "Allow", "Action": [], "Resource": "*"})), False, "Action"),
    ("{" * 7000, False, "longer than"),
])
def test_invalid_documents_say_what_to_fix(text, trust, message):
    with pytest.raises(PolicyError, match=message):
        parse_policy(text, trust=trust)
