"""The Credentials page's view model: rows, statuses, countdowns, fingerprints, trusted links. Pure: no Streamlit.

Nothing here ever puts a credential's value on screen: previews are fingerprints, and tokens are shown only
as their decoded claims.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import jwt
import pandas as pd

from identity.broker import CredentialNeed, NotProvisioned
from identity.broker.activity import Activity
from identity.broker.consents import PendingConsent
from identity.broker.credentials import Credential, WorkloadAccessToken
from identity.broker.kinds import kind_label
from identity.cloud import CloudTarget
from identity.errors import CloudError, IdentityError
from identity.users import SignedInUser
from ui.text import WORD_JOINER, code_span, markdown_text, plain_markdown, unlinked

__all__ = [
    "ACTIONS", "ACTIVITY_COLUMNS", "CLAIM_COLUMNS", "COLUMNS", "CONNECT", "CONNECTED", "CONSENT_PENDING",
    "DISCONNECT", "ERROR", "EXPIRED", "NOT_CONNECTED", "NO_VALUE", "REFRESH", "STATE_KEY", "UNTRUSTED_LINK",
    "WORD_JOINER",
    "ActionResult", "CredentialRow", "CredentialsState", "action_key", "activity_table", "build_rows",
    "claims_table", "code_span", "connected_result", "consent_caption", "consent_result", "countdown",
    "credential_status", "credential_table", "decode_unverified", "disconnected_result", "error_result",
    "expiry_text", "inbound_claims", "is_trusted_authorization_url", "kind_label", "markdown_text", "open_consent",
    "pending_consents", "plain_markdown", "preview", "provider_label", "row_caption", "row_key", "sign_in_caption",
    "status_label", "unlinked", "utc_time", "workload_caption", "workload_claims",
]

STATE_KEY = "credentials"
CONNECT, REFRESH, DISCONNECT = "connect", "refresh", "disconnect"
ACTIONS = (CONNECT, REFRESH, DISCONNECT)
NOT_CONNECTED, CONSENT_PENDING, CONNECTED, EXPIRED, ERROR = (
    "not connected", "consent pending", "connected", "expired", "error")
COLUMNS = ("Provider", "Kind", "Status", "Connected as", "Scopes", "Expires", "Preview", "Used by")
ACTIVITY_COLUMNS = ("Time", "Action", "Provider", "Outcome", "Latency (ms)", "Detail")
CLAIM_COLUMNS = ("Claim", "Value")
UNTRUSTED_LINK = "untrusted link withheld"
NO_VALUE = "—"

_ICONS = {NOT_CONNECTED: "⚪", CONSENT_PENDING: "🟡", CONNECTED: "🟢", EXPIRED: "🟠", ERROR: "🔴"}
# Registered claims first, in the order people read them; the rest follow alphabetically.
_CLAIM_ORDER = ("iss", "sub", "aud", "name", "azp", "exp", "iat", "nbf", "auth_time")
_TIME_CLAIMS = frozenset({"exp", "iat", "nbf", "auth_time"})
_AUTHORIZE_PATH = "/oauth2/authorize"
_CALLBACK_PATH = "/oauth2/callback"
_DEFAULT_PORTS = {"http": 80, "https": 443}

Peek = Callable[[CredentialNeed], Credential | None]


# -- per-user page state ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ActionResult:
    """What the last button press did, shown once above the table."""

    level: str                 # "success", "info" or "error"
    message: str
    needs_setup: bool = False  # the cause is missing provisioning: offer the Setup page


@dataclass
class CredentialsState:
    """The page's state for one signed-in user: the last action's result and each row's last error."""

    owner: tuple[str, str] | None = None
    result: ActionResult | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def for_user(self, owner: tuple[str, str]) -> CredentialsState:
        """This state if it is the user's, else a fresh one (a different sign-in never sees old errors)."""
        return self if self.owner == owner else CredentialsState(owner=owner)

    def succeeded(self, need: CredentialNeed, result: ActionResult) -> None:
        self.errors.pop(row_key(need), None)
        self.result = result

    def failed(self, need: CredentialNeed | None, error: IdentityError) -> None:
        self.result = error_result(error)
        if need is not None:
            self.errors[row_key(need)] = self.result.message


def connected_result(need: CredentialNeed, credential: Credential) -> ActionResult:
    return ActionResult("success", f"{markdown_text(provider_label(need))} is connected "
                        f"({code_span(credential.fingerprint)}).")


def consent_result(need: CredentialNeed) -> ActionResult:
    return ActionResult("info", f"{markdown_text(provider_label(need))} needs your consent: press **Authorize** "
                        "under Pending consents, approve, then come back here.")


def disconnected_result(need: CredentialNeed) -> ActionResult:
    return ActionResult("info", f"{markdown_text(provider_label(need))} is disconnected: the app no longer holds "
                        f"its {kind_label(need.kind)} credential.")


