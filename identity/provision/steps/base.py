"""What a provisioning step is: how to find, create, check, update and delete one resource."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from identity.errors import CloudError
from identity.provision.deployment import Deployment

__all__ = ["Found", "Step", "absent_on_not_found"]

Found = dict[str, Any]


def _no_drift(deployment: Deployment, found: Found) -> str | None:
    return None


def _no_needs(deployment: Deployment) -> str | None:
    return None


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    find: Callable[[Deployment], Found | None]
    create: Callable[[Deployment], str]          # returns the resource's name or id; records it
    delete: Callable[[Deployment], None]
    label: Callable[[Deployment], str]           # the resource's name as plan shows it
    drift: Callable[[Deployment, Found], str | None] = _no_drift
    update: Callable[[Deployment, Found], None] | None = None
    needs: Callable[[Deployment], str | None] = _no_needs   # a missing input, when the step cannot run
    adopt: Callable[[Deployment, Found], None] | None = None  # record an existing resource's ids


def absent_on_not_found(call: Callable[[], Any]) -> Any | None:
    """The call's result, or None when the service says the entity does not exist."""
    try:
        return call()
    except CloudError as error:
        if error.is_not_found:
            return None
        raise
