"""Request parameters as the Tea SDKs write them, read into Python values.

The SDKs send flat `key=value` pairs (query and form body alike): nested values are "shrunk" to JSON
strings, booleans are Python's `str(True)`, numbers are decimal strings. Every reader here raises the
RPC error a real service would, naming the parameter, so a bad request never becomes a 500.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable, Mapping
from typing import Any

from localcloud.rpc.errors import InvalidParameter, MissingParameter

__all__ = ["Params", "merge_params"]

# Sent by the SDK on every v2 request; never an action's own input.
_PROTOCOL_KEYS = frozenset({
    "Action", "Version", "Format", "Timestamp", "SignatureNonce", "SignatureMethod", "SignatureVersion",
    "Signature", "AccessKeyId", "SecurityToken", "SignatureType", "BearerToken", "RegionId",
})


def merge_params(query: Iterable[tuple[str, str]], form: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Query then form fields, form winning, the same merge the SDK signs (v2) and sends."""
    merged = dict(query)
    merged.update(form)
    return merged


class Params:
    """Typed, validating access to one request's action parameters.

    The readers are named after the types they read, so in the class body, once a reader is defined, its bare
    name is the method: the signatures below it spell the type `builtins.str` (`.bool`, `.int`)."""

    def __init__(self, raw: Mapping[str, str]) -> None:
        self._raw = {k: v for k, v in raw.items() if k not in _PROTOCOL_KEYS}

    def __contains__(self, name: str) -> bool:
        return name in self._raw

    def raw(self) -> dict[str, str]:
        """All action parameters as received."""
        return dict(self._raw)

    def str(self, name: str, *, required: bool = False, default: str | None = None,
            max_len: int = 1024, choices: Iterable[str] | None = None) -> str | None:
        """A string parameter; empty counts as absent."""
        value = self._raw.get(name)
        if value is None or value == "":
            if required:
                raise MissingParameter(name)
            return default
        if len(value) > max_len:
            raise InvalidParameter(name, f"longer than {max_len} characters.")
        if choices is not None and value not in (allowed := tuple(choices)):
            raise InvalidParameter(name, f"'{value}' is not one of {', '.join(allowed)}.")
        return value

    def required(self, name: builtins.str, **kwargs: Any) -> builtins.str:
        """A string parameter that must be present and non-empty."""
        value = self.str(name, required=True, **kwargs)
        assert value is not None
        return value

    def bool(self, name: builtins.str, default: builtins.bool = False) -> builtins.bool:
        """A boolean the SDK wrote as `True`/`False` (any case); `1`/`0` too."""
        value = self._raw.get(name)
        if value is None or value == "":
            return default
        lowered = value.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise InvalidParameter(name, f"'{value}' is not a boolean (expected True or False).")

    def int(self, name: builtins.str, *, default: builtins.int | None = None, low: builtins.int | None = None,
            high: builtins.int | None = None) -> builtins.int | None:
        """An integer parameter, range-checked when bounds are given."""
        value = self._raw.get(name)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except ValueError:
            raise InvalidParameter(name, f"'{value}' is not an integer.") from None
        if (low is not None and number < low) or (high is not None and number > high):
            raise InvalidParameter(name, f"{number} is outside the allowed range {low}..{high}.")
        return number

    def json(self, name: builtins.str, kind: type, *, required: builtins.bool = False) -> Any:
        """A nested value the SDK shrank to a JSON string, checked to be a list or an object."""
        value = self._raw.get(name)
        if value is None or value == "":
            if required:
                raise MissingParameter(name)
            return None
        try:
            parsed = json.loads(value)
        except ValueError:
            raise InvalidParameter(name, "is not valid JSON.") from None
        if not isinstance(parsed, kind):
            raise InvalidParameter(name, f"must be a JSON {'array' if kind is list else 'object'}.")
        return parsed

    def string_list(self, name: builtins.str, *, required: builtins.bool = False,
                    max_items: builtins.int = 100) -> list[builtins.str] | None:
        """A JSON array of non-empty strings."""
        items = self.json(name, list, required=required)
        if items is None:
            return None
        if len(items) > max_items or not all(isinstance(i, str) and i for i in items):
            raise InvalidParameter(name, f"must be a JSON array of at most {max_items} non-empty strings.")
        return items

    def separated(self, name: builtins.str, sep: builtins.str = ";") -> list[builtins.str]:
        """A list written as one string joined by `sep` (IMS scopes and redirect URIs)."""
        value = self.str(name, max_len=8192)
        if value is None:
            return []
        return [part.strip() for part in value.split(sep) if part.strip()]
