"""The Credentials page's view model, pure: rows and statuses, fingerprints only, and which links may be buttons."""

from __future__ import annotations

import dataclasses

import jwt
import pandas as pd
import pytest

from identity.broker import ApiKey, CredentialNeed, NotProvisioned, OAuth2Token, PendingConsent, StsCredentials
from identity.broker.activity import Activity
from identity.cloud import CloudTarget
from identity.errors import CloudError
from ui import credentials_view as view

NOW = 1_750_000_000.0
ALICE = ("https://issuer.example/oauth/aliyun", "alice-sub")
MCP = CredentialNeed("oauth2", "mcp-provider", ("openid", "/acs/mcp-server"), tools=("Alibaba Cloud MCP",))
DING = CredentialNeed("oauth2", "ding-provider", ("openid", "corpid"), tools=("DingTalk documents",))
KEY = CredentialNeed("api_key", "key-provider", tools=("weather_search",))
STS = CredentialNeed("sts", "", tools=("get_schedule", "get_oss_object"))
NEEDS = [MCP, DING, KEY, STS]
SECRETS = ("oauth-access-token-VALUE", "api-key-VALUE", "sts-secret-VALUE", "sts-security-token-VALUE",
           "STS.AK-VALUE")


def _target(callback_prefix: str) -> CloudTarget:
    return CloudTarget(mode="local", region="cn-beijing", protocol="http", control_endpoint="x", data_endpoint="x",
                       ims_endpoint="x", ram_endpoint="x", sts_endpoint="x", oauth_discovery_url="x",
                       data_callback_prefix=callback_prefix)


def _consent(need: CredentialNeed, *, expires_at: float = NOW + 600, status: str = "pending") -> PendingConsent:
    return PendingConsent("state-1", ALICE, need.provider, need.scopes, "http://127.0.0.1:1/oauth2/authorize?x",
                          "urn:session:1", NOW - 10, expires_at, status)


def _cached() -> dict[str, object]:
    return {
        view.row_key(MCP): OAuth2Token(NOW + 3600, MCP.provider, MCP.scopes, "oauth-access-token-VALUE"),
        view.row_key(KEY): ApiKey(NOW - 5, KEY.provider, "api-key-VALUE"),
        view.row_key(STS): StsCredentials(NOW + 900, "STS.AK-VALUE", "sts-secret-VALUE", "sts-security-token-VALUE"),
    }


def _rows(cached: dict, consents=(), errors=None) -> list[view.CredentialRow]:
    return view.build_rows(NEEDS, lambda need: cached.get(view.row_key(need)), list(consents), errors or {}, NOW)


def _cells(frame: pd.DataFrame) -> str:
    return "\n".join(str(cell) for cell in [*frame.columns, *frame.to_numpy().ravel()])


def test_rows_say_connected_expired_and_not_connected_from_the_cache():
    rows = _rows(_cached())
    assert [row.status for row in rows] == [view.CONNECTED, view.NOT_CONNECTED, view.EXPIRED, view.CONNECTED]
    table = view.credential_table(rows, NOW)
    assert list(table.columns) == list(view.COLUMNS)
    assert list(table["Provider"]) == ["mcp-provider", "ding-provider", "key-provider", "workload RAM role"]
    assert list(table["Kind"]) == ["OAuth2", "OAuth2", "API key", "STS"]
    assert list(table["Status"]) == ["🟢 connected", "⚪ not connected", "🟠 expired", "🟢 connected"]
    assert list(table["Scopes"]) == ["openid /acs/mcp-server", "openid corpid", "—", "—"]
    assert table["Expires"][0].startswith("in 1h 00m 00s (") and table["Expires"][2] == "expired 5s ago"
    assert table["Expires"][1] == "—"
    assert table["Used by"][3] == "get_schedule, get_oss_object"


def test_the_table_shows_fingerprints_and_never_a_credential_value():
    cached = _cached()
    table = view.credential_table(_rows(cached), NOW)
    assert list(table["Preview"]) == [cached[view.row_key(MCP)].fingerprint, "—",
                                      cached[view.row_key(KEY)].fingerprint, cached[view.row_key(STS)].fingerprint]
    assert all(cell.startswith("sha256:") for cell in table["Preview"] if cell != "—")
    text = _cells(table)
    for secret in SECRETS:
        assert secret not in text and secret[:8] not in text


def test_an_open_consent_makes_the_row_pending_until_a_token_is_cached():
    rows = _rows({}, [_consent(MCP)])
    assert rows[0].status == view.CONSENT_PENDING and rows[0].consent is not None
    assert rows[1].status == view.NOT_CONNECTED  # another provider's consent is not this row's
    assert _rows(_cached(), [_consent(MCP)])[0].status == view.CONNECTED


@pytest.mark.parametrize("consent", [_consent(MCP, expires_at=NOW - 1), _consent(MCP, status="completed")])
def test_expired_or_settled_consents_are_not_pending(consent):
    assert _rows({}, [consent])[0].status == view.NOT_CONNECTED
    assert view.pending_consents([consent], NOW) == []


