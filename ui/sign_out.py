"""What to forget about a user who signs out, whichever way: the Login page's button or `/auth/logout`.

Apart from `ui.signin` on purpose: the app's HTTP routes need the hooks when `streamlit run` imports app.py, and
importing `ui.signin` there would declare streamlit-oauth's component before Streamlit's runtime exists, so the
sign-in button's component would never be served.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from identity.errors import IdentityError
from identity.users import SignedInUser
from ui.runtime import get_runtime

__all__ = ["SignOutHook", "register_sign_out_hook", "run_sign_out_hooks"]

_LOG = logging.getLogger(__name__)

SignOutHook = Callable[[SignedInUser], None]
# Process-wide configuration, not per-user data: what to forget about a user when they sign out.
_sign_out_hooks: list[SignOutHook] = []


def register_sign_out_hook(hook: SignOutHook) -> None:
    """Call `hook(user)` whenever a user signs out (e.g. to drop their cached credentials); register at import."""
    if hook not in _sign_out_hooks:
        _sign_out_hooks.append(hook)


def run_sign_out_hooks(user: SignedInUser) -> None:
    """Every registered hook, each on its own: one that fails must never keep anyone signed in."""
    for hook in list(_sign_out_hooks):
        try:
            hook(user)
        except Exception:
            _LOG.exception("A sign-out hook failed; the sign-out went on")


def _forget_credentials(user: SignedInUser) -> None:
    """Sign-out drops the user's cached credentials and pending consents from the broker."""
    try:
        get_runtime().broker.forget_user(user)
    except IdentityError:  # no runtime, nothing cached
        return


def _stop_turns(user: SignedInUser) -> None:
    """Sign-out stops the user's chat turns running in this process (other replicas stop theirs when the sign-out
    reaches them through the change feed): nothing goes on acting for someone who signed out."""
    from agent.background import SIGNED_OUT_STOP  # here: the Login page imports this module, and loads no agent

    try:
        get_runtime().turns.stop_owner(user.key, SIGNED_OUT_STOP)
    except IdentityError:  # no runtime, no turns
        return


register_sign_out_hook(_forget_credentials)
register_sign_out_hook(_stop_turns)
