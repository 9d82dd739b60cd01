"""The app's process-wide runtime: settings, where calls go, and the official clients, built once per server.

It holds nothing about any user, so every session shares it (per-user state lives in `st.session_state`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import streamlit as st

from identity.broker import CredentialBroker
from identity.clients import Clients
from identity.cloud import CloudTarget, connect
from identity.errors import IdentityError, SettingsError
from identity.settings import Settings, load_settings

__all__ = ["AppRuntime", "build_runtime", "get_runtime", "local_cloud_url", "runtime_lifespan"]

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class AppRuntime:
    """What every page needs and no user owns."""

    settings: Settings
    target: CloudTarget
    clients: Clients
    broker: CredentialBroker


def build_runtime(environ: Mapping[str, str], secrets: Mapping[str, Any]) -> AppRuntime:
    """Resolve the settings, connect (starting localcloud in local mode) and make the client factory."""
    settings = load_settings(environ, secrets=secrets)
    target = connect(settings)
    clients = Clients(target)
    return AppRuntime(settings=settings, target=target, clients=clients, broker=CredentialBroker(clients, settings))


def _secrets() -> dict[str, Any]:
    """`st.secrets` as a plain dict; empty when there is no secrets file, an error when one is unreadable."""
    try:
        return st.secrets.to_dict()
    except FileNotFoundError as exc:  # Streamlit's "no secrets" error, also raised for a malformed file
        if any(Path(path).is_file() for path in st.get_option("secrets.files")):
            raise SettingsError(f"The secrets file could not be read: {exc}") from None
        return {}


# No spinner: the lifespan builds it outside any script run, where there is no page to draw one on.
@st.cache_resource(show_spinner=False)
def get_runtime() -> AppRuntime:
    """The one runtime of this server process; raises SettingsError (not cached) when a setting is bad."""
    return build_runtime(os.environ, _secrets())


def local_cloud_url() -> str | None:
    """The built-in localcloud's `http://127.0.0.1:PORT`, or None when this app runs none."""
    try:
        local = get_runtime().target.local
    except IdentityError:  # the pages say what is wrong; the proxy just has nowhere to go
        return None
    return local.url if local is not None else None


@asynccontextmanager
async def runtime_lifespan(_app: object) -> AsyncIterator[None]:
    """`st.App` lifespan: build the runtime as the server starts, so `/lc/…` answers before any page view."""
    try:
        await anyio.to_thread.run_sync(get_runtime)
    except IdentityError as exc:
        _LOG.warning("The app could not start its runtime; every page will say why: %s", exc)
    yield