def test_a_consent_for_other_scopes_is_listed_but_not_this_rows():
    consent = _consent(dataclasses.replace(MCP, scopes=("openid",)))
    assert _rows({}, [consent])[0].status == view.NOT_CONNECTED
    assert view.pending_consents([consent], NOW) == [consent]


def test_only_the_newest_open_consent_per_provider_and_scopes_is_listed():
    older, newer = _consent(MCP), dataclasses.replace(_consent(MCP), state="state-2", created_at=NOW - 1)
    other = dataclasses.replace(_consent(DING), state="state-3", created_at=NOW - 30)
    assert view.pending_consents([older, other, newer], NOW) == [newer, other]


def test_a_failed_action_marks_the_row_as_error_until_it_succeeds():
    state = view.CredentialsState(owner=ALICE)
    state.failed(KEY, CloudError("NoPermission", "not allowed on key-provider"))
    rows = _rows({}, errors=state.errors)
    assert rows[2].status == view.ERROR and "NoPermission" in rows[2].error
    assert state.result == view.ActionResult("error", "`NoPermission`: not allowed on key\\-provider")
    state.succeeded(KEY, view.disconnected_result(KEY))
    assert _rows({}, errors=state.errors)[2].status == view.NOT_CONNECTED


def test_state_of_another_user_is_not_reused():
    state = view.CredentialsState(owner=ALICE)
    state.failed(KEY, CloudError("NoPermission", "no"))
    assert state.for_user(ALICE) is state
    fresh = state.for_user(("https://issuer.example/oauth/aliyun", "bob-sub"))
    assert fresh.errors == {} and fresh.result is None


def test_not_provisioned_asks_for_setup():
    result = view.error_result(NotProvisioned("open Setup"))
    assert result.needs_setup and result.level == "error" and result.message == "open Setup"
    assert not view.error_result(CloudError("Throttling", "slow down")).needs_setup


def test_outside_text_is_shown_literally_in_markdown():
    result = view.error_result(CloudError("Bad`Code", "see [this](https://evil.example) **now**"))
    assert result.message == "`Bad'Code`: see \\[this\\]\\(https\\:\u2060//evil\\.example\\) \\*\\*now\\*\\*"
    caption = view.sign_in_caption("[Alice](https://evil.example)", "sub`x", NOW + 60, NOW)
    assert caption.startswith("**\\[Alice\\]\\(https\\:\u2060//evil\\.example\\)** (`sub'x`)")
    assert "](" not in view.consent_caption(dataclasses.replace(_consent(MCP), provider="[x](y)"), NOW)


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (6.9, "6s"), (245, "4m 05s"), (3723, "1h 02m 03s"),
                                               (-5, "0s")])
def test_countdown(seconds, text):
    assert view.countdown(seconds) == text


def test_expiry_text_and_captions():
    assert view.expiry_text(NOW + 90, NOW) == "in 1m 30s (2025-06-15 15:08:10 UTC)"
    assert view.expiry_text(NOW - 90, NOW) == "expired 1m 30s ago"
    assert "expires in 1m 30s" in view.sign_in_caption("Alice Chen", "alice-sub", NOW + 90, NOW)
    assert "has expired" in view.sign_in_caption("Alice Chen", "alice-sub", NOW - 1, NOW)
    assert "no access token yet" in view.workload_caption("wl", None, NOW)
    assert "9m 59s left" in view.consent_caption(_consent(MCP, expires_at=NOW + 599.5), NOW)


def test_claims_are_decoded_for_display_without_the_token():
    token = jwt.encode({"iss": "https://issuer", "sub": "alice-sub", "aud": ["app-1", "app-2"], "exp": int(NOW),
                        "custom": {"b": 1}, "name": "Alice"}, "k" * 32, algorithm="HS256")
    claims = view.decode_unverified(token)
    table = view.claims_table(claims)
    assert list(table.columns) == list(view.CLAIM_COLUMNS)
    assert list(table["Claim"]) == ["iss", "sub", "aud", "name", "exp", "custom"]
    values = dict(zip(table["Claim"], table["Value"], strict=True))
    assert values["aud"] == "app-1, app-2" and values["exp"] == f"2025-06-15 15:06:40 UTC ({int(NOW)})"
    assert values["custom"] == '{"b": 1}'
    assert token not in _cells(table) and token.split(".")[2] not in _cells(table)
    assert view.decode_unverified("opaque-token") == {}


def test_activity_table_keeps_the_logs_order_and_columns():
    entries = [Activity(NOW, ALICE, "GetResourceAPIKey", "key-provider", "ok", 12.34),
               Activity(NOW - 60, ALICE, "GetWorkloadAccessTokenForJWT", "", "NoPermission", 3.0, "denied")]
    table = view.activity_table(entries)
    assert list(table.columns) == list(view.ACTIVITY_COLUMNS)
    assert list(table["Action"]) == ["GetResourceAPIKey", "GetWorkloadAccessTokenForJWT"]
    assert list(table["Provider"]) == ["key-provider", "—"]
    assert list(table["Latency (ms)"]) == [12.34, 3.0] and table["Detail"][1] == "denied"
    assert table["Time"][0] == "2025-06-15 15:06:40 UTC"
    assert view.activity_table([]).empty


