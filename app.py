"""Agent Identity Dashboard: `streamlit run app.py`.

Streamlit reads this file twice over. `streamlit run` imports it as module `app` and serves `app` below: an
`st.App` with the pages, `/lc/…` (localcloud's browser pages on the app's own origin), the sign-in routes
(`/auth/session`, `/auth/logout`, `/oauth2callback`) and a lifespan that starts localcloud with the server.
Then every page view runs it as `__main__` to draw the navigation, the shared chrome and the chosen page.
"""

from __future__ import annotations

from identity.cloud import prepare_process_environment

# Before any Alibaba SDK is imported: they read proxies and credential variables at import time.
prepare_process_environment()

import streamlit as st  # noqa: E402
from starlette.routing import Mount  # noqa: E402

from identity.broker.return_route import consent_return_route  # noqa: E402
from identity.signin import signin_routes  # noqa: E402
from ui.local_proxy import LOCALCLOUD_MOUNT, LocalCloudProxy  # noqa: E402
from ui.runtime import (  # noqa: E402
    app_url,
    consent_user,
    current_broker,
    local_cloud_url,
    login_sessions,
    runtime_lifespan,
    secure_cookies,
)


def _pages() -> list[st.Page]:
    """The pages in menu order; Setup last."""
    return [
        st.Page("pages/login.py", title="Login", icon=":material/login:", default=True),
        st.Page("pages/chat.py", title="Chat", icon=":material/chat:"),
        st.Page("pages/credentials.py", title="Credentials", icon=":material/key:"),
        st.Page("pages/setup.py", title="Setup", icon=":material/build:"),
    ]


def render() -> None:
    """One page view: page config, navigation, then the chosen page (which draws the shared chrome)."""
    st.set_page_config(page_title="Agent Identity Dashboard", page_icon="🔐", layout="wide")
    st.navigation(_pages()).run()


if __name__ == "__main__":  # a page view: Streamlit runs the script as `__main__`
    render()
else:  # `streamlit run` imports this module to find the ASGI app
    app = st.App(__file__, routes=[Mount(LOCALCLOUD_MOUNT, app=LocalCloudProxy(local_cloud_url)),
                                   *signin_routes(login_sessions, secure=secure_cookies),
                                   consent_return_route(consent_user, current_broker, app_url)],
                 lifespan=runtime_lifespan)
