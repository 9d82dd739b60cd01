"""Every provisioning step, in the sample's order (destroy runs them backwards)."""

from identity.provision.steps.agent_identity import (
    API_KEY_PROVIDER,
    DINGTALK_PROVIDER,
    IDENTITY_PROVIDER,
    MCP_PROVIDER,
    WORKLOAD_IDENTITY,
)
from identity.provision.steps.applications import INBOUND_APP, MCP_APP
from identity.provision.steps.base import Step
from identity.provision.steps.gateway import GATEWAY_BINDING, ORDER_PROVIDER, POLICY_SET, STARTER_POLICIES
from identity.provision.steps.roles import ATTACHMENT, CALLER, POLICY, ROLE

__all__ = ["STEPS", "Step"]

STEPS: tuple[Step, ...] = (
    INBOUND_APP, MCP_APP, IDENTITY_PROVIDER, CALLER, ROLE, POLICY, ATTACHMENT, WORKLOAD_IDENTITY,
    MCP_PROVIDER, DINGTALK_PROVIDER, API_KEY_PROVIDER, ORDER_PROVIDER, POLICY_SET, STARTER_POLICIES, GATEWAY_BINDING,
)
