"""Provisioning: plan, apply and destroy the cloud resources the sample needs (its prepare and clear)."""

from identity.provision.config_file import SAMPLE_KEYS, read_config
from identity.provision.deployment import ProvisionInputs
from identity.provision.engine import StepReport, apply, destroy, plan

__all__ = ["SAMPLE_KEYS", "ProvisionInputs", "StepReport", "apply", "destroy", "plan", "read_config"]
