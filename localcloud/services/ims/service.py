"""IMS's `SERVICE`: every action's handler (the RAM resource of each is "*")."""

from __future__ import annotations

from localcloud.rpc.service import Service
from localcloud.services.ims.app_secrets import create_app_secret, delete_app_secret, list_app_secret_ids
from localcloud.services.ims.applications import (
    create_application,
    delete_application,
    get_application,
    list_applications,
)

__all__ = ["SERVICE"]

SERVICE = Service(product="Ims", code="ims", version="2019-08-15", host="ims.aliyuncs.com", actions={
    "CreateApplication": create_application,
    "GetApplication": get_application,
    "ListApplications": list_applications,
    "DeleteApplication": delete_application,
    "CreateAppSecret": create_app_secret,
    "DeleteAppSecret": delete_app_secret,
    "ListAppSecretIds": list_app_secret_ids,
})
