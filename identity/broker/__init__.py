"""The credential broker and what it hands out: the only way tools get credentials."""

from typing import TYPE_CHECKING

from identity.lazy import lazy_exports

if TYPE_CHECKING:
    from identity.broker.activity import Activity
    from identity.broker.broker import CredentialBroker
    from identity.broker.consents import PendingConsent
    from identity.broker.credentials import ApiKey, OAuth2Token, StsCredentials, WorkloadAccessToken, fingerprint
    from identity.broker.errors import ConsentError, ConsentRequired, NotProvisioned, SignInExpired
    from identity.broker.holdings import Holdings
    from identity.broker.needs import CredentialNeed

__all__ = ["Activity", "ApiKey", "ConsentError", "ConsentRequired", "CredentialBroker", "CredentialNeed",
           "Holdings", "NotProvisioned", "OAuth2Token", "PendingConsent", "SignInExpired", "StsCredentials",
           "WorkloadAccessToken", "fingerprint"]

__getattr__ = lazy_exports(__name__, {
    "Activity": "activity",
    "CredentialBroker": "broker",
    "PendingConsent": "consents",
    "ApiKey": "credentials",
    "OAuth2Token": "credentials",
    "StsCredentials": "credentials",
    "WorkloadAccessToken": "credentials",
    "fingerprint": "credentials",
    "ConsentError": "errors",
    "ConsentRequired": "errors",
    "NotProvisioned": "errors",
    "SignInExpired": "errors",
    "Holdings": "holdings",
    "CredentialNeed": "needs",
})
