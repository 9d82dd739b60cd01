"""Governed tools (issue #22): the order service's OAuth2 provider, the policy set, its starter policies and the
binding of the set to the AI Gateway in ENFORCE mode.

The gateway itself (APIG, with the `agent-identity-oauth` plugin) is not Agent Identity's to create: localcloud
runs one; on Alibaba Cloud it is configured by hand (docs/gateway.md). Clear removes every policy in the set, also
those added on the Policies page: a policy set must be empty to be deleted.
"""

from __future__ import annotations

import uuid

from alibabacloud_agentidentity20250901 import models as ai

from identity.governance.starter import StarterPolicy, starter_policies
from identity.provision.deployment import Deployment
from identity.provision.steps.base import Found, Step, absent_on_not_found

__all__ = ["GATEWAY_BINDING", "ORDER_PROVIDER", "POLICY_SET", "STARTER_POLICIES"]

GATEWAY_TYPE = "AIGateway"
ENFORCE = "ENFORCE"


# -- the order service's OAuth2 provider (the plugin injects its tokens) ------------------------------------------
def _order_provider(d: Deployment) -> str:
    return d.settings.gateway.order_provider_name


def _order_needs(d: Deployment) -> str | None:
    g = d.target.gateway
    if g.order_discovery_url and g.order_client_id and g.order_client_secret:
        return None
    return ("the order service's OAuth client (ORDER_CLIENT_ID, ORDER_CLIENT_SECRET) and its metadata URL "
            "(ORDER_OAUTH_DISCOVERY_URL)")


def _find_order_provider(d: Deployment) -> Found | None:
    got = absent_on_not_found(lambda: d.clients.control().get_oauth2_credential_provider(
        ai.GetOAuth2CredentialProviderRequest(oauth2_credential_provider_name=_order_provider(d))))
    return got.body.oauth2_credential_provider.to_map() if got else None


def _create_order_provider(d: Deployment) -> str:
    if not d.config.get("order_callback_id"):  # a deployment from before this step: its callback id comes now
        d.record(order_callback_id=str(uuid.uuid4()))
    g, name = d.target.gateway, _order_provider(d)
    client = ai.CustomOAuth2ProviderConfig(client_id=g.order_client_id, client_secret=g.order_client_secret,
                                           oauth2_discovery=ai.OAuth2Discovery(discovery_url=g.order_discovery_url))
    d.clients.control().create_oauth2_credential_provider(ai.CreateOAuth2CredentialProviderRequest(
        oauth2_credential_provider_name=name, credential_provider_vendor="CustomOAuth2",
        callback_url=d.callback_url("order"),
        oauth2_provider_config=ai.OAuth2ProviderConfig(custom_oauth2_provider_config=client)))
    d.record(order_oauth_provider_name=name)
    return name


def _order_provider_drift(d: Deployment, found: Found) -> str | None:
    custom = (found.get("OAuth2ProviderConfig") or {}).get("CustomOAuth2ProviderConfig") or {}
    return None if custom.get("ClientId") == d.target.gateway.order_client_id else "its client id differs"


def _delete_order_provider(d: Deployment) -> None:
    d.clients.control().delete_oauth2_credential_provider(ai.DeleteOAuth2CredentialProviderRequest(
        oauth2_credential_provider_name=_order_provider(d)))
    d.forget("order_oauth_provider", "order_oauth_provider_name", "order_callback_id")


# -- the policy set ---------------------------------------------------------------------------------------------
def policy_set_name(d: Deployment) -> str:
    return d.settings.gateway.policy_set_name or f"orders-{d.suffix}"


def _find_set(d: Deployment) -> Found | None:
    got = absent_on_not_found(lambda: d.clients.control().get_policy_set(
        ai.GetPolicySetRequest(policy_set_name=policy_set_name(d))))
    return got.body.policy_set.to_map() if got else None


def _create_set(d: Deployment) -> str:
    name = policy_set_name(d)
    d.clients.control().create_policy_set(ai.CreatePolicySetRequest(
        policy_set_name=name, description="Who may call which order tool through the AI Gateway (Agent Identity "
        "Dashboard)."))
    d.record(policy_set_name=name)
    return name


def _delete_set(d: Deployment) -> None:
    d.clients.control().delete_policy_set(ai.DeletePolicySetRequest(policy_set_name=policy_set_name(d)))
    d.forget("policy_set", "policy_set_name")


# -- the starter policies ---------------------------------------------------------------------------------------
def _starter(d: Deployment) -> list[StarterPolicy]:
    local = d.target.local
    users = {login: (name, sub) for login, name, sub in local.demo_users} if local is not None else {}
    return starter_policies(d.target.gateway.arn or "", users)


