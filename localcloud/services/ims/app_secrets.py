"""IMS application secrets: CreateAppSecret, DeleteAppSecret, ListAppSecretIds.

Like the real console, a secret's value is shown once, when it is created; only its hash is kept.
"""

from __future__ import annotations

from typing import Any

from localcloud.rpc.errors import EntityNotExist, InvalidParameter, LimitExceeded
from localcloud.rpc.service import Call
from localcloud.services.ims import records
from localcloud.services.ims.applications import require_application
from localcloud.store import random_token
from localcloud.times import iso_utc

__all__ = ["MAX_SECRETS_PER_APP", "create_app_secret", "delete_app_secret", "list_app_secret_ids"]

MAX_SECRETS_PER_APP = 2  # two, so a secret can be rotated without downtime


def create_app_secret(call: Call) -> dict[str, Any]:
    """CreateAppSecret: a new client secret for a confidential application, its value shown this once."""
    app = require_application(call)
    if not app["SecretRequired"]:
        raise InvalidParameter("AppId", f"the {app['AppType']} '{app['AppId']}' is a public client: it signs "
                                        "in with PKCE and cannot have a secret.")
    if len(records.app_secrets(call.store, call.account, app["AppId"])) >= MAX_SECRETS_PER_APP:
        raise LimitExceeded("AppSecret", f"the application '{app['AppId']}' already has "
                                         f"{MAX_SECRETS_PER_APP} secrets: delete one first.")
    value = random_token(64)
    secret = _store_secret(call, app["AppId"], value)
    return {"AppSecret": {**secret, "AppSecretValue": value}}


def delete_app_secret(call: Call) -> dict[str, Any]:
    """DeleteAppSecret: one secret of an application."""
    app = require_application(call)
    secret_id = call.params.required("AppSecretId", max_len=128)
    secret = call.store.get(records.SECRET_KIND, call.account, secret_id)
    if secret is None or secret["AppId"] != app["AppId"]:
        raise EntityNotExist("AppSecret", secret_id)
    call.store.delete(records.SECRET_KIND, call.account, secret_id)
    return {}


def list_app_secret_ids(call: Call) -> dict[str, Any]:
    """ListAppSecretIds: the ids and creation times of an application's secrets, never their values."""
    app = require_application(call)
    secrets = records.app_secrets(call.store, call.account, app["AppId"])
    listed = [{"AppId": s["AppId"], "AppSecretId": s["AppSecretId"], "CreateDate": s["CreateDate"]} for s in secrets]
    return {"AppSecrets": {"AppSecret": listed}}


def _store_secret(call: Call, app_id: str, value: str) -> dict[str, Any]:
    """Keep a new secret's hash under a fresh id; answer its public fields."""
    while True:
        secret = {"AppId": app_id, "AppSecretId": random_token(48), "CreateDate": iso_utc(call.now)}
        if call.store.insert(records.SECRET_KIND, call.account, secret["AppSecretId"],
                             {**secret, "SecretHash": records.hash_secret(value)}):
            return secret
