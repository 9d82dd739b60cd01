"""RAM 2015-05-01 (`alibabacloud_ram20150501`): roles, policies and their attachments.

* `service.py`: `SERVICE`, each action's handler.
* `records.py`: roles and custom policies as stored, and the policies a role has (for the RPC front and OSS).
* `errors.py`: RAM's own error codes (`MalformedPolicyDocument`).
* one handler module per resource: `roles.py`, `policies.py`.
* `catalog.py`: the system policies every account has.
"""

from localcloud.services.ram.records import policies_of_role, role_policy_documents
from localcloud.services.ram.service import SERVICE

__all__ = ["SERVICE", "policies_of_role", "role_policy_documents"]
