"""Bad input to every localcloud surface: malformed, oversized and mistyped → a 4xx in the service's own error shape.

Property-based (hypothesis) and over real HTTP against a real localcloud provisioned like the sample, so the
requests carry valid credentials and reach the handlers: RPC requests are ACS3-signed with the root key (or v2
HMAC-SHA1), the OAuth, MCP, resource-service and DashScope requests carry live tokens and keys. Each answer
must be a 2xx/3xx/4xx, never a 5xx and never a traceback, within an httpx timeout, and a 4xx must be in the
error shape the official client of that service parses. The cases run per surface go to
`test-artifacts/security/fuzz.json`.

Every RPC action is found from the services' action tables and every route from localcloud's own app, so a new
action or route is fuzzed without touching this file.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import json
import re
import socket
import time
import types
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit
from xml.etree import ElementTree

import httpx
import oss2
import pytest
from alibabacloud_agentidentitydata20251127 import models as data
from alibabacloud_ims20190815 import models as ims
from alibabacloud_ims20190815.client import Client as ImsClient
from hypothesis import given
from hypothesis import strategies as st
from starlette.routing import Mount, Route

import localcloud
from lab.browser import Browser, forms, pkce_pair
from localcloud.app import CONTROL_TOKEN_HEADER, build_app
from localcloud.hosts import is_loopback_host
from localcloud.resources import DEMO_DOCUMENT_ID
from localcloud.rpc.service import Service
from localcloud.rpc.signing import rpc_v2_signature, sign_acs3
from localcloud.services import all_services
from localcloud.services.agentidentity.oauth2_providers import VENDORS
from localcloud.store import open_store
from localcloud.urls import LocalUrls
from tests.conftest import tea_config
from tests.localcloud.resource_credentials import (
    DINGTALK_PROVIDER,
    CloudWorld,
    StsKeys,
    api_key,
    dingtalk_user_token,
    inbound_tokens,
    mcp_token,
    start_world,
    sts_keys,
    user_workload_token,
)
from tests.localcloud.sample_setup import INBOUND_REDIRECT, RETURN_URL, data_client, permission_policy, trust_policy
from tests.security.fuzz_support import (
    DEADLINE_SECONDS,
    LARGE_REPR,
    NASTY,
    TIMEOUT,
    BoundedClient,
    Tally,
    fuzz_settings,
    header_safe,
    header_values,
    huge_strings,
    json_documents,
    json_texts,
    mutated,
    no_server_error,
    padded,
    scalars,
    single_field_mutations,
    write_report,
)
from tests.support import served_local_proxy
from tools.signing import sign_schedule_request

pytestmark = pytest.mark.filterwarnings(LARGE_REPR)
TALLY = Tally()
# Codes that mean the request never reached the action: a signed fuzz case must get past them.
AUTH_CODES = {"IncompleteSignature", "SignatureDoesNotMatch", "InvalidAccessKeyId.NotFound", "SignatureNonceUsed",
              "InvalidTimeStamp.Expired", "InvalidTimeStamp.Format"}
# Queries (and OSS keys in paths) stay under this many bytes: uvicorn's HTTP parser refuses a request head over
# 16 KiB before any localcloud code runs (a 400, or a reset connection while a body is still being sent), and
# httpx refuses queries over 64 KiB. Oversized values still reach every handler, in form and JSON bodies.
MAX_QUERY = 8 * 1024
MAX_KEY = 1100  # characters: past OSS's 1023-byte key limit, under the head limit even as 4-byte characters
_LITERAL = re.compile(r'"([A-Z][A-Za-z0-9]*)"')


# -- the world under test --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Credentials:
    """Live credentials of the provisioned world, so fuzzed requests get past authentication."""

    id_token: str
    inbound: dict[str, str]  # alice's token response at the inbound app: access, refresh and ID token
    user_wat: str
    app_wat: str
    session_uri: str
    app_secret_id: str
    app_secret: str
    api_key: str
    sts: StsKeys
    mcp_token: str
    dingtalk_token: str
    alice_sub: str


@pytest.fixture(scope="module")
def cloud_world(tmp_path_factory: pytest.TempPathFactory) -> CloudWorld:
    """A localcloud of this module's own (fuzzing leaves junk resources behind), provisioned like the sample."""
    return start_world(tmp_path_factory.mktemp("fuzz-world"))


@pytest.fixture(scope="module")
def creds(cloud_world: CloudWorld) -> Credentials:
    browsers = [Browser(), Browser()]
    try:
        inbound = inbound_tokens(cloud_world, browsers[0], "alice")
        id_token = inbound["id_token"]
        mcp = mcp_token(cloud_world, browsers[0], id_token, "alice")
        dingtalk = dingtalk_user_token(cloud_world, browsers[1], id_token, "alice")
    finally:
        for browser in browsers:
            browser.close()
    client = data_client(cloud_world.cloud)
    user_wat = user_workload_token(cloud_world, "alice")
    app_wat = client.get_workload_access_token(data.GetWorkloadAccessTokenRequest(
        workload_identity_name=cloud_world.sample.workload)).body.workload_access_token
    # A consent session left IN_PROGRESS: ForceAuthentication starts one although the vault holds a token.
    started = client.get_resource_oauth2_token(data.GetResourceOAuth2TokenRequest(
        resource_credential_provider_name=cloud_world.sample.oauth_provider, scopes=["/acs/mcp-server"],
        oauth2_flow="USER_FEDERATION", workload_access_token=user_wat, resource_oauth2_return_url=RETURN_URL,
        force_authentication=True)).body
    secret = ImsClient(tea_config(cloud_world.cloud)).create_app_secret(ims.CreateAppSecretRequest(
        app_id=cloud_world.sample.inbound_app_id)).body.app_secret
    return Credentials(id_token, inbound, user_wat, app_wat, started.session_uri, secret.app_secret_id,
                       secret.app_secret_value, api_key(cloud_world), sts_keys(cloud_world, "alice"), mcp, dingtalk,
                       cloud_world.subjects["alice"])


@pytest.fixture(scope="module", autouse=True)
def fuzz_report(request: pytest.FixtureRequest) -> Iterator[None]:
    """After the module: the cases per surface into test-artifacts/security/fuzz.json, and printed."""
    yield
    for client in _CLIENTS:
        client.close()
    report = write_report("localcloud", TALLY)
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\nlocalcloud fuzz cases: {json.dumps(report['modules']['localcloud'])}")


def json_or_none(response: httpx.Response) -> Any:
    """The JSON body, or None when there is none (so a failed check shows the answer, not a decoding error)."""
    try:
        return response.json()
    except ValueError:
        return None


def credential_header(scheme: str, credential: str) -> bytes:
    """`<scheme> <credential>` as a header value a client can send (junk credentials included)."""
    return header_safe(f"{scheme} {credential}".encode("latin-1"))


_CLIENTS: list[BoundedClient] = []


@contextmanager
def _http() -> Iterator[BoundedClient]:
    """The module's one HTTP client (kept-alive connections make thousands of cases affordable); every answer must
    end within the deadline."""
    if not _CLIENTS:
        _CLIENTS.append(BoundedClient())
    yield _CLIENTS[0]


# -- RPC: every action of every service ------------------------------------------------------------------------
def _names_in(module: types.ModuleType) -> set[str]:
    return set(_LITERAL.findall(inspect.getsource(module)))


def _own_names(handler: Callable[..., Any]) -> list[str]:
    """Parameter names an action may read: PascalCase literals of its module and the localcloud modules it uses."""
    module = inspect.getmodule(handler)
    assert module is not None
    used = {inspect.getmodule(value) for value in vars(module).values()
            if getattr(value, "__module__", "").startswith("localcloud.")}
    names = _names_in(module)
    for other in used - {None, module}:
        names |= _names_in(other)  # type: ignore[arg-type]
    return sorted(names)


def _rank(action: str) -> int:
    """Actions that change or delete the provisioned resources run last, so the others still find them."""
    for rank, verbs in enumerate((("Create",), ("Update", "Attach", "Detach"), ("Delete",)), start=1):
        if action.startswith(verbs):
            return rank
    return 0


ACTIONS: list[tuple[Service, str]] = sorted(((s, a) for s in all_services() for a in s.actions),
                                            key=lambda sa: (_rank(sa[1]), sa[0].version, sa[1]))
POOL = sorted({name for service, action in ACTIONS for name in _own_names(service.actions[action])})


