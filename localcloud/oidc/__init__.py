"""The sign-in server: an OIDC provider / OAuth 2.0 authorization server with two realms.

`aliyun` stands in for signin.aliyun.com and oauth.aliyun.com (its clients are IMS applications);
`dingtalk` is a DingTalk stand-in with one seeded demo app. Each realm serves, under `/oauth/{realm}/`:
discovery, JWKS, the authorize/login/consent pages, token, userinfo, revoke, introspect and logout
(RP-Initiated Logout). Wrong passwords are throttled per pending request and per user name (`throttle`).
Authorization code with PKCE S256 only, plus client_credentials for confidential clients.
"""

from localcloud.oidc.clients import dingtalk_demo_app
from localcloud.oidc.routes import oidc_routes
from localcloud.oidc.tokens import verify_access_token
from localcloud.oidc.users import DemoUser, demo_users, user_by_sub

__all__ = ["DemoUser", "demo_users", "dingtalk_demo_app", "oidc_routes", "user_by_sub", "verify_access_token"]
