"""Errors of the identity layer. The UI catches `IdentityError` and shows its message; never a traceback.

Tree (every subclass, wherever it is defined)::

    IdentityError                root: something the user or operator can act on
    ├── SettingsError            a setting is missing or malformed (names it and says how to fix it)
    ├── CloudError               an Alibaba Cloud (or localcloud) API refused or failed a call
    │                            (keeps the service's code, message, HTTP status and request id)
    ├── ProvisioningError        a provisioning step failed (wraps the CloudError of that step)
    ├── SetupNotAllowed          (identity.provision.owner) this user may not change Setup; says who may
    ├── SignInError              (identity.signin) a sign-in failed or an ID token was refused; says why
    │   └── UnknownSigningKey        the token's `kid` is not in the provider's JWKS (it is fetched once more)
    ├── ConsentRequired          (identity.broker) the user must approve at the provider first; carries the consent
    ├── ConsentError             (identity.broker) a consent return that must not complete anything (HTTP status)
    ├── NotProvisioned           (identity.broker) the resources the broker needs are not there yet
    ├── SignInExpired            (identity.broker) the user's ID token expired: sign in again
    ├── StoreUnavailable         (identity.store) the app's database cannot be opened or reached
    └── BrowserError             (lab.browser) a scripted page visit at localcloud did not go as a person's would
"""

from __future__ import annotations

__all__ = ["CloudError", "IdentityError", "ProvisioningError", "SettingsError"]


class IdentityError(Exception):
    """Root of the identity layer's errors."""


class SettingsError(IdentityError):
    """A setting is missing or malformed."""


class CloudError(IdentityError):
    """An API call failed; `code` is the service's error code (e.g. `EntityNotExist.Role`)."""

    def __init__(self, code: str, message: str, *, status: int | None = None, request_id: str | None = None,
                 action: str | None = None) -> None:
        super().__init__(f"{code}: {message}" + (f" (request id {request_id})" if request_id else ""))
        self.code, self.message, self.status, self.request_id, self.action = code, message, status, request_id, action

    @property
    def is_not_found(self) -> bool:
        return self.code.startswith(("EntityNotExist", "EntityNotExists"))

    @property
    def is_already_exists(self) -> bool:
        return self.code.startswith("EntityAlreadyExists")


class ProvisioningError(IdentityError):
    """A provisioning step failed; `step` names it and `cause` is the underlying error."""

    def __init__(self, step: str, cause: IdentityError) -> None:
        super().__init__(f"{step} failed: {cause}")
        self.step, self.cause = step, cause
