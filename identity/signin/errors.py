"""Sign-in errors: one `IdentityError` subclass, so pages catch the root and show the message."""

from __future__ import annotations

from identity.errors import IdentityError

__all__ = ["SignInError", "UnknownSigningKey"]


class SignInError(IdentityError):
    """A sign-in failed or an ID token was refused; the message says why and never holds a token."""


class UnknownSigningKey(SignInError):
    """The ID token names a key the JWKS does not hold (the provider may have rotated its keys)."""