LOCAL = _target("http://127.0.0.1:5123/oauth2/callback/")
PREFIXED = _target("http://localhost:8501/lc/oauth2/callback/")
CLOUD = _target("https://agentidentitydata.cn-beijing.aliyuncs.com/oauth2/callback/")


@pytest.mark.parametrize(("url", "target"), [
    ("http://127.0.0.1:5123/oauth2/authorize?request_uri=urn%3Aabc", LOCAL),
    ("HTTP://127.0.0.1:5123/oauth2/authorize?request_uri=x", LOCAL),
    ("http://localhost:8501/lc/oauth2/authorize?request_uri=x", PREFIXED),
    ("https://agentidentitydata.cn-beijing.aliyuncs.com/oauth2/authorize?request_uri=x", CLOUD),
    ("https://agentidentitydata.cn-beijing.aliyuncs.com:443/oauth2/authorize?request_uri=x", CLOUD),
])
def test_the_services_own_authorize_url_is_trusted(url, target):
    assert view.is_trusted_authorization_url(url, target)


@pytest.mark.parametrize(("url", "target"), [
    ("http://evil.example:5123/oauth2/authorize?request_uri=x", LOCAL),                # other host
    ("http://127.0.0.2:5123/oauth2/authorize", LOCAL),
    ("http://127.0.0.1:5124/oauth2/authorize", LOCAL),                                 # other port
    ("http://127.0.0.1/oauth2/authorize", LOCAL),
    ("https://127.0.0.1:5123/oauth2/authorize", LOCAL),                                # https vs http
    ("http://agentidentitydata.cn-beijing.aliyuncs.com/oauth2/authorize", CLOUD),      # http vs https
    ("https://agentidentitydata.cn-beijing.aliyuncs.com:8443/oauth2/authorize", CLOUD),
    ("http://127.0.0.1:5123@evil.example/oauth2/authorize", LOCAL),                    # userinfo tricks
    ("http://user@127.0.0.1:5123/oauth2/authorize", LOCAL),
    ("http://evil.example#@127.0.0.1:5123/oauth2/authorize", LOCAL),
    ("http://127.0.0.1:5123\\@evil.example/oauth2/authorize", LOCAL),
    ("https://agentidentitydata.cn-beijing.aliyuncs.com.evil.example/oauth2/authorize", CLOUD),  # look-alikes
    ("https://evil-agentidentitydata.cn-beijing.aliyuncs.com/oauth2/authorize", CLOUD),
    ("http://127.0.0.1:5123/oauth2/callback/x", LOCAL),                                # other paths
    ("http://127.0.0.1:5123/oauth2/authorize/../../logout", LOCAL),
    ("http://127.0.0.1:5123/oauth2/authorizeX", LOCAL),
    ("http://127.0.0.1:5123//evil.example/oauth2/authorize", LOCAL),
    ("http://127.0.0.1:5123/oauth2/authorize", PREFIXED),
    ("http://localhost:8501/oauth2/authorize", PREFIXED),                              # prefix missing
    ("http://localhost:8501/lc/oauth/aliyun/authorize", PREFIXED),
    ("javascript:alert(document.cookie)", LOCAL),                                      # other schemes
    ("JavaScript://127.0.0.1:5123/oauth2/authorize", LOCAL),
    ("java\nscript:alert(1)//127.0.0.1:5123/oauth2/authorize", LOCAL),
    ("data:text/html,<script>alert(1)</script>", LOCAL),
    ("//127.0.0.1:5123/oauth2/authorize", LOCAL),
    ("/oauth2/authorize", LOCAL),
    ("http://127.0.0.1:5123/oauth2/authorize\n", LOCAL),
    ("http://127.0.0.1:99999/oauth2/authorize", LOCAL),                                # malformed port
    ("http://127.0.0.1:5123/oauth2/authorize#frag", LOCAL),
    ("", LOCAL),
    (None, LOCAL),
])
def test_look_alike_and_foreign_urls_are_not_trusted(url, target):
    assert not view.is_trusted_authorization_url(url, target)


def _jwt(claims: dict[str, str]) -> str:
    return jwt.encode(claims, "k" * 32, algorithm="HS256")


def test_connected_as_names_the_provider_account_and_says_you_when_it_is_yours():
    mine = OAuth2Token(NOW + 600, "dingtalk", ("read",), _jwt({"sub": "1234567890123456"}))
    other = OAuth2Token(NOW + 600, "dingtalk", ("read",), _jwt({"sub": "9999", "preferred_username": "bob"}))
    opaque = OAuth2Token(NOW + 600, "dingtalk", ("read",), "an-opaque-token")

    me = ("1234567890123456", "alice")
    assert view.connected_as(mine, me) == "you (1234567890123456)"
    assert view.connected_as(other, me) == "bob"  # a consent given with another account stands out
    assert view.connected_as(opaque, me) == view.connected_as(None, me) == view.NO_VALUE