def _valid_values(cloud_world: CloudWorld, creds: Credentials) -> dict[str, list[str]]:
    """For each parameter name, values that are right in this world: the baseline fuzzed values replace."""
    cloud, sample = cloud_world.cloud, cloud_world.sample
    role_arn = f"acs:ram::{cloud.account_id}:role/{sample.role_name.lower()}"
    included = {"IncludedOAuth2ProviderConfig": {"ClientId": sample.mcp_app_id}}
    custom = {"CustomOAuth2ProviderConfig": {"ClientId": "c", "ClientSecret": "s", "OAuth2Discovery": {
        "DiscoveryURL": cloud.urls.discovery("aliyun")}}}
    return {
        "WorkloadIdentityName": [sample.workload], "WorkloadAccessToken": [creds.user_wat, creds.app_wat],
        "UserId": [creds.alice_sub], "UserToken": [creds.id_token],
        "ResourceCredentialProviderName": [sample.oauth_provider, sample.api_key_provider, DINGTALK_PROVIDER],
        "OAuth2CredentialProviderName": [sample.oauth_provider, DINGTALK_PROVIDER],
        "APIKeyCredentialProviderName": [sample.api_key_provider], "IdentityProviderName": [sample.identity_provider],
        "RoleArn": [role_arn], "RoleName": [sample.role_name], "RoleSessionName": ["fuzz-session"],
        "DurationSeconds": ["900", "3600"], "PolicyType": ["Custom", "System"],
        "PolicyName": [f"AgentIdentityPolicy-{sample.workload}"[:128], "AliyunOSSReadOnlyAccess"],
        "PolicyDocument": [permission_policy(cloud.account_id, cloud.region, sample.workload_arn)],
        "AssumeRolePolicyDocument": [trust_policy(cloud.account_id, cloud.region, sample.workload)],
        "Policy": [json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})],
        "AppId": [sample.inbound_app_id, sample.mcp_app_id], "AppSecretId": [creds.app_secret_id],
        "AppName": ["fuzz-app"], "DisplayName": ["Fuzz"], "AppType": ["WebApp", "NativeApp", "ServerApp"],
        "RedirectUris": [INBOUND_REDIRECT], "PredefinedScopes": ["openid;profile"], "RequiredScopes": ["openid"],
        "SessionURI": [creds.session_uri], "ResourceOAuth2ReturnURL": [RETURN_URL],
        "UserIdentifier": [json.dumps({"UserId": creds.alice_sub}), json.dumps({"UserJWT": creds.id_token})],
        "OAuth2Flow": ["USER_FEDERATION", "M2M"], "Scopes": ['["openid"]', '["/acs/mcp-server"]'],
        "CustomState": ["s"], "CustomParameters": ['{"prompt": "consent"}'], "ForceAuthentication": ["False"],
        "CredentialProviderVendor": list(VENDORS), "OAuth2ProviderConfig": [json.dumps(included), json.dumps(custom)],
        "CallbackURL": [f"{cloud.urls.data_plane_callback_prefix()}fuzz"],
        "DiscoveryURL": [cloud.urls.discovery("aliyun")], "AllowedAudience": [json.dumps([sample.inbound_app_id])],
        "AllowedResourceOAuth2ReturnURLs": [json.dumps([RETURN_URL])], "APIKey": ["k-123"],
        "TokenVaultName": ["default"], "MaxResults": ["1", "100"],
        "NextToken": [base64.urlsafe_b64encode(b"offset:1").decode()], "Description": ["fuzz"],
    }


@st.composite
def rpc_parameters(draw: st.DrawFn, own: list[str], valid: dict[str, list[str]]) -> list[tuple[str, str]]:
    """The action's valid parameters, a few dropped, then fuzzed ones appended (a repeated name: the last wins)."""
    baseline = [name for name in own if name in valid]
    dropped = draw(st.sets(st.sampled_from(baseline), max_size=3)) if baseline else set()
    pairs = [(name, draw(st.sampled_from(valid[name]))) for name in baseline if name not in dropped]
    names = st.one_of(st.sampled_from(own or POOL), st.sampled_from(POOL), st.text(max_size=12),
                      st.sampled_from(own or POOL).map(lambda name: f"{name}.1"))

    def values(name: str) -> st.SearchStrategy[str]:
        # A JSON parameter (a provider config, a policy, UserIdentifier) also gets its valid value with a field or
        # two changed, so the junk reaches the nested checks instead of failing json.loads.
        structured = [value for value in valid.get(name, []) if value[:1] in "[{"]
        if not structured:
            return scalars()
        return st.one_of(scalars(), mutated(st.sampled_from(structured).map(json.loads), most=2).map(json.dumps))

    pairs += draw(st.lists(names.flatmap(lambda name: st.tuples(st.just(name), values(name))), min_size=1,
                           max_size=4))
    return pairs


