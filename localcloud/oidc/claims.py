"""What each realm says about a signed-in user, per granted scope (ID token and userinfo alike)."""

from __future__ import annotations

from typing import Any

from localcloud.oidc.clients import DINGTALK_SCOPES
from localcloud.oidc.users import DemoUser

__all__ = ["SCOPES_SUPPORTED", "user_claims"]

# What discovery advertises; an IMS application may predefine more (e.g. /acs/mcp-server).
SCOPES_SUPPORTED = {"aliyun": ("openid", "aliuid", "profile"), "dingtalk": DINGTALK_SCOPES}
# The demo users all belong to one stand-in DingTalk organization.
DEMO_CORP_ID = "dingdemo0localcloud"


def _aliyun_claims(user: DemoUser, scopes: tuple[str, ...], account_id: str) -> dict[str, Any]:
    claims: dict[str, Any] = {}
    if "aliuid" in scopes:
        # A demo user stands for a whole Alibaba Cloud identity, so its UID is its subject.
        claims["aliuid"] = user.sub
    if "profile" in scopes:
        claims.update(name=user.name, preferred_username=user.username, login_name=user.username,
                      upn=f"{user.username}@{account_id}.onaliyun.com")
    return claims


def _dingtalk_claims(user: DemoUser, scopes: tuple[str, ...]) -> dict[str, Any]:
    claims: dict[str, Any] = {}
    if "openid" in scopes:
        claims["nick"] = user.name
    if "corpid" in scopes:
        claims["corpid"] = DEMO_CORP_ID
    return claims


def user_claims(realm: str, user: DemoUser, scopes: tuple[str, ...], account_id: str) -> dict[str, Any]:
    """`sub` plus the claims the granted scopes release."""
    extra = _aliyun_claims(user, scopes, account_id) if realm == "aliyun" else _dingtalk_claims(user, scopes)
    return {"sub": user.sub, **extra}
