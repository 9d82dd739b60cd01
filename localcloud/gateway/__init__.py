"""localcloud's AI Gateway: MCP servers at `/mcp-servers/<name>` behind Agent Identity's `agent-identity-oauth`
plugin (WIRE §10): the workload access token verified, each tool call authorized by the Cedar policy set attached
to the gateway, and the user's downstream OAuth2 token injected in place of the caller's token.

* `config.py`: the gateway's id and ARN, the MCP server it hosts and that server's plugin rule, as data.
* `callers.py`: the workload access token, verified by the data plane's own check.
* `authorization.py`: the policy set's decision for a call, and the tools a listing shows (pure, over Cedar).
* `decisions.py`: the decision log in localcloud's store (bounded, no arguments, no tokens).
* `credentials.py`: the downstream token from the data plane, cached until shortly before it expires.
* `plugin.py`: the plugin's work on one POST, and "Try a request".
* `upstream.py`: a tool call as one REST call upstream, and its answer as a tool result.
* `tools.py`: the hosted servers and their tools (the order service's).
* `hosting.py`: the ASGI app; `mcp_app.py`: the MCP server behind it (the MCP SDK is imported on first request).
* `routes.py`: the mount and the control routes; `errors.py`: the layer's error tree.
"""

from localcloud.gateway.config import CREDENTIAL_PROVIDER, GATEWAY_ID, ORDER_SERVER, gateway_arn, server_path
from localcloud.gateway.hosting import AIGateway, ai_gateway
from localcloud.gateway.routes import DECISIONS_PATH, EVALUATE_PATH, GATEWAY_PATH, gateway_routes

__all__ = [
    "CREDENTIAL_PROVIDER",
    "DECISIONS_PATH",
    "EVALUATE_PATH",
    "GATEWAY_ID",
    "GATEWAY_PATH",
    "ORDER_SERVER",
    "AIGateway",
    "ai_gateway",
    "gateway_arn",
    "gateway_routes",
    "server_path",
]
