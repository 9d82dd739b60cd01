"""The official Alibaba Cloud SDK clients, built from a CloudTarget, with timeouts and our error type.

Every method of a client returned here raises `CloudError` (code, message, status, request id) instead of
the SDK's exceptions, so callers handle one error type whichever service failed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from alibabacloud_agentidentity20250901.client import Client as ControlClient
from alibabacloud_agentidentitydata20251127.client import Client as DataClient
from alibabacloud_credentials.client import Client as CredentialClient
from alibabacloud_ims20190815.client import Client as ImsClient
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from darabonba.exceptions import TeaException  # the root of every SDK error (Tea's own class)

from identity.cloud import CloudTarget
from identity.errors import CloudError

__all__ = ["Clients", "cloud_error"]

CONNECT_TIMEOUT_MS = 5_000
READ_TIMEOUT_MS = 15_000


def cloud_error(exc: Exception, action: str) -> CloudError:
    """Our error for an SDK exception: the service's code and message, or why the call never got through."""
    if isinstance(exc, AlibabaCloudException):
        data = exc.data if isinstance(getattr(exc, "data", None), dict) else {}
        message = data.get("Message") or data.get("message") or str(exc.message)
        return CloudError(str(exc.code), str(message), status=getattr(exc, "status_code", None),
                          request_id=getattr(exc, "request_id", None), action=action)
    # Every other SDK error means no answer came: refused, timed out or unreadable. A refused or timed-out
    # request arrives as UnretryableException, which is a TeaException but not a DaraException.
    if isinstance(exc, TeaException):
        return CloudError("ConnectionFailed", f"{action} did not get an answer ({_no_answer_reason(exc)})",
                          action=action)
    return CloudError("ClientError", f"{action} failed before sending: {exc}", action=action)


def _no_answer_reason(exc: TeaException) -> str:
    """Why a request got no answer, in words (the SDK only has its transport's message text)."""
    text = str(getattr(exc, "message", "") or exc).lower()
    if "timed out" in text or "timeout" in text:
        return "timed out"
    if "refused" in text or "failed to establish" in text:
        return "connection refused"
    inner = getattr(exc, "inner_exception", None) or exc
    return inner.__class__.__name__


class _Guarded:
    """A client whose every method raises CloudError instead of the SDK's exceptions."""

    def __init__(self, client: Any, service: str) -> None:
        self._client, self._service = client, service

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if not callable(method):
            return method

        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except (TeaException, ValueError, TypeError) as exc:
                raise cloud_error(exc, f"{self._service}.{name}") from None

        return call


class Clients:
    """Process-wide factory of the official clients for one target (holds no per-user state)."""

    def __init__(self, target: CloudTarget) -> None:
        self.target = target

    def _config(self, endpoint: str, keys: tuple[str, str, str] | None = None) -> open_api_models.Config:
        t = self.target
        credentials: dict[str, Any] = (
            {"access_key_id": keys[0], "access_key_secret": keys[1], "security_token": keys[2]} if keys else
            {"access_key_id": t.access_key_id, "access_key_secret": t.access_key_secret}
            if t.access_key_id else {"credential": CredentialClient()})
        return open_api_models.Config(endpoint=endpoint, protocol=t.protocol, region_id=t.region,
                                      connect_timeout=CONNECT_TIMEOUT_MS, read_timeout=READ_TIMEOUT_MS,
                                      **credentials)

    def _build(self, factory: Callable[[open_api_models.Config], Any], endpoint: str, service: str) -> Any:
        return _Guarded(factory(self._config(endpoint)), service)

    def control(self) -> ControlClient:
        return self._build(ControlClient, self.target.control_endpoint, "AgentIdentity")

    def data(self, sts_keys: tuple[str, str, str] | None = None) -> DataClient:
        """The data-plane client; with `sts_keys` (id, secret, token) it signs as the workload's role."""
        config = self._config(self.target.data_endpoint, sts_keys)
        return _Guarded(DataClient(config), "AgentIdentityData")

    def ims(self) -> ImsClient:
        return self._build(ImsClient, self.target.ims_endpoint, "Ims")

    def ram(self) -> RamClient:
        return self._build(RamClient, self.target.ram_endpoint, "Ram")

    def sts(self) -> StsClient:
        return self._build(StsClient, self.target.sts_endpoint, "Sts")