@st.composite
def rpc_bodies(draw: st.DrawFn, pairs: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], bytes, str]:
    """Where the parameters travel (form body, query, both) and odd bodies: (query, body, content type)."""
    form_type = "application/x-www-form-urlencoded"
    how = draw(st.sampled_from(["form", "form", "form", "query", "split", "odd"]))
    if how in ("query", "split") and len(urlencode(pairs)) > MAX_QUERY:
        how = "form"
    if how == "query":
        return pairs, b"", form_type
    if how == "split":
        cut = draw(st.integers(0, len(pairs)))
        return pairs[:cut], urlencode(pairs[cut:]).encode(), form_type
    if how == "odd":
        body = draw(st.one_of(
            st.sampled_from([b"\xff\xfe\x00", b"%zz=%", b"=&&==&", b"a=%ff%fe", b"\x00=\x00", b"&", b"=",
                             b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--x--"]),
            st.binary(max_size=64),
            st.just(json.dumps(dict(pairs)).encode()),
        ))
        content_type = draw(st.sampled_from([form_type, f"{form_type}; charset=utf-16", "application/json",
                                             "text/plain", "multipart/form-data; boundary=x", ""]))
        return [], body, content_type
    return [], urlencode(pairs).encode(), form_type


def _acs3_headers(cloud: localcloud.LocalCloud, service: Service, action: str, query: list[tuple[str, str]],
                  body: bytes, content_type: str, key: StsKeys | None = None) -> dict[str, str]:
    """Headers of an ACS3-HMAC-SHA256 request signed with the root key, or STS `key` (localcloud's own signer)."""
    headers = {"host": cloud.endpoint, "x-acs-action": action, "x-acs-version": service.version,
               "x-acs-date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
               "x-acs-signature-nonce": uuid.uuid4().hex, "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
               "accept": "application/json", "content-type": content_type,
               **({"x-acs-security-token": key.security_token} if key else {})}
    key_id, secret = (key.access_key_id, key.access_key_secret) if key else (cloud.access_key_id,
                                                                            cloud.access_key_secret)
    headers["authorization"] = sign_acs3(key_id, secret, "POST", "/", query, headers, body)
    return headers


def rpc(cloud: localcloud.LocalCloud, action: str, params: dict[str, str],
        key: StsKeys | None = None) -> httpx.Response:
    """One form-encoded RPC call of `action` (of whichever service has it), signed with the root key or `key`."""
    service = next(s for s, a in ACTIONS if a == action)
    body = urlencode(params).encode()
    with _http() as http:
        return http.post(f"{cloud.url}/", content=body, headers=_acs3_headers(
            cloud, service, action, [], body, "application/x-www-form-urlencoded", key))


def _v2_query(cloud: localcloud.LocalCloud, service: Service, action: str, pairs: list[tuple[str, str]],
              key: StsKeys | None = None) -> list[tuple[str, str]]:
    """The query of a v2 (HMAC-SHA1) request whose form body is `pairs`, Signature included."""
    key_id, secret = (key.access_key_id, key.access_key_secret) if key else (cloud.access_key_id,
                                                                            cloud.access_key_secret)
    query = [("Action", action), ("Version", service.version), ("Format", "JSON"), ("AccessKeyId", key_id),
             ("SignatureMethod", "HMAC-SHA1"), ("SignatureVersion", "1.0"), ("SignatureNonce", uuid.uuid4().hex),
             ("Timestamp", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
             *([("SecurityToken", key.security_token)] if key else [])]
    signed = dict(query)
    signed.update(pairs)
    return [*query, ("Signature", rpc_v2_signature(signed, "POST", secret))]


def check_acs_error(response: httpx.Response, *, signed: bool) -> dict[str, Any]:
    """Alibaba Cloud's OpenAPI answer: JSON with RequestId (also in x-acs-request-id); Code and Message on errors."""
    no_server_error(response)
    if response.status_code == 421:  # a non-loopback Host never reaches the front (localcloud/hosts.py)
        assert not is_loopback_host(response.request.headers.get("host", "")), response.text
        return {}
    body = response.json()
    assert isinstance(body, dict) and body.get("RequestId") == response.headers.get("x-acs-request-id"), body
    if response.status_code >= 400:
        assert isinstance(body.get("Code"), str) and body["Code"], body
        assert isinstance(body.get("Message"), str) and body["Message"], body
        if signed:  # the fuzz is only worth something if it got past authentication into the action
            assert body["Code"] not in AUTH_CODES, body
    return body


# -- the RPC front itself: routing and authentication of malformed requests -------------------------------------
_SIGNED_HEADERS = ("host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce",
                   "x-acs-content-sha256", "authorization", "x-acs-security-token", "content-type")
_V2_FIELDS = ("Action", "Version", "AccessKeyId", "SignatureMethod", "SignatureVersion", "SignatureNonce",
              "Timestamp", "Signature", "SecurityToken", "Format")


@st.composite
def front_requests(draw: st.DrawFn, cloud: localcloud.LocalCloud, sts: StsKeys) -> tuple[
        list[tuple[str, str]], dict[str, Any], bytes]:
    """A correctly signed request (ACS3 or v2, root or STS key) with one or two parts changed after signing, or
    one built from scratch with junk envelope fields: (query, headers, body)."""
    service, action = draw(st.sampled_from(ACTIONS))
    body = draw(st.one_of(st.just(b""), st.binary(max_size=100), huge_strings().map(str.encode)))
    key = draw(st.sampled_from([None, sts]))
    style = draw(st.sampled_from(["acs3", "acs3", "v2", "scratch"]))
    query: list[tuple[str, str]] = []
    headers: dict[str, Any] = {}
    chance = draw(st.randoms(use_true_random=False))  # uniform over the parts (hypothesis favours the first)
    if style == "acs3":
        headers = _acs3_headers(cloud, service, action, [], body, "application/x-www-form-urlencoded", key)
        for name in chance.sample(_SIGNED_HEADERS, draw(st.integers(1, 2))):
            headers[name] = draw(header_values())  # tampered after signing (or a header that was never there)
    elif style == "v2":
        pairs = [("RoleName", "x")]
        query = _v2_query(cloud, service, action, pairs, key)
        body = urlencode(pairs).encode()
        changed = {name: draw(scalars(huge=False)) for name in chance.sample(_V2_FIELDS, draw(st.integers(1, 2)))}
        query = [(name, changed.pop(name, value)) for name, value in query] + list(changed.items())
        headers = {"content-type": "application/x-www-form-urlencoded"}
    else:
        for name in draw(st.lists(st.sampled_from(_SIGNED_HEADERS), max_size=5, unique=True)):
            headers[name] = draw(header_values())
        query = draw(st.lists(st.tuples(st.sampled_from(_V2_FIELDS), scalars(huge=False)), max_size=5))
    return fit_query(query), headers, body


# What each part of a signed request is replaced by in the sweep below: nothing, non-ASCII text (Latin-1 and
# UTF-8 bytes), a huge value, and the shape of a real one with a wrong character.
_TAMPERED = ("", "é" * 64, "日本語", "x" * 8000, "0" * 63 + "g")


def test_rpc_front_refuses_every_part_of_a_signed_request_changed_after_signing(cloud_world: CloudWorld,
                                                                                creds: Credentials) -> None:
    """Each signed header (ACS3) and each signature field (v2), in turn, replaced after signing, for the root key
    and an STS key: an authentication error, never a server error."""
    cloud, service = cloud_world.cloud, next(s for s, a in ACTIONS if a == "GetCallerIdentity")
    with TALLY.timed("rpc-front"), _http() as http:
        for key in (None, creds.sts):
            for name in _SIGNED_HEADERS:
                for value in _TAMPERED:
                    TALLY.count("rpc-front")
                    headers: dict[str, Any] = _acs3_headers(cloud, service, "GetCallerIdentity", [], b"",
                                                            "application/x-www-form-urlencoded", key)
                    headers[name] = value.encode()
                    check_acs_error(http.post(f"{cloud.url}/", headers=headers), signed=False)
            for name in _V2_FIELDS:
                for value in _TAMPERED:
                    TALLY.count("rpc-front")
                    query = [(field, value if field == name else sent)
                             for field, sent in _v2_query(cloud, service, "GetCallerIdentity", [], key)]
                    check_acs_error(http.post(f"{cloud.url}/", params=query), signed=False)


def test_rpc_front_answers_malformed_requests_with_an_alibaba_error(cloud_world: CloudWorld,
                                                                    creds: Credentials) -> None:
    cloud = cloud_world.cloud

    @fuzz_settings(max_examples=60)
    @given(request=front_requests(cloud, creds.sts))
    def run(request: tuple[list[tuple[str, str]], dict[str, Any], bytes]) -> None:
        TALLY.count("rpc-front")
        query, headers, body = request
        with _http() as http:
            response = http.post(f"{cloud.url}/", params=query, content=body, headers=headers)
        check_acs_error(response, signed=False)

    with TALLY.timed("rpc-front"):
        run()


# -- every route localcloud serves, with random methods' worth of junk ----------------------------------------
@dataclass(frozen=True)
class RouteSpec:
    template: str  # Starlette's path, e.g. /oauth/{realm}/token
    methods: tuple[str, ...]


def _route_specs(data_dir: Path) -> list[RouteSpec]:
    """localcloud's routes as its own app lists them (a throwaway store: only the table is read)."""
    store = open_store(data_dir, time.time)
    try:
        urls = LocalUrls("http://127.0.0.1:1", "http://127.0.0.1:1")
        app = build_app(store, time.time, "cn-beijing", lambda: urls)
    finally:
        store.close()
    specs = []
    for route in app.routes:
        if isinstance(route, Route):
            specs.append(RouteSpec(route.path, tuple(sorted(route.methods or {"GET"}))))
        elif isinstance(route, Mount):  # the MCP server: its one endpoint below the mount
            specs.append(RouteSpec(f"{route.path}/mcp", ("DELETE", "GET", "POST")))
    return specs


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> list[RouteSpec]:
    return _route_specs(tmp_path_factory.mktemp("route-table"))


_PARAM = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")
_SEGMENTS: dict[str, list[str]] = {"realm": ["aliyun", "dingtalk"], "bucket": ["agent-identity-demo"],
                                   "documentId": [DEMO_DOCUMENT_ID]}


@st.composite
def raw_paths(draw: st.DrawFn, spec: RouteSpec) -> str:
    """The route's path with each parameter a real value or junk, percent-encoded as a client would."""
    def segment(match: re.Match[str]) -> str:
        value = draw(st.one_of(st.sampled_from(_SEGMENTS.get(match.group(1), ["x"])), st.text(max_size=20),
                               st.sampled_from(["..", ".", "%2e%2e", "a/b", ""])))
        return quote(value, safe="/" if match.group(1) == "key" else "")
    return _PARAM.sub(segment, spec.template)


_HEADER_NAMES = ("authorization", "cookie", "content-type", "accept", "x-acs-dingtalk-access-token", "x-dashscope-sse",
                 "x-acs-date", "x-acs-security-token", "x-oss-date", "x-oss-security-token", "content-md5", "range",
                 "mcp-session-id", "mcp-protocol-version", "origin", "x-localcloud-control-token", "sec-fetch-site")


def random_headers() -> st.SearchStrategy[dict[str, bytes]]:
    return st.dictionaries(st.sampled_from(_HEADER_NAMES), header_values(), max_size=4)


def random_bodies() -> st.SearchStrategy[bytes]:
    return st.one_of(st.just(b""), st.binary(max_size=300), json_texts().map(str.encode),
                     huge_strings().map(str.encode),
                     st.lists(st.tuples(st.text(max_size=10), scalars(huge=False)), max_size=5).map(
                         lambda pairs: urlencode(pairs).encode()))


def random_query() -> st.SearchStrategy[list[tuple[str, str]]]:
    return st.lists(st.tuples(st.one_of(st.sampled_from(["state", "code", "error", "request_id", "ticket", "city",
                                                         "timezone", "date", "prefix", "max-keys", "acl", "uploads",
                                                         "continuation-token", "list-type"]), st.text(max_size=10)),
                              scalars(huge=False)), max_size=4)


def segments(max_size: int) -> st.SearchStrategy[str]:
    """Junk that stays one path segment once decoded (no `/`, not `.` or `..`): else it names another route."""
    return st.text(min_size=1, max_size=max_size).filter(lambda value: "/" not in value and value.strip(".") != "")


def fit_query(pairs: list[tuple[str, str]], budget: int = MAX_QUERY) -> list[tuple[str, str]]:
    """Query parameters cut to fit `budget` bytes once encoded (oversized values reach the servers in bodies)."""
    fitted = []
    for name, value in pairs:
        name = name[:256]
        while value and len(urlencode([(name, value)])) > budget:
            value = value[:len(value) // 2]
        budget = max(0, budget - len(urlencode([(name, value)])) - 1)
        fitted.append((name, value))
    return fitted


def send(http: BoundedClient, method: str, base: str, raw_path: str, query: list[tuple[str, str]] | None = None,
         headers: dict[str, Any] | None = None, body: bytes = b"") -> httpx.Response:
    """One request with the path sent exactly as given (httpx would otherwise resolve `..` segments)."""
    target = raw_path.encode("ascii") + (b"?" + urlencode(fit_query(query)).encode() if query else b"")
    url = httpx.URL(base).copy_with(raw_path=target)
    return http.request(method, url, headers=headers, content=body if method not in ("GET", "HEAD") else None)


def test_every_route_answers_random_requests_without_a_server_error(cloud_world: CloudWorld,
                                                                    routes: list[RouteSpec]) -> None:
    """A catch-all for routes with no deep fuzz below (and new ones): junk path, query, headers and body."""
    cloud = cloud_world.cloud
    assert len(routes) >= 20, routes  # RPC, control, OIDC, consent, MCP, services, DashScope, OSS

    @fuzz_settings(max_examples=120)
    @given(request=st.data())
    def run(request: st.DataObject) -> None:
        TALLY.count("routes")
        spec = request.draw(st.sampled_from(routes))
        method = request.draw(st.sampled_from(spec.methods))
        headers = request.draw(random_headers())
        # Never the real control token: /_localcloud/reset would wipe the world under the other tests.
        assert headers.get(CONTROL_TOKEN_HEADER) != cloud.control_token.encode()
        with _http() as http:
            response = send(http, method, cloud.url, request.draw(raw_paths(spec)), request.draw(random_query()),
                            headers, request.draw(random_bodies()))
        no_server_error(response)
        if response.status_code >= 400 and method != "HEAD":
            assert response.content, f"{method} {spec.template}: {response.status_code} with no explanation"

    with TALLY.timed("routes"):
        run()


# -- the sign-in server: /oauth/{realm}/… ----------------------------------------------------------------------
@dataclass(frozen=True)
class SignInWorld:
    """Valid values for every sign-in server parameter, and a browser's cookies with live pending requests."""

    valid: dict[str, list[str]]
    cookies: dict[str, str]


@pytest.fixture(scope="module")
def sign_in_world(cloud_world: CloudWorld, creds: Credentials) -> SignInWorld:
    cloud, sample, browser = cloud_world.cloud, cloud_world.sample, Browser()
    verifier, challenge = pkce_pair()
    query = {"client_id": sample.inbound_app_id, "redirect_uri": INBOUND_REDIRECT, "response_type": "code",
             "scope": "openid profile aliuid", "state": "s", "nonce": "n", "code_challenge": challenge,
             "code_challenge_method": "S256"}
    try:
        login = browser.get(f"{cloud.urls.issuer('aliyun')}/authorize?{urlencode(query)}")
        signed_in = browser.submit(login, {"username": "alice", "password": "demo"})
        # Signed in now: a second authorization goes straight to consent. Both stay pending for the fuzz.
        consent = browser.get(f"{cloud.urls.issuer('aliyun')}/authorize?{urlencode(query)}")
        pending = [form.fields["request_id"] for page in (login, consent) for form in forms(page.text)
                   if "request_id" in form.fields]
        cookies = dict(browser.http.cookies)
    finally:
        browser.close()
    assert signed_in.is_redirect and len(set(pending)) == 2 and cookies, (signed_in.status_code, pending, cookies)
    valid = {**{name: [value] for name, value in query.items()},
             "client_id": [sample.inbound_app_id, sample.mcp_app_id, cloud.dingtalk_client_id],
             "scope": ["openid profile aliuid", "openid", "/acs/mcp-server", "corpid"],
             "prompt": ["login", "none", "consent"], "request_id": sorted(set(pending)), "username": ["alice"],
             "password": ["demo"], "decision": ["approve", "deny"],
             "grant_type": ["authorization_code", "refresh_token", "client_credentials"], "code": ["not-a-code"],
             "code_verifier": [verifier], "refresh_token": [creds.inbound["refresh_token"]],
             "client_secret": [creds.app_secret, cloud.dingtalk_client_secret],
             "token": [creds.inbound["access_token"], creds.inbound["refresh_token"], creds.mcp_token],
             "token_type_hint": ["access_token", "refresh_token"]}
    return SignInWorld(valid, cookies)


@st.composite
def oauth_parameters(draw: st.DrawFn, valid: dict[str, list[str]]) -> list[tuple[str, str]]:
    """Valid fields, some dropped, some replaced by junk; now and then one sent twice (RFC 6749 forbids that)."""
    dropped = draw(st.sets(st.sampled_from(sorted(valid)), max_size=len(valid) // 2))
    params = {name: draw(st.sampled_from(values)) for name, values in valid.items() if name not in dropped}
    params.update(draw(st.dictionaries(st.one_of(st.sampled_from(sorted(valid)), st.text(max_size=10)), scalars(),
                                       min_size=1, max_size=3)))
    pairs = list(params.items())
    if pairs and draw(st.integers(0, 9)) == 0:
        pairs.append(draw(st.sampled_from(pairs)))
    return pairs


def _auth_headers(creds: Credentials, valid: dict[str, list[str]]) -> st.SearchStrategy[dict[str, bytes]]:
    basic = [base64.b64encode(f"{client}:{secret}".encode()) for client in valid["client_id"]
             for secret in valid["client_secret"]]
    good = [b"Bearer " + token.encode() for token in valid["token"]] + [b"Basic " + value for value in basic]
    return st.one_of(st.just({}), st.builds(lambda value: {"authorization": value},
                                            st.one_of(st.sampled_from(good), header_values())))


def check_sign_in_answer(response: httpx.Response, browser_page: bool) -> None:
    """OAuth endpoints answer errors as RFC 6749 JSON; the pages a browser shows answer them as an HTML page."""
    no_server_error(response)
    status, kind = response.status_code, response.headers.get("content-type", "")
    if 300 <= status < 400:
        assert response.headers.get("location"), response.headers
    elif kind.startswith("application/json"):
        body = response.json()
        if status >= 400:
            assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], body
    elif browser_page or status >= 400:
        assert browser_page and kind.startswith("text/html") and "<h1" in response.text, (status, kind,
                                                                                         response.text[:300])


def test_sign_in_server_answers_bad_requests_with_oauth_errors_or_error_pages(cloud_world: CloudWorld,
                                                                              creds: Credentials,
                                                                              routes: list[RouteSpec],
                                                                              sign_in_world: SignInWorld) -> None:
    cloud, valid = cloud_world.cloud, sign_in_world.valid
    endpoints = [(spec.template, method) for spec in routes if spec.template.startswith("/oauth/{realm}")
                 for method in spec.methods if method != "HEAD"]
    assert len(endpoints) >= 10, endpoints

    realms = st.one_of(*(st.just(name) for name in ("aliyun", "aliyun", "aliyun", "dingtalk", "dingtalk")), segments(8))

    @fuzz_settings(max_examples=200)
    @given(endpoint=st.sampled_from(endpoints), realm=realms,
           pairs=oauth_parameters(valid), headers=_auth_headers(creds, valid),
           cookies=st.one_of(st.just(sign_in_world.cookies), st.just({}),
                             st.dictionaries(st.sampled_from(sorted(sign_in_world.cookies)), st.text(
                                 st.characters(codec="ascii", categories=["L", "N"]), max_size=50))),
           body=st.one_of(st.none(), st.none(), st.none(), random_bodies()),
           content_type=st.sampled_from(["application/x-www-form-urlencoded"] * 4 + ["application/json", ""]))
    def run(endpoint: tuple[str, str], realm: str, pairs: list[tuple[str, str]], headers: dict[str, bytes],
            cookies: dict[str, str], body: bytes | None, content_type: str) -> None:
        TALLY.count("oauth")
        template, method = endpoint
        path = template.replace("{realm}", quote(realm, safe=""))
        cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
        headers = {**headers, **({"cookie": cookie} if cookie else {}), "content-type": content_type}
        with _http() as http:
            if method == "GET":
                response = send(http, method, cloud.url, path, pairs, headers)
            else:
                response = send(http, method, cloud.url, path, None, headers,
                                body if body is not None else urlencode(pairs).encode())
        check_sign_in_answer(response, browser_page=template.endswith(("/authorize", "/login", "/consent")))

    with TALLY.timed("oauth"):
        run()


# -- OSS: signed by oss2 itself, and raw requests with junk signatures -------------------------------------------
OSS_BUCKET = "agent-identity-demo"
# Seeded objects are likely: GetObject's response-* overrides (echoed as headers) only apply to a key that exists.
_SEEDED_KEYS = st.sampled_from(["docs/welcome.md", "reports/q3-summary.txt"])
_OSS_KEYS = st.one_of(_SEEDED_KEYS, _SEEDED_KEYS, st.text(min_size=1, max_size=40), huge_strings(),
                      st.sampled_from(["../x", "a//b", "/lead", "trail/", ".", "..", "%2e%2e", "a" * 1100, "\x00",
                                       "😀", "docs/", "a\nb", "?acl", "#frag"]))
# HTTP clients (urllib3, httpx) resolve `.` and `..` segments before sending, so such a key leaves the bucket's
# path: the request is for another route (the catch-all route test sends those).
_OSS_PATH_KEYS = _OSS_KEYS.filter(lambda key: not {".", ".."} & set(key[:MAX_KEY].split("/")))
_OSS_HEADERS = ("Content-Type", "Content-MD5", "x-oss-meta-a", "x-oss-hash-crc64ecma", "Range", "x-oss-object-acl",
                "Cache-Control", "Content-Disposition", "x-oss-storage-class", "If-Match", "x-oss-forbid-overwrite")
_OSS_PARAMS = ("response-content-type", "response-content-disposition", "response-cache-control",
               "response-content-language", "response-expires", "response-content-encoding", "acl", "uploads",
               "objectMeta", "x-oss-process", "versionId", "tagging")


def _oss_headers() -> st.SearchStrategy[dict[str, str]]:
    # requests (under oss2) refuses a value starting with any Unicode whitespace, \x1c-\x1f included.
    return st.dictionaries(st.sampled_from(_OSS_HEADERS), header_values().map(lambda v: v.decode("latin-1").lstrip()),
                           max_size=3)


def check_oss_error(status: int, code: str, request_id: str) -> None:
    """An OSS error oss2 could parse from `<Error><Code>…<RequestId>…`: never a 5xx."""
    assert status < 500, (status, code)
    assert code and request_id, (status, code, request_id)


def test_oss_answers_signed_bad_requests_with_oss_errors(cloud_world: CloudWorld) -> None:
    cloud = cloud_world.cloud
    bucket = oss2.Bucket(oss2.Auth(cloud.access_key_id, cloud.access_key_secret), cloud.url, OSS_BUCKET,
                         connect_timeout=30)

    def get(key: str, headers: dict[str, str], params: dict[str, str]) -> None:
        bucket.get_object(key, headers=headers, params=params).read()

    def head(key: str, headers: dict[str, str], params: dict[str, str]) -> None:
        bucket.head_object(key, headers=headers, params=params)

    def put(key: str, headers: dict[str, str], params: dict[str, str]) -> None:
        bucket.put_object(key, json.dumps(params).encode(), headers=headers)

    @fuzz_settings(max_examples=80)
    @given(operation=st.sampled_from([get, head, put]), key=_OSS_PATH_KEYS, headers=_oss_headers(),
           params=st.dictionaries(st.sampled_from(_OSS_PARAMS), st.one_of(
               scalars(huge=False), st.text(st.characters(codec="latin-1"), max_size=12)), max_size=3))
    def run(operation: Callable[[str, dict[str, str], dict[str, str]], None], key: str, headers: dict[str, str],
            params: dict[str, str]) -> None:
        TALLY.count("oss")
        try:
            operation(key[:MAX_KEY], headers, fit_query_dict(params))
        except oss2.exceptions.OssError as error:
            if isinstance(error, oss2.exceptions.ClientError):  # oss2 refused to send it: nothing to check
                return
            check_oss_error(error.status, error.code, error.request_id)

    @fuzz_settings(max_examples=30)
    @given(prefix=st.one_of(st.text(max_size=20), huge_strings()), delimiter=st.text(max_size=3),
           token=st.one_of(st.text(max_size=20), st.sampled_from(NASTY)), start_after=st.text(max_size=20),
           max_keys=st.one_of(st.integers(), st.sampled_from(["x", "", "1e3", "-1"])),
           encoding=st.sampled_from(["", "url", "URL", "base64"]), fetch_owner=st.booleans())
    def listing(prefix: str, delimiter: str, token: str, start_after: str, max_keys: int | str, encoding: str,
                fetch_owner: bool) -> None:
        TALLY.count("oss")
        try:
            bucket.list_objects_v2(prefix[:MAX_KEY], delimiter, token, start_after, fetch_owner, encoding,
                                   max_keys)  # type: ignore[arg-type]
        except oss2.exceptions.OssError as error:
            if isinstance(error, oss2.exceptions.ClientError):
                return
            check_oss_error(error.status, error.code, error.request_id)

    # GetObject echoes the response-* parameters as headers of the object it returns: a value HTTP forbids in a
    # header must be refused with an error, not break the response.
    printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=12)

    @fuzz_settings(max_examples=30)
    @given(key=_SEEDED_KEYS, params=st.dictionaries(st.sampled_from(_OSS_PARAMS[:6]), st.one_of(
        printable, padded(printable), st.text(st.characters(codec="latin-1"), max_size=12)), min_size=1, max_size=3))
    def overrides(key: str, params: dict[str, str]) -> None:
        TALLY.count("oss")
        try:
            get(key, {}, params)
        except oss2.exceptions.OssError as error:
            check_oss_error(error.status, error.code, error.request_id)

    with TALLY.timed("oss"):
        run()
        listing()
        overrides()


def fit_query_dict(params: dict[str, str]) -> dict[str, str]:
    return dict(fit_query(list(params.items())))


def test_oss_answers_unsigned_and_forged_requests_with_oss_errors(cloud_world: CloudWorld) -> None:
    cloud = cloud_world.cloud
    buckets = st.one_of(st.just(OSS_BUCKET), st.from_regex(r"[a-z0-9][a-z0-9-]{1,20}[a-z0-9]", fullmatch=True).filter(
        lambda name: name not in ("oauth", "oauth2", "mcp", "svc")))

    @fuzz_settings(max_examples=60)
    @given(method=st.sampled_from(["GET", "HEAD", "PUT"]), bucket=buckets, key=_OSS_PATH_KEYS,
           headers=st.dictionaries(st.sampled_from(("authorization", "date", "x-oss-date", "x-oss-security-token",
                                                    "x-oss-content-sha256", "content-md5", "content-type")),
                                   header_values(), max_size=4),
           query=st.lists(st.tuples(st.sampled_from([*_OSS_PARAMS, "list-type", "continuation-token", "max-keys",
                                                     "prefix", "encoding-type"]), scalars(huge=False)), max_size=3),
           body=random_bodies())
    def run(method: str, bucket: str, key: str, headers: dict[str, bytes], query: list[tuple[str, str]],
            body: bytes) -> None:
        TALLY.count("oss")
        with _http() as http:
            path = f"/{bucket}/{quote(key[:MAX_KEY], safe='/')}"
            response = send(http, method, cloud.url, path, query, headers, body)
        no_server_error(response)
        if response.status_code >= 400:
            xml = base64.b64decode(response.headers["x-oss-err"]) if method == "HEAD" else response.content
            error = ElementTree.fromstring(xml)
            check_oss_error(response.status_code, error.findtext("Code") or "", error.findtext("RequestId") or "")

    with TALLY.timed("oss"):
        run()


# -- the MCP server ------------------------------------------------------------------------------------------
_MCP_METHODS = ("initialize", "tools/list", "tools/call", "ping", "resources/list", "prompts/list",
                "notifications/initialized", "logging/setLevel", "completion/complete")
_MCP_TOOLS = ("list_ecs_instances", "describe_ecs_instance", "search_resources", "nope")
_MCP_ARGUMENTS = ("region", "instance_id", "keyword")


@st.composite
def mcp_messages(draw: st.DrawFn) -> bytes:
    """A JSON-RPC message (or batch, or junk) with the fields MCP reads, each possibly missing or mistyped."""
    def message() -> dict[str, Any]:
        arguments = draw(st.dictionaries(st.one_of(st.sampled_from(_MCP_ARGUMENTS), st.text(max_size=6)),
                                         st.one_of(scalars(), json_documents()), max_size=3))
        params = draw(st.one_of(
            st.just({"name": draw(st.one_of(st.sampled_from(_MCP_TOOLS), st.text(max_size=10))),
                     "arguments": arguments}),
            st.just({"protocolVersion": draw(st.sampled_from(["2025-06-18", "2024-11-05", "1999-01-01", ""])),
                     "capabilities": {}, "clientInfo": {"name": "fuzz", "version": "0"}}),
            json_documents()))
        full = {"jsonrpc": draw(st.one_of(st.just("2.0"), json_documents())),
                "id": draw(st.one_of(st.integers(), st.text(max_size=8), st.none(), json_documents())),
                "method": draw(st.one_of(st.sampled_from(_MCP_METHODS), st.text(max_size=12))), "params": params}
        dropped = draw(st.sets(st.sampled_from(sorted(full)), max_size=2))
        return {name: value for name, value in full.items() if name not in dropped}
    kind = draw(st.sampled_from(["one", "one", "one", "batch", "junk"]))
    if kind == "junk":
        return draw(random_bodies())
    document: Any = message() if kind == "one" else [message() for _ in range(draw(st.integers(0, 3)))]
    return json.dumps(document).encode()


def check_mcp_answer(response: httpx.Response) -> None:
    """401/403 carry RFC 6750 JSON and a WWW-Authenticate challenge; other errors a JSON-RPC error or a reason."""
    no_server_error(response)
    seen = (response.status_code, response.headers.get("content-type"), response.text[:300])
    if response.status_code in (401, 403):
        assert response.headers.get("www-authenticate", "").startswith("Bearer"), response.headers
        assert isinstance(json_or_none(response), dict) and isinstance(response.json().get("error"), str), seen
    elif response.status_code in (405, 406) and not response.content:
        # The MCP SDK's HTTP-layer refusals (a method or an Accept it does not serve) may be the status alone, as on
        # every server built on it; an empty 405 names what is allowed.
        assert response.status_code == 406 or response.headers.get("allow"), seen
    elif response.status_code >= 400:
        # Its transport checks (content type, Host) answer in plain text; past them, errors are JSON-RPC objects.
        body = json_or_none(response)
        assert (isinstance(body, dict) and body.get("error")) or (body is None and response.text.strip()), seen


def test_mcp_server_answers_bad_messages_with_json_rpc_or_oauth_errors(cloud_world: CloudWorld,
                                                                       creds: Credentials) -> None:
    cloud = cloud_world.cloud
    tokens = [creds.mcp_token, creds.mcp_token, creds.inbound["access_token"], creds.dingtalk_token]

    @fuzz_settings(max_examples=80)
    @given(method=st.sampled_from(["POST", "POST", "POST", "GET", "DELETE"]), body=mcp_messages(),
           token=st.one_of(st.sampled_from(tokens), header_values().map(lambda v: v.decode("latin-1"))),
           accept=st.sampled_from(["application/json, text/event-stream"] * 3 + ["application/json", "*/*", ""]),
           content_type=st.sampled_from(["application/json"] * 3 + ["text/plain", ""]),
           extra=st.dictionaries(st.sampled_from(["mcp-session-id", "mcp-protocol-version", "last-event-id"]),
                                 header_values(), max_size=2))
    def run(method: str, body: bytes, token: str, accept: str, content_type: str, extra: dict[str, bytes]) -> None:
        TALLY.count("mcp")
        headers = {**extra, "authorization": credential_header("Bearer", token), "accept": accept,
                   "content-type": content_type}
        with _http() as http:
            response = send(http, method, cloud.url, "/mcp/resourcecenter/mcp", None, headers, body)
        check_mcp_answer(response)

    with TALLY.timed("mcp"):
        run()


# -- the resource services: weather, schedule, time, DingTalk documents ------------------------------------------
def check_json_error(response: httpx.Response, keys: tuple[str, ...]) -> None:
    """A 4xx whose JSON body has `keys` (the stood-in service's request id, code and message)."""
    no_server_error(response)
    if response.status_code >= 400:
        body = json_or_none(response)
        assert isinstance(body, dict) and all(isinstance(body.get(key), str) and body[key] for key in keys), \
            (response.status_code, response.text[:300])


ACS_ERROR = ("RequestId", "Code", "Message")
GATEWAY_ERROR = ("requestId", "code", "message")
DINGTALK_ERROR = ("requestid", "code", "message")
DASHSCOPE_ERROR = ("request_id", "code", "message")


def test_resource_services_answer_bad_requests_in_their_services_error_shapes(cloud_world: CloudWorld,
                                                                              creds: Credentials) -> None:
    cloud, services = cloud_world.cloud, cloud_world.cloud.env()["LOCALCLOUD_SERVICES_URL"]
    documents = "/v2.0/doc/me/suites/documents"
    usual = st.sampled_from(["Hangzhou", "UTC", "Asia/Shanghai", "2026-01-02"])
    values = st.one_of(scalars(), st.just(DEMO_DOCUMENT_ID), padded(usual),
                       st.sampled_from(["SF", "2026-02-30", "2026-13-01", "Etc/GMT+12", "../../etc/passwd", "UTC\x00"]))

    def weather(key: str, value: str, body: bytes) -> tuple[httpx.Response, tuple[str, ...]]:
        with _http() as http:
            return http.get(f"{services}/weather", params=fit_query([("city", value)]),
                            headers={"authorization": credential_header("APPCODE", key)}), GATEWAY_ERROR

    def clock(token: str, value: str, body: bytes) -> tuple[httpx.Response, tuple[str, ...]]:
        with _http() as http:
            return http.get(f"{services}/time", params=fit_query([("timezone", value)]),
                            headers={"authorization": credential_header("Bearer", token)}), ACS_ERROR

    def schedule(_: str, value: str, body: bytes) -> tuple[httpx.Response, tuple[str, ...]]:
        url = f"{services}/schedule?{urlencode(fit_query([('date', value)]))}"
        keys = creds.sts
        headers = sign_schedule_request("GET", url, keys.access_key_id, keys.access_key_secret, keys.security_token,
                                        time.time())
        with _http() as http:
            return http.get(url, headers=headers), ACS_ERROR

    def document(token: str, value: str, body: bytes) -> tuple[httpx.Response, tuple[str, ...]]:
        # The id must stay one path segment (else it is another route): junk ids, but no `/` and no dot segment.
        segment = value[:200] if value[:200].strip("./") and "/" not in value[:200] else DEMO_DOCUMENT_ID
        path = f"{documents}/{quote(segment, safe='')}"
        with _http() as http:
            headers = {"x-acs-dingtalk-access-token": credential_header("", token),
                       "content-type": "application/json"}
            if body:
                return http.post(f"{cloud.url}{path}/overwriteContent", content=body, headers=headers), DINGTALK_ERROR
            return http.get(f"{cloud.url}{path}/content", headers=headers), DINGTALK_ERROR

    secrets = {weather: creds.api_key, clock: creds.mcp_token, schedule: "", document: creds.dingtalk_token}
    contents = st.fixed_dictionaries({}, optional={
        "content": st.one_of(st.text(max_size=50), huge_strings(), json_documents()),
        "dataType": st.one_of(st.just("markdown"), scalars(huge=False))}).map(lambda doc: json.dumps(doc).encode())

    @fuzz_settings(max_examples=100)
    @given(service=st.sampled_from(list(secrets)), value=values,
           credential=st.one_of(st.none(), st.none(), header_values().map(lambda v: v.decode("latin-1"))),
           body=st.one_of(st.just(b""), contents, random_bodies()))
    def run(service: Callable[[str, str, bytes], tuple[httpx.Response, tuple[str, ...]]], value: str,
            credential: str | None, body: bytes) -> None:
        TALLY.count("services")
        response, shape = service(secrets[service] if credential is None else credential, value, body)
        check_json_error(response, shape)

    with TALLY.timed("services"):
        run()


# -- the DashScope stand-in -----------------------------------------------------------------------------------
_DASHSCOPE_KEYS = ("model", "input", "messages", "prompt", "role", "content", "parameters", "tools", "type",
                   "function", "name", "description", "arguments", "tool_calls", "tool_call_id", "id", "index",
                   "result_format", "incremental_output", "tool_choice", "parallel_tool_calls", "text")
_PROMPTS = ("What's the weather in Paris?", "What is on my schedule tomorrow?", "What time is it in Tokyo?",
            "Write 'hi' to my DingTalk document", "Read my DingTalk document", "List my ECS instances in cn-hangzhou",
            "Describe instance i-bp1abc", "Search my resources for prod", "Read docs/welcome.md from OSS",
            "List my OSS files under reports/", "Today is 2026-02-30.", "")
# Fields of the tools' results, which the model summarises.
_RESULT_KEYS = ("temperature", "conditions", "summary", "city", "events", "time", "title", "timezone", "utc", "date",
                "Instances", "TotalCount", "Resources", "RegionId", "InstanceId", "objects", "content", "key", "error",
                "success", "result", "docKey")
_ARGUMENTS = ("city", "date", "timezone", "content", "region", "instance_id", "keyword", "key", "prefix")
_TOOL_NAMES = ("weather_search", "get_schedule", "get_current_time", "write_dingtalk_document",
               "read_dingtalk_document", "connect_resource_center", "list_ecs_instances", "describe_ecs_instance",
               "search_resources", "list_oss_objects", "read_oss_object")


@st.composite
def tool_calling_turns(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A valid conversation as the agent sends it: system, user, then maybe the assistant's calls and their results."""
    prompt = st.sampled_from(_PROMPTS)
    arguments = st.dictionaries(st.sampled_from(_ARGUMENTS), st.one_of(st.sampled_from(_PROMPTS), st.text(max_size=8)),
                                max_size=2).map(json.dumps)
    calls = draw(st.lists(st.builds(lambda n, name, args: {"id": f"call_{n}", "type": "function", "index": n,
                                                            "function": {"name": name, "arguments": args}},
                                    st.integers(0, 9), st.sampled_from(_TOOL_NAMES), arguments), max_size=3))
    results = [{"role": "tool", "tool_call_id": call["id"], "name": call["function"]["name"],
                "content": draw(st.one_of(st.sampled_from(_PROMPTS), json_texts(st.sampled_from(_RESULT_KEYS))))}
               for call in calls]
    turn = [{"role": "user", "content": draw(prompt)}]
    if calls:
        turn += [{"role": "assistant", "content": "", "tool_calls": calls}, *results]
    system = [{"role": "system", "content": f"You are Friday. Today is {draw(st.dates())}."}]
    return system + draw(st.lists(st.sampled_from(turn[:1]), max_size=1)) + turn


def generation_requests() -> st.SearchStrategy[Any]:
    """A Generation API body in the SDK's shape, right but for a field or two (any depth), or no such shape at all."""
    # Few tools, shallow: every field of the request is a slot `mutated` may pick, and tools would crowd the rest out.
    tools = st.lists(st.sampled_from(_TOOL_NAMES), unique=True, max_size=3).map(lambda names: [
        {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}} for name in names])
    parameters = st.fixed_dictionaries({"result_format": st.sampled_from(["message", "message", "text"]),
                                        "incremental_output": st.booleans(), "tools": tools,
                                        "tool_choice": st.sampled_from(["auto", "none"]),
                                        "parallel_tool_calls": st.booleans()})
    body = st.fixed_dictionaries({"model": st.sampled_from(["qwen-plus", "qwen-max"]),
                                  "input": st.builds(lambda turn: {"messages": turn}, tool_calling_turns()),
                                  "parameters": parameters})
    junk = json_documents(st.sampled_from(_DASHSCOPE_KEYS))
    return st.one_of(mutated(body, junk, most=1), mutated(body, junk, most=2), mutated(body, junk, most=3), junk)


def test_dashscope_answers_bad_generation_requests_with_its_error_document(cloud_world: CloudWorld) -> None:
    cloud = cloud_world.cloud
    url = f"{cloud.url}/api/v1/services/aigc/text-generation/generation"

    @fuzz_settings(max_examples=80)
    @given(body=st.one_of(generation_requests().map(lambda doc: json.dumps(doc).encode()), random_bodies()),
           key=st.one_of(st.just(cloud.dashscope_api_key), st.just(cloud.dashscope_api_key), header_values().map(
               lambda v: v.decode("latin-1"))),
           stream=st.booleans(), content_type=st.sampled_from(["application/json"] * 3 + ["text/plain", ""]))
    def run(body: bytes, key: str, stream: bool, content_type: str) -> None:
        TALLY.count("dashscope")
        headers = {"authorization": credential_header("Bearer", key), "content-type": content_type,
                   **({"x-dashscope-sse": "enable", "accept": "text/event-stream"} if stream else {})}
        with _http() as http:
            response = http.post(url, content=body, headers=headers)  # reads a stream to its end
        check_json_error(response, DASHSCOPE_ERROR)
        if response.status_code == 200 and stream:
            assert "event:result" in response.text and "event:error" not in response.text, response.text[:500]

    with TALLY.timed("dashscope"):
        run()


# -- RPC, stateful: a stored policy document with a bad field must not break the calls that evaluate it ----------
def _trust_document(account: str) -> dict[str, Any]:
    return {"Version": "1", "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole"],
                                           "Principal": {"RAM": [f"acs:ram::{account}:root"]},
                                           "Condition": {"StringLike": {"acs:SourceIp": ["127.0.0.*", "10.*"]}}}]}


def _permission_document() -> dict[str, Any]:
    return {"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": ["agentidentity:List*", "agentidentity:Get*"], "Resource": ["*"],
         "Condition": {"StringEquals": {"acs:CurrentTime": ["never"]}}},
        {"Effect": "Deny", "Action": "agentidentity:Delete*", "Resource": "*"}]}


