"""The order service of the AI Gateway sample, behind the gateway: an OAuth2 server plus an orders REST API.

Mounted at `ORDER_SERVICE_PATH` (`/order-service`) on localcloud; `{localcloud}/order-service` is its base
(`ORDER_SERVICE_URL`) and its OAuth issuer. It speaks the sample's wire (WIRE §10.6):

| route | what |
|---|---|
| `GET /.well-known/oauth-authorization-server` | RFC 8414 metadata (`client_secret_post`, `orders:read`/`write`) |
| `GET /oauth/authorize`, `POST /oauth/authorize` | the consent page (`action`=approve|deny), after a sign-in |
| `GET /oauth/login`, `POST /oauth/login` | that sign-in, as one of localcloud's demo users |
| `POST /oauth/token` | `authorization_code` and rotating `refresh_token` for the one client, `order-client` |
| `POST /orders`, `GET /orders`, `GET /orders/{id}`, `DELETE /orders/{id}` | the orders of the token's user |

Orders, codes, tokens and sessions live in localcloud's store (tokens, codes and cookies as SHA-256 only), so they
survive a restart. `ORDER_TOOLS` are the MCP tools the gateway serves in front of the API.
"""

from localcloud.orders.client import ORDER_CLIENT_ID, order_client
from localcloud.orders.routes import order_routes
from localcloud.orders.service import DEFAULT_SCOPES, ORDER_SERVICE_PATH, SCOPES, public_service_url, service_url
from localcloud.orders.tools import MCP_SERVER_NAME, ORDER_TOOLS, OrderTool, RestCall, order_tool

__all__ = [
    "DEFAULT_SCOPES",
    "MCP_SERVER_NAME",
    "ORDER_CLIENT_ID",
    "ORDER_SERVICE_PATH",
    "ORDER_TOOLS",
    "SCOPES",
    "OrderTool",
    "RestCall",
    "order_client",
    "order_routes",
    "order_tool",
    "public_service_url",
    "service_url",
]
