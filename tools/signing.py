"""The client half of SCHEDULE-HMAC-SHA256, the stand-in schedule service's request signing (STS credentials).

The wire protocol, which the emulator's schedule service verifies with an implementation of its own (its
`resources/schedule.py`: the app does not import the emulator, nor the emulator the app):

* `x-acs-date`: the request time in UTC, `2026-01-02T03:04:05Z`; the service allows 15 minutes of skew.
* `x-acs-security-token`: the STS SecurityToken of the AccessKeyId.
* `Authorization: SCHEDULE-HMAC-SHA256 Credential=<AccessKeyId>,Signature=<hex>`, where Signature is
  hex(HMAC-SHA256(AccessKeySecret, string to sign)) and the string to sign is these lines joined by "\\n":
  the upper-case method, the percent-decoded path, the canonical query and the `x-acs-date` value.
  The canonical query: every `name=value` pair of the URL (blank values kept), name and value each
  RFC 3986-encoded (only "-_.~" and alphanumerics left as they are), the pairs sorted by (name, value)
  and joined by "&".
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, unquote, urlsplit

__all__ = ["SCHEDULE_ALGORITHM", "sign_schedule_request"]

SCHEDULE_ALGORITHM = "SCHEDULE-HMAC-SHA256"


def _encoded(text: str) -> str:
    return quote(text, safe="-_.~")


def _canonical_query(query: str) -> str:
    pairs = sorted((_encoded(name), _encoded(value)) for name, value in parse_qsl(query, keep_blank_values=True))
    return "&".join(f"{name}={value}" for name, value in pairs)


def sign_schedule_request(method: str, url: str, access_key_id: str, access_key_secret: str, security_token: str,
                          now: float) -> dict[str, str]:
    """The headers that authenticate a request for `url` (query included) with STS credentials at time `now`."""
    parts = urlsplit(url)
    request_date = datetime.fromtimestamp(now, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    signed_text = f"{method.upper()}\n{unquote(parts.path)}\n{_canonical_query(parts.query)}\n{request_date}"
    signature = hmac.new(access_key_secret.encode(), signed_text.encode(), hashlib.sha256).hexdigest()
    return {"x-acs-date": request_date, "x-acs-security-token": security_token,
            "Authorization": f"{SCHEDULE_ALGORITHM} Credential={access_key_id},Signature={signature}"}
