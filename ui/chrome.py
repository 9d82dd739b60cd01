"""What every page shares: the mode banner in the sidebar, and how a setup error is shown instead of a page."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st
from streamlit.errors import StreamlitAPIException

from identity.errors import IdentityError, SettingsError
from ui.runtime import AppCore, core_starting, get_core, get_runtime, setup_problem, starting_message
from ui.text import plain_markdown as plain

if TYPE_CHECKING:
    from ui.agent_runtime import AppRuntime

__all__ = ["SETUP_PAGE", "core_frame", "known_setup_problem", "page_frame", "page_link", "runtime_or_stop",
           "setup_warning", "show_error", "sidebar"]

SETUP_PAGE = "pages/setup.py"

_SETTINGS_HINT = ("Fix it in the environment or in `.streamlit/secrets.toml` (README.md lists every setting), "
                  "then reload this page.")
_OTHER_HINT = "Check the settings and that the cloud is reachable, then reload this page."


def show_error(error: Exception) -> None:
    """The error's message and what to do about it; never a traceback."""
    hint = _SETTINGS_HINT if isinstance(error, SettingsError) else _OTHER_HINT
    st.error(f"{error}\n\n{hint}", icon=":material/error:")


def runtime_or_stop() -> AppRuntime:
    """The process-wide agent runtime; on a bad setting the page shows why and stops there."""
    try:
        return get_runtime()
    except IdentityError as error:
        show_error(error)
        st.stop()


def _core_or_stop() -> AppCore:
    try:
        return get_core()
    except IdentityError as error:
        show_error(error)
        st.stop()


def _wait_while_starting() -> None:
    """While the server still builds the core (it starts localcloud): say so, and rerun by itself once it is up."""
    if core_starting():
        st.info(starting_message(), icon=":material/hourglass_top:")
        _rerun_once_started()
        st.stop()


@st.fragment(run_every=0.2)
def _rerun_once_started() -> None:
    if not core_starting():
        st.rerun()


def sidebar(core: AppCore) -> None:
    """The sidebar below the navigation: where this app's calls go."""
    banner = core.target.banner()
    if core.target.is_local:
        st.sidebar.info(banner, icon=":material/computer:")
    else:
        st.sidebar.success(banner, icon=":material/cloud:")
    if core.settings.replica_name:  # behind a load balancer: which replica drew this page
        st.sidebar.caption(f"Replica **{plain(core.settings.replica_name)}** · state in {core.database.dialect}")


def page_link(page: str, label: str, icon: str, url: str) -> None:
    """A link to another page; a plain link when this page runs without the app's navigation."""
    try:
        st.page_link(page, label=label, icon=icon)
    except StreamlitAPIException:
        st.markdown(f"[{label}]({url})")


def known_setup_problem() -> str | None:
    """Why `.config.json` cannot work with this cloud (`ui.runtime.setup_problem`); None when it can, or when the
    file is unreadable (the pages that read it say so)."""
    try:
        return setup_problem()
    except IdentityError:
        return None


def setup_warning() -> str | None:
    """When `.config.json` describes resources this cloud does not have: one line that says why, a link to Setup,
    and the cause (the Login page then offers no sign-in that cannot work)."""
    problem = known_setup_problem()
    if problem:
        st.warning(f"{problem} Sign-in and the agent's tools cannot work with it: provision again on **Setup** to "
                   "repair it.", icon=":material/build:")
        page_link(SETUP_PAGE, "Open Setup", ":material/build:", "/setup")
    return problem


def core_frame() -> AppCore:
    """What the Login page starts with: the core (or why it failed, or that it is starting) and the sidebar banner.

    Pages draw it themselves, so a page looks the same whether `app.py`'s navigation runs it or Streamlit
    runs the file alone (its legacy `pages/` mode, on a server's first deep link).
    """
    _wait_while_starting()
    core = _core_or_stop()
    sidebar(core)
    setup_warning()
    return core


def page_frame() -> AppRuntime:
    """What a page that acts for a user starts with: `core_frame`, then the agent's runtime (built on first use)."""
    core_frame()
    return runtime_or_stop()
