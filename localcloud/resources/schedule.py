"""A calendar service that trusts only STS credentials, and answers with the caller's own events.

`GET /svc/schedule?date=YYYY-MM-DD`, signed with the STS key AssumeRoleForWorkloadIdentity returned, by the
SCHEDULE-HMAC-SHA256 scheme this module verifies:

* `x-acs-date`: the request time, `2026-01-02T03:04:05Z` (UTC); it must be within 15 minutes of localcloud's.
* `x-acs-security-token`: the STS SecurityToken, which must belong to the AccessKeyId.
* `Authorization: SCHEDULE-HMAC-SHA256 Credential=<AccessKeyId>,Signature=<hex>` where Signature is
  hex(HMAC-SHA256(AccessKeySecret, string to sign)) and the string to sign is the lines
  `METHOD` (upper case), `/path` (percent-decoded), the canonical query and the `x-acs-date` value, joined by
  "\\n". The canonical query is every `name=value` pair (blank values kept; each RFC 3986-encoded, only "-_.~"
  and alphanumerics left as they are) sorted by (name, value) and joined by "&".

localcloud only verifies: the client that signs is the app's (`tools/signing.py`), a separate implementation of
the same rule, since the app does not import the emulator nor the emulator the app. A missing, unknown,
expired, tampered or stale credential is 401; a valid key that is not an STS key is 403; errors are Alibaba
Cloud OpenAPI JSON. The events belong to the user the STS key acts for (the `user_id` the data plane put in
its context): alice and bob have their own; any other user, or a key acting for no user, has none.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from localcloud.oidc import user_by_sub
from localcloud.resources.errors import BadRequest, Forbidden, Unauthorized
from localcloud.resources.web import Handler
from localcloud.store import AccessKey, Store

__all__ = ["SCHEDULE_HOST", "SCHEDULE_PATH", "canonical_query", "schedule_handler", "string_to_sign",
           "verify_schedule_request"]

SCHEDULE_PATH = "/svc/schedule"
SCHEDULE_HOST = "schedule.localcloud"
_ALGORITHM = "SCHEDULE-HMAC-SHA256"
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_MAX_SKEW_SECONDS = 15 * 60
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_EVENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "alice": (("09:00", "Opening meeting"), ("10:00", "Hotel check-in"), ("11:00", "Hotel check-out")),
    "bob": (("09:30", "Design review"), ("13:00", "Lunch with the platform team"), ("16:00", "Release sync")),
}


# -- the string to sign (pure) -------------------------------------------------------------------------
def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Every query pair RFC 3986-encoded, sorted, joined by "&"."""
    encoded = sorted((quote(name, safe="-_.~"), quote(value, safe="-_.~")) for name, value in pairs)
    return "&".join(f"{name}={value}" for name, value in encoded)


def string_to_sign(method: str, path: str, query: Iterable[tuple[str, str]], request_date: str) -> str:
    """What the signature covers: method, path, canonical query and the request date."""
    return "\n".join([method.upper(), path, canonical_query(query), request_date])


def _signature(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


# -- verification -----------------------------------------------------------------------------------
def _authorization(value: str | None) -> tuple[str, str]:
    algorithm, _, rest = (value or "").strip().partition(" ")
    fields = dict(part.strip().partition("=")[::2] for part in rest.split(","))
    if algorithm != _ALGORITHM or not fields.get("Credential") or not fields.get("Signature"):
        raise Unauthorized("IncompleteSignature", f"sign the request: Authorization: {_ALGORITHM} "
                           "Credential=<AccessKeyId>,Signature=<hex>")
    return fields["Credential"], fields["Signature"]


def _request_time(value: str | None, now: float) -> None:
    try:
        sent = datetime.strptime(value or "", _DATE_FORMAT).replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise Unauthorized("InvalidTimeStamp.Format", "send x-acs-date as YYYY-MM-DDThh:mm:ssZ (UTC)") from None
    if abs(sent - now) > _MAX_SKEW_SECONDS:
        raise Unauthorized("InvalidTimeStamp.Expired", "the request time is more than 15 minutes off")


def _live_key(store: Store, key_id: str, token: str | None, now: float) -> AccessKey:
    key = store.access_key(key_id)
    if key is None:
        raise Unauthorized("InvalidAccessKeyId.NotFound", "the AccessKey ID does not exist")
    if key.kind == "sts":
        if not token:
            raise Unauthorized("InvalidSecurityToken.MissingToken",
                               "send the STS SecurityToken in x-acs-security-token")
        if not hmac.compare_digest(token.encode(), (key.security_token or "").encode()):
            raise Unauthorized("InvalidSecurityToken.MismatchWithAccessKey",
                               "send the STS SecurityToken of this AccessKey ID in x-acs-security-token")
    if key.is_expired(now):
        raise Unauthorized("InvalidSecurityToken.Expired", "the STS credentials have expired; get new ones")
    return key


def verify_schedule_request(store: Store, request: Request, now: float) -> AccessKey:
    """The STS key that signed the request; raises Unauthorized or Forbidden otherwise."""
    key_id, sent = _authorization(request.headers.get("authorization"))
    request_date = request.headers.get("x-acs-date")
    _request_time(request_date, now)
    key = _live_key(store, key_id, request.headers.get("x-acs-security-token"), now)
    query = request.query_params.multi_items()
    text = string_to_sign(request.method, request.scope["path"], query, request_date or "")
    if not hmac.compare_digest(sent.encode(), _signature(key.secret, text).encode()):
        raise Unauthorized("SignatureDoesNotMatch", "the signature does not match the request and the key")
    if key.kind != "sts":
        raise Forbidden("NoPermission", "the schedule service accepts STS credentials only "
                        "(AssumeRoleForWorkloadIdentity), not long-term AccessKeys")
    return key


# -- the service ------------------------------------------------------------------------------------
def _day(value: str | None) -> str:
    if not _DAY.fullmatch(value or ""):
        return ""
    try:
        return date.fromisoformat(value or "").isoformat()
    except ValueError:  # e.g. 2026-02-30
        return ""


def events_for(store: Store, user_id: str | None) -> list[dict[str, Any]]:
    """The seeded events of the demo user with this subject; none for anyone else."""
    user = user_by_sub(store, user_id) if user_id else None
    seeded = _EVENTS.get(user.username, ()) if user else ()
    return [{"time": at, "title": title} for at, title in seeded]


def schedule_handler(store: Store, clock: Callable[[], float]) -> Handler:
    """The `GET /svc/schedule` handler bound to the store and clock."""
    def handle(request: Request, body: bytes) -> Response:
        key = verify_schedule_request(store, request, clock())
        day = _day(request.query_params.get("date"))
        if not day:
            raise BadRequest("InvalidParameter.Date", "give the date as ?date=YYYY-MM-DD")
        user_id = (key.principal.get("context") or {}).get("user_id")
        return JSONResponse({"date": day, "user_id": user_id, "events": events_for(store, user_id)})
    return handle
