"""Agent Identity Dashboard: `streamlit run app.py`.

Streamlit reads this file twice over. `streamlit run` imports it as module `app` and serves `app` below: an
`st.App` with the pages, `/lc/…` (localcloud's browser pages on the app's own origin), the sign-in routes
(`/auth/begin`, `/auth/session`, `/auth/logout`, `/oauth2callback`), the consent routes (`/consent/authorize`,
`/callback`), the guard in front of all of it (`web.guard`: host allowlist, websocket origin, security headers) and
a lifespan that starts localcloud with the server.
Then every page view runs it as `__main__` to draw the navigation, the shared chrome and the chosen page.
"""

from __future__ import annotations

from identity.cloud import prepare_process_environment

# Before any Alibaba SDK is imported: they read proxies and credential variables at import time.
prepare_process_environment()

import streamlit as st  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from ui.runtime import host_names, runtime_lifespan, xsrf_check  # noqa: E402
from web import AppGuard  # noqa: E402
from web.routes import http_routes  # noqa: E402


def _pages() -> list[st.Page]:
    """The pages in menu order; Setup last."""
    return [
        st.Page("pages/login.py", title="Login", icon=":material/login:", default=True),
        st.Page("pages/chat.py", title="Chat", icon=":material/chat:"),
        st.Page("pages/credentials.py", title="Credentials", icon=":material/key:"),
        st.Page("pages/inspect.py", title="Inspect", icon=":material/troubleshoot:"),
        st.Page("pages/policies.py", title="Policies", icon=":material/policy:"),
        st.Page("pages/setup.py", title="Setup", icon=":material/build:"),
    ]


def render() -> None:
    """One page view: page config, navigation, then the chosen page (which draws the shared chrome)."""
    from agent.errors import AgentError
    from identity.errors import IdentityError
    from ui.chrome import show_error

    st.set_page_config(page_title="Agent Identity Dashboard", page_icon="🔐", layout="wide")
    try:
        st.navigation(_pages()).run()
    except (IdentityError, AgentError) as error:  # e.g. the database went away mid-page: said, never a traceback
        show_error(error)


if __name__ == "__main__":  # a page view: Streamlit runs the script as `__main__`
    render()
else:  # `streamlit run` imports this module to find the ASGI app
    from streamlit.runtime.pages_manager import PagesManager

    # Every page view goes through `st.navigation`, but Streamlit learns that only on the first run that calls it:
    # until then a process whose first request is a deep link (`/chat`, as after a replica took over) would run
    # the page in its legacy `pages/` mode, with that mode's menu. Say it up front.
    PagesManager.uses_pages_directory = False

    app = st.App(__file__, routes=http_routes(), lifespan=runtime_lifespan,
                 middleware=[Middleware(AppGuard, allowlist=host_names, xsrf_check=xsrf_check)])
