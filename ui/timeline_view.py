"""The credential lifetime timeline's view model: one bar per credential the user holds and per pending consent,
from when it was issued to when it expires, drawn as an Altair Gantt chart with now marked. Pure: no Streamlit.

The first bar to end is where a long turn would break: the page names it. Bars carry fingerprints and scopes,
never a value.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import altair as alt
import pandas as pd

from identity.broker.activity import Activity
from identity.broker.consents import PendingConsent
from identity.broker.credentials import ApiKey, Credential, OAuth2Token, StsCredentials, WorkloadAccessToken
from identity.users import SignedInUser
from ui.credentials_view import NO_VALUE, countdown, decode_unverified, expiry_text, utc_time

__all__ = ["CONSENT", "EXPIRED", "LIVE", "PENDING", "TIMELINE_COLUMNS", "Lifetime", "breaking_point", "chart_height",
           "lifetimes", "timeline_chart", "timeline_frame"]

LIVE, EXPIRED, PENDING = "live", "expired", "pending"
ID_TOKEN, WORKLOAD, STS, API_KEY, OAUTH2, CONSENT = (
    "ID token", "Workload access token", "STS credentials", "API key (cache entry)", "OAuth2 token", "Pending consent")
TIMELINE_COLUMNS = ("Credential", "Kind", "Start", "End", "Status", "Scopes", "Expires", "Fingerprint")
# The data-plane call each kind of credential comes from: its latest success is when the credential was issued.
_ISSUED_BY = {WorkloadAccessToken: "GetWorkloadAccessTokenForJWT", StsCredentials: "AssumeRoleForWorkloadIdentity",
              ApiKey: "GetResourceAPIKey", OAuth2Token: "GetResourceOAuth2Token"}
_KINDS = {WorkloadAccessToken: WORKLOAD, StsCredentials: STS, ApiKey: API_KEY, OAuth2Token: OAUTH2}
_NOW_COLOUR = "#c62828"


@dataclass(frozen=True)
class Lifetime:
    """One bar: what it is, when it started and ends, and what the tooltip says."""

    label: str
    kind: str
    start: float
    end: float
    status: str
    scopes: str = ""
    fingerprint: str = ""


def _issued_at(credential: Credential, activity: Sequence[Activity], now: float) -> float:
    """When the credential was issued: its JWT `iat`, else the latest successful call that returns its kind."""
    if isinstance(credential, WorkloadAccessToken):
        iat = decode_unverified(credential.value).get("iat")
        if isinstance(iat, int | float):
            return float(iat)
    provider = getattr(credential, "provider", "")
    times = [a.at for a in activity if a.action == _ISSUED_BY[type(credential)] and a.outcome == "ok"
             and a.provider == provider and a.at <= credential.expires_at]
    return max(times) if times else min(now, credential.expires_at)  # unknown: from now on


def _label(credential: Credential) -> str:
    kind = _KINDS[type(credential)]
    provider = getattr(credential, "provider", "")
    return f"{kind} · {provider}" if provider else kind


def _scopes(credential: Credential) -> str:
    return " ".join(credential.scopes) if isinstance(credential, OAuth2Token) else ""


def _id_token(user: SignedInUser, now: float) -> Lifetime:
    issued = next((float(user.claims[c]) for c in ("iat", "auth_time") if isinstance(user.claims.get(c), int | float)),
                  min(now, user.expires_at))
    return Lifetime(ID_TOKEN, ID_TOKEN, issued, user.expires_at, EXPIRED if user.is_expired(now) else LIVE,
                    str(user.claims.get("scope", "")))


def _unique(rows: list[Lifetime]) -> list[Lifetime]:
    """Two bars with one label (a provider's token for two scope sets) are told apart by their scopes."""
    counts = Counter(row.label for row in rows)
    return [replace(row, label=f"{row.label} ({row.scopes or NO_VALUE})") if counts[row.label] > 1 else row
            for row in rows]


def lifetimes(user: SignedInUser, held: Sequence[Credential], consents: Sequence[PendingConsent],
              activity: Sequence[Activity], now: float) -> list[Lifetime]:
    """The ID token, every credential held (expired ones too, marked), and every consent still pending."""
    rows = [_id_token(user, now)]
    for credential in held:
        rows.append(Lifetime(_label(credential), _KINDS[type(credential)], _issued_at(credential, activity, now),
                             credential.expires_at, EXPIRED if credential.is_expired(now) else LIVE,
                             _scopes(credential), credential.fingerprint))
    rows += [Lifetime(f"{CONSENT} · {c.provider}", CONSENT, c.created_at, c.expires_at, PENDING, " ".join(c.scopes))
             for c in consents if c.status_at(now) == PENDING]
    return _unique(rows)


def breaking_point(rows: Sequence[Lifetime], now: float) -> str:
    """Which live credential expires first, and when: a turn running past it needs a fresh one."""
    live = [row for row in rows if row.status != EXPIRED and row.end > now]
    if not live:
        return "Nothing is live: the next identity call starts afresh."
    first = min(live, key=lambda row: row.end)
    return f"First to expire: {first.label}, {expiry_text(first.end, now)}."


def _moment(seconds: float) -> pd.Timestamp:
    return pd.Timestamp(seconds, unit="s", tz="UTC")


def timeline_frame(rows: Sequence[Lifetime], now: float) -> pd.DataFrame:
    """The bars as a table: times as UTC timestamps, the tooltip's text alongside."""
    records = [{"Credential": row.label, "Kind": row.kind, "Start": _moment(row.start), "End": _moment(row.end),
                "Status": row.status, "Scopes": row.scopes or NO_VALUE,
                "Expires": f"{utc_time(row.end)} ({'in ' + countdown(row.end - now) if row.end > now else 'expired'})",
                "Fingerprint": row.fingerprint or NO_VALUE} for row in rows]
    return pd.DataFrame(records, columns=list(TIMELINE_COLUMNS))


def timeline_chart(frame: pd.DataFrame, now: float) -> alt.LayerChart:
    """A Gantt chart of the frame, a red rule at now; hovering a bar shows its scopes and expiry."""
    bars = alt.Chart(frame).mark_bar(cornerRadius=3, height=16).encode(
        x=alt.X("Start:T", title="UTC", axis=alt.Axis(format="%H:%M")), x2="End:T",
        y=alt.Y("Credential:N", sort=None, title=None, axis=alt.Axis(labelLimit=280)),
        color=alt.Color("Kind:N", legend=alt.Legend(title=None, orient="bottom")),
        opacity=alt.condition(alt.datum.Status == EXPIRED, alt.value(0.35), alt.value(0.9)),
        tooltip=["Credential:N", "Status:N", "Scopes:N", "Expires:N", "Fingerprint:N"])
    moment = pd.DataFrame({"Now": [_moment(now)], "Label": ["now"]})
    rule = alt.Chart(moment).mark_rule(color=_NOW_COLOUR, strokeWidth=2).encode(x="Now:T")
    text = alt.Chart(moment).mark_text(color=_NOW_COLOUR, align="left", dx=4, dy=-6, baseline="bottom").encode(
        x="Now:T", text="Label:N", y=alt.value(0))
    # LayerChart itself rather than alt.layer, which would hoist shared facet encodings into a FacetChart (none here).
    return alt.LayerChart(layer=[bars, rule, text]).properties(height=chart_height(len(frame)))


def chart_height(bars: int) -> int:
    """Pixels for the chart's plot: a row per bar (Streamlit sizes a chart by this, not by the spec alone)."""
    return max(120, 34 * bars)
