"""How IMS applications and their secrets are kept in the store, and the readers other services use.

An application is stored under its AppId in its account. Two index rows, each claimed with one insert so
concurrent requests cannot both win: the AppName (unique per account) and the AppId across accounts (the
sign-in server only knows `client_id`). A secret is stored as the SHA-256 of its value, under its own id.
"""

from __future__ import annotations

import hashlib
import hmac
import string
from typing import Any

from localcloud.store import Store, random_token

__all__ = [
    "APPLICATION_KIND",
    "SECRET_KIND",
    "app_secrets",
    "claim_app_id",
    "claim_app_name",
    "find_application",
    "hash_secret",
    "release_app_id",
    "remove_application",
    "verify_app_secret",
]

APPLICATION_KIND = "ims.application"  # account, AppId -> the application
SECRET_KIND = "ims.app-secret"        # account, AppSecretId -> {AppId, AppSecretId, SecretHash, CreateDate}
_NAME_INDEX = "ims.application-name"  # account, AppName -> {AppId}
_ID_INDEX = "ims.application-id"      # no account, AppId -> {AccountId}
_NO_ACCOUNT = ""


def find_application(store: Store, app_id: str) -> dict[str, Any] | None:
    """An application by AppId in any account, as stored (flat `RedirectUris` and `Scopes`), or None."""
    owner = store.get(_ID_INDEX, _NO_ACCOUNT, app_id)
    return None if owner is None else store.get(APPLICATION_KIND, owner["AccountId"], app_id)


def verify_app_secret(store: Store, account: str, app_id: str, presented: str) -> bool:
    """Whether `presented` is a current secret of the application, compared in constant time."""
    presented_hash = hash_secret(presented)
    matched = False
    for secret in app_secrets(store, account, app_id):
        # No early exit: the time taken must not tell which secret (if any) came close.
        matched |= hmac.compare_digest(presented_hash, secret["SecretHash"])
    return matched


def hash_secret(value: str) -> str:
    """What is stored instead of a secret: its SHA-256, hex (a random 64-character value needs no salt)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def app_secrets(store: Store, account: str, app_id: str) -> list[dict[str, Any]]:
    """The stored secrets of one application, oldest first."""
    return [secret for secret in store.list(SECRET_KIND, account) if secret["AppId"] == app_id]


def claim_app_id(store: Store, account: str) -> str:
    """A fresh 19-digit AppId (the shape of real ones), claimed for `account` across all accounts."""
    while True:
        app_id = random_token(1, "123456789") + random_token(18, string.digits)
        if store.insert(_ID_INDEX, _NO_ACCOUNT, app_id, {"AccountId": account}):
            return app_id


def claim_app_name(store: Store, account: str, app_name: str, app_id: str) -> bool:
    """Reserve an AppName in the account for `app_id`; False if another application has it."""
    return store.insert(_NAME_INDEX, account, app_name, {"AppId": app_id})


def release_app_id(store: Store, app_id: str) -> None:
    """Give back an AppId claimed by `claim_app_id`."""
    store.delete(_ID_INDEX, _NO_ACCOUNT, app_id)


def remove_application(store: Store, app: dict[str, Any]) -> None:
    """Delete an application with its secrets and its name and id claims."""
    account, app_id = app["AccountId"], app["AppId"]
    for secret in app_secrets(store, account, app_id):
        store.delete(SECRET_KIND, account, secret["AppSecretId"])
    store.delete(APPLICATION_KIND, account, app_id)
    store.delete(_NAME_INDEX, account, app["AppName"])
    release_app_id(store, app_id)
