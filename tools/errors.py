"""The tools' one error type, apart so the argument grammars and the tool declarations can both raise it."""

from __future__ import annotations

__all__ = ["ToolError"]


class ToolError(Exception):
    """A tool failed in a way the model should hear about (the message becomes the tool's result)."""
