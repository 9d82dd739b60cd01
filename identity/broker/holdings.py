"""What one user holds, as the pages show it: read from the broker's memory and the database, never fetched."""

from __future__ import annotations

from dataclasses import dataclass, field

from identity.broker.activity import Activity
from identity.broker.consents import PendingConsent
from identity.broker.credentials import Credential, StsCredentials, WorkloadAccessToken
from identity.broker.needs import CredentialNeed

__all__ = ["Holdings"]


@dataclass(frozen=True)
class Holdings:
    """A read-only snapshot for one user (credentials are the cached ones, expired included)."""

    workload: str | None                      # None before Setup: then no credential is held either
    workload_token: WorkloadAccessToken | None
    sts: StsCredentials | None
    credentials: dict[CredentialNeed, Credential | None] = field(default_factory=dict)
    consents: list[PendingConsent] = field(default_factory=list)
    activity: list[Activity] = field(default_factory=list)

    def credential(self, need: CredentialNeed) -> Credential | None:
        return self.credentials.get(need)

    def held(self) -> list[Credential]:
        """Every cached credential once (a need for STS is the role's keys)."""
        found = [self.workload_token, self.sts, *self.credentials.values()]
        unique = {id(credential): credential for credential in found if credential is not None}
        return list(unique.values())
