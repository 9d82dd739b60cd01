"""One provisioning run's context: clients, settings, the `.config.json` record, and derived names."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from identity.clients import Clients
from identity.cloud import CloudTarget
from identity.provision.config_file import read_config, write_config
from identity.settings import Settings

__all__ = ["Deployment", "ProvisionInputs"]


@dataclass(frozen=True)
class ProvisionInputs:
    """Secrets the providers need in cloud mode (local mode generates or knows them); never written to disk."""

    api_key: str | None = field(default=None, repr=False)
    dingtalk_client_id: str | None = None
    dingtalk_client_secret: str | None = field(default=None, repr=False)


@dataclass
class Deployment:
    clients: Clients
    settings: Settings
    target: CloudTarget
    inputs: ProvisionInputs
    config: dict[str, Any] = field(default_factory=dict)
    dry_run: bool = False  # plan: remember in memory, never write

    @classmethod
    def load(cls, clients: Clients, settings: Settings, inputs: ProvisionInputs | None = None,
             dry_run: bool = False) -> Deployment:
        return cls(clients, settings, clients.target, inputs or ProvisionInputs(), read_config(settings.config_json),
                   dry_run)

    # -- the record -------------------------------------------------------------------------------
    def record(self, **values: Any) -> None:
        """Merge values into `.config.json` now, so an interrupted run can resume."""
        self.config.update(values)
        if not self.dry_run:
            write_config(self.settings.config_json, self.config)

    def created(self) -> list[str]:
        return list(self.config.get("created", []))

    def mark_created(self, key: str) -> None:
        self.config.pop("creating", None)
        self.record(created=sorted({*self.created(), key}))

    def forget(self, key: str, *fields: str) -> None:
        """Drop a deleted resource from the record."""
        for name in fields:
            self.config.pop(name, None)
        self.record(created=[k for k in self.created() if k != key])

    def ensure_identity(self) -> None:
        """Fix this deployment's name suffix and callback ids before anything is created."""
        if not self.config.get("deployment_id"):
            self.record(deployment_id=secrets.token_hex(4), mcp_callback_id=str(uuid.uuid4()),
                        dingtalk_callback_id=str(uuid.uuid4()), order_callback_id=str(uuid.uuid4()),
                        mode=self.target.mode, region=self.target.region)

    # -- derived names ------------------------------------------------------------------------------
    @property
    def suffix(self) -> str:
        return str(self.config.get("deployment_id") or "<new>")

    @property
    def inbound_app_name(self) -> str:
        return f"aliyun-inbound-{self.suffix}"

    @property
    def mcp_app_name(self) -> str:
        return f"aliyun-mcp-{self.suffix}"

    @property
    def workload(self) -> str:
        return self.settings.workload_identity_name or f"workload-{self.suffix}"

    @property
    def role_name(self) -> str:
        return f"AgentIdentityRole-{self.workload}"[:64]

    @property
    def policy_name(self) -> str:
        return f"AgentIdentityPolicy-{self.workload}"[:128]

    @property
    def account(self) -> str:
        return str(self.config.get("account_id") or "")

    def callback_url(self, which: str) -> str:
        """Agent Identity's callback registered for the MCP app or the DingTalk provider."""
        return f"{self.target.data_callback_prefix}{self.config.get(f'{which}_callback_id', '<new>')}"
