"""Cedar policies for localcloud's AI Gateway, evaluated by the real Cedar engine (`cedarpy`).

* `request.py`: the Cedar request a tool call becomes (principal, action, resource, context), pure.
* `policies.py`: a statement validated by the engine, a named set compiled (both cached by content).
* `engine.py`: `evaluate` (one tools/call) and `permitted_tools` (tools/list filtering).
* `errors.py`: the layer's error tree.

Importing this package does not import `cedarpy`; the first validation or evaluation does.
"""

from localcloud.cedar.engine import Decision, ToolListing, evaluate, permitted_tools
from localcloud.cedar.errors import CedarError, InvalidStatement, UnrepresentableInput
from localcloud.cedar.policies import validate_statement
from localcloud.cedar.request import tool_action

__all__ = [
    "CedarError",
    "Decision",
    "InvalidStatement",
    "ToolListing",
    "UnrepresentableInput",
    "evaluate",
    "permitted_tools",
    "tool_action",
    "validate_statement",
]
