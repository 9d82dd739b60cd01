"""Errors of the Cedar layer.

Tree::

    CedarError                 root: anything the layer refuses, its message fit to show a user
    ├── InvalidStatement       a policy statement the Cedar engine refuses (the message is the engine's)
    └── UnrepresentableInput   a request value Cedar has no type for (a float it cannot hold, a reserved key)
"""

from __future__ import annotations

__all__ = ["CedarError", "InvalidStatement", "UnrepresentableInput"]


class CedarError(Exception):
    """Root of the Cedar layer's errors."""


class InvalidStatement(CedarError):
    """A Cedar statement that does not parse, or is not exactly one static policy."""


class UnrepresentableInput(CedarError):
    """A value of the request that Cedar's JSON forms cannot carry faithfully."""
