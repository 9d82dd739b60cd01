"""IMS 2019-08-15 (`alibabacloud_ims20190815`): OAuth applications and their secrets.

The SDK sends every IMS parameter in the query string; the RPC front merges query and body, so the
handlers read them like any other. `find_application` and `verify_app_secret` are for the sign-in server.
"""

from __future__ import annotations

from localcloud.rpc.service import Service
from localcloud.services.ims.app_secrets import create_app_secret, delete_app_secret, list_app_secret_ids
from localcloud.services.ims.applications import (
    create_application,
    delete_application,
    get_application,
    list_applications,
)
from localcloud.services.ims.records import find_application, verify_app_secret

__all__ = ["SERVICE", "find_application", "verify_app_secret"]

SERVICE = Service(product="Ims", code="ims", version="2019-08-15", host="ims.aliyuncs.com", actions={
    "CreateApplication": create_application,
    "GetApplication": get_application,
    "ListApplications": list_applications,
    "DeleteApplication": delete_application,
    "CreateAppSecret": create_app_secret,
    "DeleteAppSecret": delete_app_secret,
    "ListAppSecretIds": list_app_secret_ids,
})