def test_policies_with_bad_fields_are_refused_or_stay_usable(cloud_world: CloudWorld) -> None:
    """Role trust policies and permission policies, right but for a field or two: CreateRole/CreatePolicy refuse
    them (MalformedPolicyDocument), or every later call that evaluates them (AssumeRole, a call by the role) answers
    without a server error."""
    cloud, names = cloud_world.cloud, iter(range(10**6))
    trusting = f"fuzz-policy-holder-{uuid.uuid4().hex[:8]}"
    check_acs_error(rpc(cloud, "CreateRole", {"RoleName": trusting, "AssumeRolePolicyDocument": json.dumps(
        {**_trust_document(cloud.account_id), "Statement": [{**_trust_document(cloud.account_id)["Statement"][0],
                                                            "Condition": {}}]})}), signed=True)
    assumed = rpc(cloud, "AssumeRole", {"RoleArn": f"acs:ram::{cloud.account_id}:role/{trusting}",
                                        "RoleSessionName": "fuzz"}).json()["Credentials"]
    holder = StsKeys(assumed["AccessKeyId"], assumed["AccessKeySecret"], assumed["SecurityToken"])

    @fuzz_settings(max_examples=40)
    @given(document=mutated(st.builds(_trust_document, st.just(cloud.account_id)), most=1))
    def trust(document: dict[str, Any]) -> None:
        TALLY.count("rpc-policies")
        name = f"fuzz-trust-{next(names)}"
        created = check_acs_error(rpc(cloud, "CreateRole", {"RoleName": name,
                                                            "AssumeRolePolicyDocument": json.dumps(document)}),
                                  signed=True)
        if "Role" in created:
            check_acs_error(rpc(cloud, "AssumeRole", {"RoleArn": created["Role"]["Arn"], "RoleSessionName": "fz"}),
                            signed=True)

    @fuzz_settings(max_examples=40)
    @given(document=mutated(st.builds(_permission_document), most=1))
    def permission(document: dict[str, Any]) -> None:
        TALLY.count("rpc-policies")
        name = f"fuzz-permission-{next(names)}"
        created = check_acs_error(rpc(cloud, "CreatePolicy", {"PolicyName": name,
                                                              "PolicyDocument": json.dumps(document)}), signed=True)
        if "Policy" not in created:
            return
        attach = {"PolicyType": "Custom", "PolicyName": name, "RoleName": trusting}
        check_acs_error(rpc(cloud, "AttachPolicyToRole", attach), signed=True)
        try:
            for action in ("ListWorkloadIdentities", "DeleteWorkloadIdentity"):  # evaluated: Allow, then Deny
                check_acs_error(rpc(cloud, action, {"WorkloadIdentityName": "fuzz-nothing"}, key=holder),
                                signed=True)
        finally:
            check_acs_error(rpc(cloud, "DetachPolicyFromRole", attach), signed=True)

    with TALLY.timed("rpc-policies"):
        trust()
        permission()


