"""The identity layer: settings and modes, official clients, provisioning, sign-in and the credential broker."""

from identity.errors import CloudError, IdentityError, ProvisioningError, SettingsError

__all__ = ["CloudError", "IdentityError", "ProvisioningError", "SettingsError"]
