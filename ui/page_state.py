"""The one way pages keep their per-session state: one object under one key of `st.session_state`.

A page's state belongs to the user signed in when it was made: `for_user` hands back a fresh one when another user
signs in in the same browser session, so nothing of one user's page ever shows for the next.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

import streamlit as st

__all__ = ["page_state", "user_page_state"]


class _PerUser(Protocol):
    def for_user(self, user: tuple[str, str]) -> _PerUser: ...


S = TypeVar("S")
U = TypeVar("U", bound=_PerUser)


def page_state(key: str, make: Callable[[], S]) -> S:
    """This session's state under `key`, made on first use."""
    if key not in st.session_state:
        st.session_state[key] = make()
    state: S = st.session_state[key]
    return state


def user_page_state(key: str, make: Callable[[], U], user: tuple[str, str]) -> U:
    """This session's state under `key` for `user` (a new one when another user signed in since)."""
    existing = st.session_state.get(key) or make()
    state = existing.for_user(user)
    st.session_state[key] = state
    return state  # type: ignore[return-value]