def _policy_names(d: Deployment) -> list[str]:
    """Every policy in the set, following the pages."""
    names, token = [], None
    while True:
        body = d.clients.control().list_policies(ai.ListPoliciesRequest(
            policy_set_name=policy_set_name(d), max_results=100, next_token=token)).body
        names += [policy.policy_name for policy in body.policies or []]
        token = body.next_token
        if not token:
            return names


def _find_policies(d: Deployment) -> Found | None:
    if _find_set(d) is None:
        return None
    present = set(_policy_names(d))
    wanted = [policy.name for policy in _starter(d)]
    return {"Policies": wanted} if all(name in present for name in wanted) else None


def _create_policies(d: Deployment) -> str:
    present = set(_policy_names(d))
    for policy in _starter(d):
        if policy.name not in present:
            d.clients.control().create_policy(ai.CreatePolicyRequest(
                policy_set_name=policy_set_name(d), policy_name=policy.name, description=policy.description,
                definition=ai.Definition(cedar=ai.DefinitionCedar(statement=policy.statement))))
    return f"{len(_starter(d))} starter policies"


def _delete_policies(d: Deployment) -> None:
    if _find_set(d) is None:
        return
    for name in _policy_names(d):
        _delete_policy(d, name)
    d.forget("starter_policies")


def _delete_policy(d: Deployment, name: str) -> None:
    absent_on_not_found(lambda: d.clients.control().delete_policy(ai.DeletePolicyRequest(
        policy_set_name=policy_set_name(d), policy_name=name)))


# -- the binding to the gateway -------------------------------------------------------------------------------
def _gateway_needs(d: Deployment) -> str | None:
    return None if d.target.gateway.arn else "the AI Gateway's ARN (AI_GATEWAY_ARN)"


def _find_binding(d: Deployment) -> Found | None:
    arn = d.target.gateway.arn
    if not arn:
        return None
    got = absent_on_not_found(lambda: d.clients.control().get_gateway_policy_config(
        ai.GetGatewayPolicyConfigRequest(gateway_arn=arn, gateway_type=GATEWAY_TYPE)))
    if got is None:
        return None
    config = got.body.gateway_policy_config.to_map()
    found = _find_set(d)
    return config if found and config.get("PolicySetArn") == found.get("PolicySetArn") else None


def _create_binding(d: Deployment) -> str:
    arn = d.target.gateway.arn or ""
    d.clients.control().attach_policy_set_to_gateway(ai.AttachPolicySetToGatewayRequest(
        policy_set_name=policy_set_name(d), gateway_arn=arn, gateway_type=GATEWAY_TYPE, enforcement_mode=ENFORCE))
    d.record(gateway_arn=arn)
    return f"{policy_set_name(d)} → {arn} ({ENFORCE})"


def _delete_binding(d: Deployment) -> None:
    arn = d.config.get("gateway_arn") or d.target.gateway.arn
    if arn:
        absent_on_not_found(lambda: d.clients.control().detach_policy_set_from_gateway(
            ai.DetachPolicySetFromGatewayRequest(policy_set_name=policy_set_name(d), gateway_arn=arn,
                                                 gateway_type=GATEWAY_TYPE)))
    d.forget("gateway_binding", "gateway_arn")


ORDER_PROVIDER = Step(
    key="order_oauth_provider", title="OAuth2 provider for the order service (the gateway injects its tokens)",
    label=_order_provider, find=_find_order_provider, create=_create_order_provider, delete=_delete_order_provider,
    drift=_order_provider_drift, needs=_order_needs,
    adopt=lambda d, f: d.record(order_oauth_provider_name=_order_provider(d)))

POLICY_SET = Step(
    key="policy_set", title="Policy set for the AI Gateway (Cedar)", label=policy_set_name, find=_find_set,
    create=_create_set, delete=_delete_set, adopt=lambda d, f: d.record(policy_set_name=policy_set_name(d)))

STARTER_POLICIES = Step(
    key="starter_policies", title="Starter policies (read for all, alice manages, bob orders for himself)",
    label=lambda d: f"{len(_starter(d))} policies in {policy_set_name(d)}", find=_find_policies,
    create=_create_policies, delete=_delete_policies)

GATEWAY_BINDING = Step(
    key="gateway_binding", title="Policy set bound to the AI Gateway (ENFORCE)",
    label=lambda d: d.target.gateway.arn or "the AI Gateway", find=_find_binding, create=_create_binding,
    delete=_delete_binding, needs=_gateway_needs)
