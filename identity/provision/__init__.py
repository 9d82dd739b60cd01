"""Provisioning: plan, apply and destroy the cloud resources the sample needs (its prepare and clear)."""

from typing import TYPE_CHECKING

from identity.lazy import lazy_exports

if TYPE_CHECKING:
    from identity.provision.config_file import SAMPLE_KEYS, read_config
    from identity.provision.deployment import ProvisionInputs
    from identity.provision.engine import StepReport, apply, destroy, plan
    from identity.provision.owner import (
        SetupAccess,
        SetupNotAllowed,
        is_provisioned,
        login_name,
        require_setup_access,
        setup_access,
    )

__all__ = ["SAMPLE_KEYS", "ProvisionInputs", "SetupAccess", "SetupNotAllowed", "StepReport", "apply", "destroy",
           "is_provisioned", "login_name", "plan", "read_config", "require_setup_access", "setup_access"]

__getattr__ = lazy_exports(__name__, {
    "SAMPLE_KEYS": "config_file",
    "read_config": "config_file",
    "ProvisionInputs": "deployment",
    "StepReport": "engine",
    "apply": "engine",
    "destroy": "engine",
    "plan": "engine",
    "SetupAccess": "owner",
    "SetupNotAllowed": "owner",
    "is_provisioned": "owner",
    "login_name": "owner",
    "require_setup_access": "owner",
    "setup_access": "owner",
})
