"""STS 2015-04-01 (`alibabacloud_sts20150401`): who am I, and temporary credentials for a role.

* `service.py`: `SERVICE`, each action's handler and the RAM resource it touches.
* `records.py`: a role session's access keys: minted, stored, and shown in an AssumeRole-style answer.
* `errors.py`: STS's own error code (`NoPermission.RoleTrust`).
* one handler module per resource: `caller_identity.py` (GetCallerIdentity), `role_sessions.py` (AssumeRole).
"""

from localcloud.services.sts.records import issue_role_credentials, role_credentials_view
from localcloud.services.sts.service import SERVICE

__all__ = ["SERVICE", "issue_role_credentials", "role_credentials_view"]