def _full_turn() -> dict[str, Any]:
    """A tool-calling turn as the agent sends it, with every part the model reads: the request the sweep mutates."""
    call = {"id": "call_1", "type": "function", "index": 0,
            "function": {"name": "weather_search", "arguments": json.dumps({"city": "Paris"})}}
    return {"model": "qwen-plus",
            "input": {"messages": [
                {"role": "system", "content": "You are Friday. Today is 2026-01-02."},
                {"role": "user", "content": [{"text": "What's the weather in Paris, and my schedule tomorrow?"}]},
                {"role": "assistant", "content": "", "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "call_1", "name": "weather_search",
                 "content": json.dumps({"city": "Paris", "temperature": 30, "conditions": "sunny"})}]},
            "parameters": {"result_format": "message", "incremental_output": True, "tool_choice": "auto",
                           "parallel_tool_calls": True,
                           "tools": [{"type": "function", "function": {"name": name, "description": "A tool.",
                                                                       "parameters": {"type": "object"}}}
                                     for name in ("weather_search", "get_schedule")]}}


def test_dashscope_survives_every_single_field_type_confusion(cloud_world: CloudWorld) -> None:
    """Each field of a full tool-calling request, in turn, replaced by a value of every other JSON type or removed."""
    cloud = cloud_world.cloud
    url = f"{cloud.url}/api/v1/services/aigc/text-generation/generation"
    headers = {"authorization": f"Bearer {cloud.dashscope_api_key}", "content-type": "application/json"}
    with TALLY.timed("dashscope"), _http() as http:
        for number, (path, body) in enumerate(single_field_mutations(_full_turn())):
            TALLY.count("dashscope")
            stream = {"x-dashscope-sse": "enable"} if number % 2 else {}  # every other one as an SSE stream
            response = http.post(url, json=body, headers={**headers, **stream})
            assert response.status_code < 500, (path, body, response.status_code, response.text[:300])
            check_json_error(response, DASHSCOPE_ERROR)