def error_result(error: IdentityError) -> ActionResult:
    """An identity error as the user reads it: the service's code and message, never a traceback."""
    if isinstance(error, CloudError):
        return ActionResult("error", f"{code_span(error.code)}: {markdown_text(error.message)}")
    return ActionResult("error", markdown_text(str(error)), needs_setup=isinstance(error, NotProvisioned))


# -- rows and statuses ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CredentialRow:
    """One credential a tool uses, as it stands for this user right now."""

    need: CredentialNeed
    status: str
    credential: Credential | None = None
    consent: PendingConsent | None = None
    error: str = ""


def row_key(need: CredentialNeed) -> str:
    """A stable id for a need (widget keys, error bookkeeping)."""
    return f"{need.kind}:{need.provider or 'role'}:{','.join(need.scopes)}"


def action_key(action: str, need: CredentialNeed) -> str:
    """The widget key of a row's button."""
    return f"credentials_{action}_{row_key(need)}"


def provider_label(need: CredentialNeed) -> str:
    """STS keys come from the workload's RAM role, not from a named provider."""
    return need.provider or "workload RAM role"


def open_consent(need: CredentialNeed, consents: Iterable[PendingConsent], now: float) -> PendingConsent | None:
    """The user's still-open consent for this need, if any (only OAuth2 asks for consent)."""
    if need.kind != "oauth2":
        return None
    return next((c for c in consents if c.provider == need.provider and c.scopes == need.scopes
                 and c.status_at(now) == "pending"), None)


def credential_status(credential: Credential | None, consent: PendingConsent | None, error: str,
                      now: float) -> str:
    """A usable credential wins; then an open consent; then the last failure; then expiry."""
    if credential is not None and not credential.is_expired(now):
        return CONNECTED
    if consent is not None:
        return CONSENT_PENDING
    if error:
        return ERROR
    return EXPIRED if credential is not None else NOT_CONNECTED


def build_rows(needs: Sequence[CredentialNeed], peek: Peek, consents: Sequence[PendingConsent],
               errors: Mapping[str, str], now: float) -> list[CredentialRow]:
    """One row per need, from the cache (peeked, never fetched) and the user's consents."""
    rows = []
    for need in needs:
        credential, consent, error = peek(need), open_consent(need, consents, now), errors.get(row_key(need), "")
        rows.append(CredentialRow(need, credential_status(credential, consent, error, now), credential, consent,
                                  error))
    return rows


# -- text ------------------------------------------------------------------------------------------------
def countdown(seconds: float) -> str:
    """`1h 02m 03s`, `4m 05s`, `6s`."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def utc_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def expiry_text(expires_at: float | None, now: float) -> str:
    """When something expires, relative and absolute."""
    if expires_at is None:
        return NO_VALUE
    if now >= expires_at:
        return f"expired {countdown(now - expires_at)} ago"
    return f"in {countdown(expires_at - now)} ({utc_time(expires_at)})"


def preview(credential: Credential | None) -> str:
    """A masked preview: the fingerprint only, never any part of the value."""
    return credential.fingerprint if credential is not None else NO_VALUE


def status_label(status: str) -> str:
    return f"{_ICONS.get(status, '•')} {status}"


def _scopes(scopes: Sequence[str]) -> str:
    return " ".join(scopes) or NO_VALUE


def row_caption(row: CredentialRow) -> str:
    """The line beside a row's buttons; a failed row says why (its message is Markdown-safe already)."""
    line = f"**{markdown_text(provider_label(row.need))}** · {kind_label(row.need.kind)} · {status_label(row.status)}"
    return f"{line}: {row.error}" if row.status == ERROR else line


def connected_as(credential: Credential | None, me: Sequence[str] = ()) -> str:
    """The provider account an OAuth2 token acts for: "you" when it is the signed-in user's own (`me`: their
    subject and login name), the account otherwise, so a consent given with another account stands out."""
    account = getattr(credential, "account", "") if credential is not None else ""
    if not account:
        return NO_VALUE
    return f"you ({account})" if account in me else account


def credential_table(rows: Sequence[CredentialRow], now: float, me: Sequence[str] = ()) -> pd.DataFrame:
    """The table of outbound credentials; every cell is text, and no cell holds a secret."""
    records = [{
        "Provider": provider_label(row.need), "Kind": kind_label(row.need.kind),
        "Status": status_label(row.status), "Connected as": connected_as(row.credential, me),
        "Scopes": _scopes(row.need.scopes),
        "Expires": expiry_text(row.credential.expires_at if row.credential else None, now),
        "Preview": preview(row.credential), "Used by": ", ".join(row.need.tools) or NO_VALUE,
    } for row in rows]
    return pd.DataFrame(records, columns=list(COLUMNS))


