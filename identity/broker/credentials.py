"""The credentials the broker hands to tools: frozen value objects that know when they expire."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import ClassVar

import jwt

from identity.broker.kinds import CredentialKind, kind_label

__all__ = ["ApiKey", "Credential", "OAuth2Token", "StsCredentials", "WorkloadAccessToken", "fingerprint",
           "token_account"]

# Claims that name the provider account a token acts for, most readable first.
_ACCOUNT_CLAIMS = ("preferred_username", "login_name", "nick", "name", "email", "sub")


def token_account(token: str) -> str:
    """The provider account an access token acts for, where the token says so (a JWT's name claims or `sub`); ""
    for an opaque token. For display only: the provider checks the token, not us."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return ""
    found = next((claims[name] for name in _ACCOUNT_CLAIMS if isinstance(claims.get(name), str) and claims[name]), "")
    return str(found)[:128]


def fingerprint(secret: str) -> str:
    """A short, stable, non-reversible label for a secret: safe to show and to log."""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:10]


@dataclass(frozen=True)
class _Expiring:
    expires_at: float

    def is_expired(self, now: float, leeway: float = 0.0) -> bool:
        """Expired, or within `leeway` seconds of it (so a long call never starts with a dying token)."""
        return now + leeway >= self.expires_at

    def seconds_left(self, now: float) -> int:
        return max(0, int(self.expires_at - now))

    @property
    def label(self) -> str:
        """The kind as people read it ("API key")."""
        return kind_label(getattr(self, "kind", ""))


@dataclass(frozen=True)
class WorkloadAccessToken(_Expiring):
    """The agent's identity acting for one user (exchanged for the user's verified ID token)."""

    workload: str = ""
    value: str = field(default="", repr=False)

    kind: ClassVar[CredentialKind] = "workload"

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.value)


@dataclass(frozen=True)
class StsCredentials(_Expiring):
    """Temporary keys of the workload's RAM role."""

    access_key_id: str = ""
    access_key_secret: str = field(default="", repr=False)
    security_token: str = field(default="", repr=False)

    kind: ClassVar[CredentialKind] = "sts"

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.access_key_id + self.security_token)


@dataclass(frozen=True)
class ApiKey(_Expiring):
    """An API key from an API-key credential provider (cached for a while: keys can be rotated)."""

    provider: str = ""
    value: str = field(default="", repr=False)

    kind: ClassVar[CredentialKind] = "api_key"

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.value)


@dataclass(frozen=True)
class OAuth2Token(_Expiring):
    """An OAuth2 access token from a credential provider, for the scopes asked."""

    provider: str = ""
    scopes: tuple[str, ...] = ()
    value: str = field(default="", repr=False)

    kind: ClassVar[CredentialKind] = "oauth2"

    @property
    def account(self) -> str:
        """Which provider account this token is for ("connected as …"), so a wrong account is visible."""
        return token_account(self.value)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.value)


Credential = WorkloadAccessToken | StsCredentials | ApiKey | OAuth2Token
