"""The app's own HTTP routes, beside Streamlit's: one list, so app.py and the tests serve exactly the same."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount

from identity.broker.routes import consent_routes
from identity.signin import signin_routes
from ui.runtime import (
    app_url,
    consent_user,
    current_broker,
    local_cloud_url,
    login_sessions,
    provider_logout_url,
    secure_cookies,
)
from ui.sign_out import run_sign_out_hooks  # not ui.signin: see ui/sign_out.py
from web.local_proxy import LOCALCLOUD_MOUNT, LocalCloudProxy

__all__ = ["http_routes"]


def http_routes() -> list[BaseRoute]:
    """`/lc/…` (localcloud's browser pages on the app's origin), the sign-in routes (`/auth/session`,
    `/auth/logout`, `/oauth2callback`) and the consent routes (`/consent/authorize`, `/callback`)."""
    return [Mount(LOCALCLOUD_MOUNT, app=LocalCloudProxy(local_cloud_url)),
            *signin_routes(login_sessions, secure=secure_cookies, on_sign_out=run_sign_out_hooks,
                           end_session=provider_logout_url),
            *consent_routes(consent_user, current_broker, app_url, secure_cookies)]
