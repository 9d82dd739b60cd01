"""IMS 2019-08-15 (`alibabacloud_ims20190815`): OAuth applications and their secrets.

The SDK sends every IMS parameter in the query string; the RPC front merges query and body, so the
handlers read them like any other. `find_application` and `verify_app_secret` are for the sign-in server.

* `service.py`: `SERVICE`, each action's handler.
* `records.py`: how applications and their secrets are stored, and the readers other services use.
* `errors.py`: the error codes the service answers (all built from the shared RPC errors).
* one handler module per resource: `applications.py`, `app_secrets.py`.
"""

from localcloud.services.ims.records import find_application, verify_app_secret
from localcloud.services.ims.service import SERVICE

__all__ = ["SERVICE", "find_application", "verify_app_secret"]