# -- identities --------------------------------------------------------------------------------------------
def decode_unverified(token: str) -> dict[str, Any]:
    """A JWT's claims for display only (the broker and the service verify it); {} when it is not a JWT."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


def _claim_value(name: str, value: Any) -> str:
    if name in _TIME_CLAIMS and isinstance(value, int | float):
        return f"{utc_time(float(value))} ({int(value)})"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def claims_table(claims: Mapping[str, Any]) -> pd.DataFrame:
    """Claims as text rows, registered claims first."""
    names = [n for n in _CLAIM_ORDER if n in claims] + sorted(n for n in claims if n not in _CLAIM_ORDER)
    return pd.DataFrame([{"Claim": n, "Value": _claim_value(n, claims[n])} for n in names],
                        columns=list(CLAIM_COLUMNS))


def inbound_claims(user: SignedInUser) -> dict[str, Any]:
    """The verified ID token's claims; the essentials when the sign-in kept none."""
    return dict(user.claims) or {"iss": user.issuer, "sub": user.subject, "name": user.name,
                                 "exp": user.expires_at}


def workload_claims(token: WorkloadAccessToken | None) -> dict[str, Any]:
    """The workload access token's claims, decoded for display; the token itself stays in the cache."""
    return decode_unverified(token.value) if token is not None else {}


def sign_in_caption(name: str, subject: str, expires_at: float, now: float) -> str:
    """Who the agent acts for and how long that sign-in lasts."""
    who = f"**{markdown_text(name)}** ({code_span(subject)})"
    if now >= expires_at:
        return f"{who}: the sign-in has expired; sign in again."
    return f"{who}: the ID token expires {expiry_text(expires_at, now)}."


def workload_caption(workload: str, credential: Credential | None, now: float) -> str:
    """The workload identity and whether its access token for this user is cached."""
    name = f"Workload identity **{markdown_text(workload)}**"
    if credential is None:
        return f"{name}: no access token yet; the broker exchanges your ID token for one on the first credential call."
    expires = expiry_text(credential.expires_at, now)
    return f"{name}: access token {code_span(credential.fingerprint)}, expires {expires}."


# -- consents ---------------------------------------------------------------------------------------------
def pending_consents(consents: Iterable[PendingConsent], now: float) -> list[PendingConsent]:
    """The consents still waiting for the user, the newest per provider and scopes (a Refresh supersedes)."""
    newest: dict[tuple[str, tuple[str, ...]], PendingConsent] = {}
    for consent in consents:
        current = newest.get((consent.provider, consent.scopes))
        if consent.status_at(now) == "pending" and (current is None or consent.created_at > current.created_at):
            newest[(consent.provider, consent.scopes)] = consent
    return sorted(newest.values(), key=lambda c: -c.created_at)


def consent_caption(consent: PendingConsent, now: float) -> str:
    return (f"**{markdown_text(consent.provider)}** asks for {code_span(_scopes(consent.scopes))}: "
            f"{countdown(consent.seconds_left(now))} left to authorize.")


def _base_path(callback_prefix_path: str) -> str:
    """The public base's path: the callback prefix without its `/oauth2/callback/` tail."""
    path = callback_prefix_path.rstrip("/")
    return path[: -len(_CALLBACK_PATH)] if path.endswith(_CALLBACK_PATH) else path


def _origin(scheme: str, host: str | None, port: int | None) -> tuple[str, str, int | None]:
    return scheme.lower(), (host or "").lower(), port if port is not None else _DEFAULT_PORTS.get(scheme.lower())


def is_trusted_authorization_url(url: object, target: CloudTarget) -> bool:
    """Only the identity service's own `/oauth2/authorize` on its public origin may become a button."""
    if not isinstance(url, str) or any(ord(ch) <= 0x20 or ch in "\\\x7f" for ch in url):
        return False  # urlsplit silently drops tabs and newlines, and browsers read `\` as `/`
    expected, parts = urlsplit(target.data_callback_prefix), urlsplit(url)
    if parts.scheme.lower() not in _DEFAULT_PORTS or "@" in parts.netloc or parts.fragment:
        return False
    try:
        origin = _origin(parts.scheme, parts.hostname, parts.port)
        trusted = _origin(expected.scheme, expected.hostname, expected.port)
    except ValueError:  # a malformed port
        return False
    return bool(origin[1]) and origin == trusted and parts.path == _base_path(expected.path) + _AUTHORIZE_PATH


# -- activity ---------------------------------------------------------------------------------------------
def activity_table(entries: Sequence[Activity]) -> pd.DataFrame:
    """The broker's log for this user, in the order given (newest first)."""
    records = [{"Time": utc_time(a.at), "Action": a.action, "Provider": a.provider or NO_VALUE,
                "Outcome": a.outcome, "Latency (ms)": float(a.latency_ms), "Detail": a.detail}
               for a in entries]
    return pd.DataFrame(records, columns=list(ACTIVITY_COLUMNS))