# -- the data plane's browser routes: /oauth2/authorize and /oauth2/callback/<id> --------------------------------
@pytest.fixture(scope="module")
def consent_links(cloud_world: CloudWorld, creds: Credentials) -> dict[str, list[str]]:
    """Fresh consent sessions: their authorization links (each works once) and the provider `state` of some that
    were opened (each good for one callback), so fuzzed requests reach past the lookups."""
    client, links, states = data_client(cloud_world.cloud), [], []
    for _ in range(4):
        links.append(client.get_resource_oauth2_token(data.GetResourceOAuth2TokenRequest(
            resource_credential_provider_name=cloud_world.sample.oauth_provider, scopes=["/acs/mcp-server"],
            oauth2_flow="USER_FEDERATION", workload_access_token=creds.user_wat,
            resource_oauth2_return_url=RETURN_URL, custom_state="fz", force_authentication=True)).body
                     .authorization_url)
    with _http() as http:
        for link in links[2:]:
            opened = http.get(link)
            assert opened.status_code == 302, opened.text
            states.append(parse_qs(urlsplit(opened.headers["location"]).query)["state"][0])
    callback = next(spec for spec in _route_specs_cached(cloud_world) if spec.template.startswith("/oauth2/callback"))
    return {"request_uri": [parse_qs(urlsplit(link).query)["request_uri"][0] for link in links[:2]],
            "state": states, "callback": [callback.template]}


