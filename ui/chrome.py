"""What every page shares: the mode banner in the sidebar, and how a setup error is shown instead of a page."""

from __future__ import annotations

import streamlit as st

from identity.errors import IdentityError, SettingsError
from ui.credentials_view import plain_markdown as plain
from ui.runtime import AppRuntime, get_runtime

__all__ = ["page_frame", "runtime_or_stop", "show_error", "sidebar"]

_SETTINGS_HINT = ("Fix it in the environment or in `.streamlit/secrets.toml` (README.md lists every setting), "
                  "then reload this page.")
_OTHER_HINT = "Check the settings and that the cloud is reachable, then reload this page."


def show_error(error: Exception) -> None:
    """The error's message and what to do about it; never a traceback."""
    hint = _SETTINGS_HINT if isinstance(error, SettingsError) else _OTHER_HINT
    st.error(f"{error}\n\n{hint}", icon=":material/error:")


def runtime_or_stop() -> AppRuntime:
    """The process-wide runtime; on a bad setting the page shows why and stops there."""
    try:
        return get_runtime()
    except IdentityError as error:
        show_error(error)
        st.stop()


def sidebar(runtime: AppRuntime) -> None:
    """The sidebar below the navigation: where this app's calls go."""
    banner = runtime.target.banner()
    if runtime.target.is_local:
        st.sidebar.info(banner, icon=":material/computer:")
    else:
        st.sidebar.success(banner, icon=":material/cloud:")
    if runtime.settings.replica_name:  # behind a load balancer: which replica drew this page
        st.sidebar.caption(f"Replica **{plain(runtime.settings.replica_name)}** · state in "
                           f"{runtime.broker.database.dialect}")


def page_frame() -> AppRuntime:
    """What every page starts with: the runtime (or the reason it failed) and the sidebar banner.

    Pages draw it themselves, so a page looks the same whether `app.py`'s navigation runs it or Streamlit
    runs the file alone (its legacy `pages/` mode, on a server's first deep link).
    """
    runtime = runtime_or_stop()
    sidebar(runtime)
    return runtime
