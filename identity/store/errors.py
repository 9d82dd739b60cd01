"""Errors of the state store: part of the identity layer's tree, so every page already shows them as a message."""

from __future__ import annotations

from identity.errors import IdentityError

__all__ = ["StoreUnavailable"]


class StoreUnavailable(IdentityError):
    """The database cannot be opened or reached (names the setting to fix); nothing was half-written."""