def _route_specs_cached(cloud_world: CloudWorld) -> list[RouteSpec]:
    return _route_specs(cloud_world.cloud.data_dir.parent / f"routes-{uuid.uuid4().hex[:6]}")


def check_page(response: httpx.Response) -> None:
    """A browser route answers a page that explains (never JSON, never a traceback), or redirects."""
    no_server_error(response)
    if 300 <= response.status_code < 400:
        assert response.headers.get("location"), response.headers
    elif response.status_code >= 400:
        assert response.headers.get("content-type", "").startswith("text/html") and "<h1>" in response.text, \
            (response.status_code, response.text[:300])


def test_consent_routes_answer_bad_links_and_callbacks_with_a_page(cloud_world: CloudWorld, creds: Credentials,
                                                                   consent_links: dict[str, list[str]]) -> None:
    cloud = cloud_world.cloud
    callback_ids = st.one_of(st.just("fuzz"), segments(20))

    @fuzz_settings(max_examples=60)
    @given(route=st.sampled_from(["authorize", "callback", "callback"]), callback_id=callback_ids,
           request_uri=st.one_of(st.sampled_from(consent_links["request_uri"]), scalars(huge=False),
                                 st.just("urn:ietf:params:oauth:request_uri:")),
           state=st.one_of(st.sampled_from(consent_links["state"]), scalars(huge=False)),
           extra=st.lists(st.tuples(st.sampled_from(["code", "error", "error_description", "state", "request_uri"]),
                                    scalars(huge=False)), max_size=3))
    def run(route: str, callback_id: str, request_uri: str, state: str, extra: list[tuple[str, str]]) -> None:
        TALLY.count("consent-routes")
        if route == "authorize":
            path, query = "/oauth2/authorize", [("request_uri", request_uri), *extra]
        else:
            path, query = f"/oauth2/callback/{quote(callback_id, safe='')}", [("state", state), *extra]
        with _http() as http:
            check_page(send(http, "GET", cloud.url, path, query))

    with TALLY.timed("consent-routes"):
        run()


def test_control_routes_refuse_without_the_control_token(cloud_world: CloudWorld) -> None:
    cloud = cloud_world.cloud

    @fuzz_settings(max_examples=20)
    @given(route=st.sampled_from([("POST", "/_localcloud/reset"), ("GET", "/_localcloud/requests")]),
           token=header_values())
    def run(route: tuple[str, str], token: bytes) -> None:
        TALLY.count("control")
        assert token != cloud.control_token.encode()
        with _http() as http:
            response = send(http, route[0], cloud.url, route[1], None, {CONTROL_TOKEN_HEADER: token})
        assert response.status_code == 403 and isinstance(response.json().get("error"), str), response.text

    with TALLY.timed("control"):
        run()


# -- the app's /lc proxy in front of this localcloud, with bytes no HTTP library would send ------------------------
@pytest.fixture(scope="module")
def proxy_port(cloud_world: CloudWorld) -> Iterator[int]:
    """web/local_proxy.py's LocalCloudProxy, mounted at /lc as app.py mounts it, served by uvicorn on 127.0.0.1."""
    with served_local_proxy(lambda: cloud_world.cloud.url) as port:
        yield port


def raw_exchange(port: int, head: bytes, body: bytes) -> tuple[int, bytes]:
    """Send a request byte for byte; (status, body) of the answer, which must end within DEADLINE_SECONDS."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT.read) as conn:
        conn.sendall(head + body)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
            assert time.monotonic() - started < DEADLINE_SECONDS, f"{head[:80]!r}: no end (a hang)"
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 "), answer[:200]
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


_TARGET_BYTES = st.binary(max_size=24).map(lambda raw: raw.translate(None, b" \r\n\x00"))


def test_app_proxy_answers_raw_requests_without_a_server_error(proxy_port: int) -> None:
    """Raw targets (a '#', bytes over 0x7f, broken %-escapes) and header bytes httpx would refuse or re-encode."""
    prefixes = st.sampled_from(["/lc/oauth/aliyun/", "/lc/oauth/dingtalk/login", "/lc/oauth2/authorize",
                                "/lc/oauth2/callback/", "/lc/_localcloud/", "/lc/", "/lc/oauth/../",
                                "/lc/oauth2/%2e%2e/"])
    header_names = st.sampled_from(["user-agent", "accept", "authorization", "cookie", "content-type",
                                    "accept-language", "x-forwarded-for", "transfer-encoding"])

    @fuzz_settings(max_examples=100)
    @given(method=st.sampled_from(["GET", "GET", "POST", "HEAD", "PUT"]), prefix=prefixes, path=_TARGET_BYTES,
           query=st.one_of(st.just(b""), _TARGET_BYTES.map(lambda raw: b"?" + raw),
                           st.sampled_from([b"?#frag", b"?a=%zz", b"?state=%ff%fe", b"?request_uri=urn%3A"])),
           headers=st.lists(st.tuples(header_names, header_values()), max_size=4),
           body=st.one_of(st.just(b""), st.binary(max_size=200), st.just(b"username=alice&password=demo")))
    def run(method: str, prefix: str, path: bytes, query: bytes, headers: list[tuple[str, bytes]], body: bytes) -> None:
        TALLY.count("app-proxy")
        lines = b"".join(name.encode() + b": " + value + b"\r\n" for name, value in headers
                         if name != "transfer-encoding")
        head = (method.encode() + b" " + prefix.encode() + path + query + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + lines + b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n")
        status, answer = raw_exchange(proxy_port, head, body)
        assert status < 500, (status, head[:300], answer[:300])
        assert b"Traceback (most recent call last)" not in answer
        if status >= 400 and method != "HEAD":
            assert answer.strip(), (status, head[:300])

    with TALLY.timed("app-proxy"):
        run()


# -- RPC: every action of every service (last: its Update and Delete cases change the provisioned world) ---------
@pytest.mark.parametrize(("service", "action"), ACTIONS, ids=[f"{s.product}.{a}" for s, a in ACTIONS])
def test_rpc_action_answers_bad_parameters_with_an_alibaba_error(cloud_world: CloudWorld, creds: Credentials,
                                                                 service: Service, action: str) -> None:
    cloud, own, valid = cloud_world.cloud, _own_names(service.actions[action]), _valid_values(cloud_world, creds)

    @fuzz_settings(max_examples=15)
    @given(pairs=rpc_parameters(own, valid), where=st.data(), v2=st.sampled_from([False, False, False, True]))
    def run(pairs: list[tuple[str, str]], where: st.DataObject, v2: bool) -> None:
        TALLY.count("rpc")
        with _http() as http:
            if v2:
                body = urlencode(pairs).encode()
                response = http.post(f"{cloud.url}/", params=_v2_query(cloud, service, action, pairs), content=body,
                                     headers={"content-type": "application/x-www-form-urlencoded"})
            else:
                query, body, content_type = where.draw(rpc_bodies(pairs))
                headers = _acs3_headers(cloud, service, action, query, body, content_type)
                response = http.post(f"{cloud.url}/", params=query, content=body, headers=headers)
        check_acs_error(response, signed=True)

    with TALLY.timed("rpc"):
        run()
