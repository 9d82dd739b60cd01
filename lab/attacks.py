"""The attack lab: attacks on the credential flows, tried for real against the local cloud; each must be blocked.

Each run has its own broker (a fresh `CredentialBroker` on the app's clients): the consents it starts, the
credentials it caches and the activity it logs are its own, so the signed-in user's stay exactly as they were.
Where an attack needs a second person, the other demo user signs in for real through the local cloud's pages
and holds a login session of the app's own store for the run; it is deleted afterwards. Returns to the app go
through the app's real consent return route (in process); calls to Agent Identity and OSS go through the
official clients over HTTP. No Streamlit here: the page renders what `run_scenario` returns.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from html import unescape
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

import anyio
import httpx
import oss2
from alibabacloud_agentidentitydata20251127 import models as data
from starlette.applications import Starlette

from agent.events import ToolFinished
from identity.broker import ConsentRequired, CredentialBroker, PendingConsent, StsCredentials
from identity.broker.routes import CONSENT_RETURN_PATH, authorize_link, consent_routes
from identity.errors import CloudError, IdentityError
from identity.signin import SESSION_COOKIE, request_user
from identity.users import SignedInUser
from lab.browser import Browser, query_of
from lab.demo_users import DEMO_PASSWORD, demo_sign_in, public_base
from tools import ToolContext, ToolError, read_oss_object
from tools.services import MCP_SCOPES
from ui.chat_view import safe_markdown, tool_details
from ui.credentials_view import is_trusted_authorization_url

if TYPE_CHECKING:  # only for annotations: the lab itself never touches Streamlit
    from ui.runtime import AppRuntime

__all__ = ["SCENARIOS", "Scenario", "ScenarioResult", "lab_unavailable", "look_alike_links", "other_demo_user",
           "redated_token", "run_scenario"]

CLOUD_NOTE = ("The attack lab runs only on the local cloud: it signs the demo users in with the demo password and "
              "tries real attacks, which must never be aimed at an Alibaba Cloud account.")
NO_LOCAL_URL = "The attack lab needs to reach the local cloud's pages, and this app does not know its address."
FOREIGN_BUCKET = "someone-elses-bucket"
# A scope set no tool asks for: a consent the lab completes for the other user never connects one of their tools.
LAB_SCOPES = ("openid",)
_TITLE = re.compile(r"<h1>(.*?)</h1>", re.S)
_OSS_CODE = re.compile(r"OSS refused: (\S+)")
_LINK_SYNTAX = re.compile(r"(?<!\\)\]\s*[(\[]|(?<!\\)<[A-Za-z][A-Za-z0-9+.-]*:")  # [text](url), [text][ref], <url>
_BARE_URL = re.compile(r"(?i)https?://|www\.")
_ESCAPE = re.compile(r"\\(.)")


@dataclass(frozen=True)
class ScenarioResult:
    """What one scenario expected, what actually happened, and whether the attack was blocked."""

    key: str
    name: str
    expected: str
    actual: str
    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class _Outcome:
    actual: str
    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class _Person:
    """The other demo user: verified, with a browser of their own and an app login session for the run."""

    username: str
    user: SignedInUser
    browser: Browser
    session_id: str
    app_cookies: httpx.Cookies = field(default_factory=httpx.Cookies)  # what the app's routes set in this browser


@dataclass(frozen=True)
class _AppAnswer:
    status: int
    title: str


def other_demo_user(user: SignedInUser) -> str:
    """The demo user who plays the other person: bob, unless bob is the one signed in."""
    return "alice" if user.claims.get("preferred_username") == "bob" else "bob"


def lab_unavailable(runtime: AppRuntime) -> str | None:
    """Why the lab cannot run here, or None."""
    if not runtime.settings.is_local:
        return CLOUD_NOTE
    if runtime.target.local is None and not runtime.settings.localcloud_url:
        return NO_LOCAL_URL
    return None


@dataclass
class _Lab:
    """One run: the app's clients and session store, the signed-in user, and a broker of the run's own."""

    runtime: AppRuntime
    user: SignedInUser
    broker: CredentialBroker = field(init=False)
    _people: list[_Person] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.broker = CredentialBroker(self.runtime.clients, self.runtime.settings, self.runtime.broker.clock)

    @property
    def return_url(self) -> str:
        return self.runtime.settings.consent_return_url

    def other(self) -> _Person:
        """The other demo user, signed in for real (once per run)."""
        if not self._people:
            runtime, username = self.runtime, other_demo_user(self.user)
            local = runtime.target.local
            internal = local.url if local is not None else runtime.settings.localcloud_url or ""
            browser = Browser(public_base(runtime.target), internal)
            try:
                user = demo_sign_in(browser, runtime.target, runtime.settings, username, self.broker.clock)
            except BaseException:
                browser.close()
                raise
            self._people.append(_Person(username, user, browser, runtime.sessions.create(user, self.broker.clock())))
        return self._people[0]

    def start_consent(self, user: SignedInUser, scopes: tuple[str, ...] = MCP_SCOPES) -> PendingConsent:
        """A fresh consent of `user` for the MCP provider (ForceAuthentication: even if one is held already)."""
        provider = self.runtime.settings.mcp_oauth_provider_name
        try:
            self.broker.oauth2_token(user, provider, scopes, force=True)
        except ConsentRequired as needed:
            return needed.consent
        raise IdentityError("Agent Identity handed out a token without asking for consent.")

    def consent_status(self, consent: PendingConsent) -> str:
        found = self.broker.consents.get(consent.state)
        return found.status_at(self.broker.clock()) if found is not None else "gone"

    def _visit_app(self, url: str, person: _Person) -> httpx.Response:
        """`person`'s browser loads `url` at the app: the real consent routes, in process, with its cookies."""
        runtime = self.runtime
        routes = consent_routes(lambda request: request_user(runtime.sessions, request, self.broker.clock()),
                                lambda: self.broker, lambda: runtime.settings.app_url)

        async def visit() -> httpx.Response:
            transport = httpx.ASGITransport(app=Starlette(routes=routes))
            async with httpx.AsyncClient(transport=transport, base_url="http://app.invalid",
                                         cookies=person.app_cookies) as http:
                http.cookies.set(SESSION_COOKIE, person.session_id, domain="app.invalid")
                answer = await http.get(url)
                person.app_cookies.update(http.cookies)
                return answer

        return anyio.run(visit)

    def authorize_in_app(self, consent: PendingConsent, person: _Person) -> str:
        """`person` presses Authorize in the app: the consent is bound to their browser; the provider's URL."""
        answer = self._visit_app(authorize_link("", consent.state), person)
        if not answer.is_redirect:
            raise IdentityError(f"The app refused to start the consent ({answer.status_code}).")
        return answer.headers["location"]

    def return_to_app(self, landed: str, person: _Person) -> _AppAnswer:
        """`person`'s browser loads the consent return URL at the app."""
        response = self._visit_app(f"{CONSENT_RETURN_PATH}?{urlsplit(landed).query}", person)
        found = _TITLE.search(response.text)
        return _AppAnswer(response.status_code, unescape(found.group(1)) if found else "")

    def refusals(self, user: SignedInUser) -> list[str]:
        """The refusals the run's broker logged for `user` (oldest first)."""
        return [a.detail for a in reversed(self.broker.log.of(user.key)) if a.outcome == "refused"]

    def close(self) -> None:
        for person in self._people:
            self.runtime.sessions.delete(person.session_id)
            person.browser.close()
            self.broker.forget_user(person.user)
        self.broker.forget_user(self.user)


@contextmanager
def _lab(runtime: AppRuntime, user: SignedInUser) -> Iterator[_Lab]:
    lab = _Lab(runtime, user)
    try:
        yield lab
    finally:
        lab.close()


# -- the scenarios ---------------------------------------------------------------------------------------------
def _forwarded_consent_link(lab: _Lab) -> _Outcome:
    consent = lab.start_consent(lab.user)
    other = lab.other()
    landed = other.browser.sign_in_and_decide(consent.authorization_url, other.username, DEMO_PASSWORD, "approve",
                                              lab.return_url)
    answer = lab.return_to_app(landed, other)
    status = lab.consent_status(consent)
    actual = f"the app answered HTTP {answer.status} “{answer.title}”; your consent is now {status}"
    return _Outcome(actual, answer.status == 403 and status == "declined", _logged(lab.refusals(lab.user)))


def _logged(refusals: list[str]) -> str:
    return "Refusals in the activity log: " + "; ".join(refusals) if refusals else ""


def _with_state(url: str, state: str) -> str:
    parts = urlsplit(url)
    query = {name: value for name, value in query_of(url).items() if name != "state"}
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode({**query, 'state': state})}"


def _replayed_state(lab: _Lab) -> _Outcome:
    other = lab.other()
    consent = lab.start_consent(other.user, LAB_SCOPES)
    landed = other.browser.sign_in_and_decide(lab.authorize_in_app(consent, other), other.username, DEMO_PASSWORD,
                                              "approve", lab.return_url)
    first, replay = lab.return_to_app(landed, other), lab.return_to_app(landed, other)
    forged = lab.return_to_app(_with_state(landed, secrets.token_urlsafe(24)), other)
    completed = sum(1 for a in lab.broker.log.of(other.user.key)
                    if a.action == "CompleteResourceTokenAuth" and a.outcome == "ok")
    actual = (f"first return HTTP {first.status}; the replay HTTP {replay.status} “{replay.title}”; a made-up state "
              f"HTTP {forged.status} “{forged.title}”; CompleteResourceTokenAuth ran {completed}×")
    passed = first.status == 200 and replay.status == 409 and forged.status == 404 and completed == 1
    return _Outcome(actual, passed, _logged(lab.refusals(other.user)))


def _complete_at_data_plane(lab: _Lab, session_uri: str, user: SignedInUser) -> str:
    """CompleteResourceTokenAuth straight at the data plane, for `user`: "accepted" or the refusal's code."""
    identifier = data.CompleteResourceTokenAuthRequestUserIdentifier(user_jwt=user.id_token)
    request = data.CompleteResourceTokenAuthRequest(session_uri=session_uri, user_identifier=identifier)
    try:
        lab.runtime.clients.data().complete_resource_token_auth(request)
    except CloudError as error:
        return error.code
    return "accepted"


def _foreign_session_uri(lab: _Lab) -> _Outcome:
    yours = lab.start_consent(lab.user)
    other = lab.other()
    own = lab.start_consent(other.user)
    mixed = f"{lab.return_url}?{urlencode({'session_uri': yours.session_uri, 'state': own.state})}"
    answer = lab.return_to_app(mixed, other)
    code = _complete_at_data_plane(lab, yours.session_uri, other.user)
    status = lab.consent_status(yours)
    actual = (f"the app answered HTTP {answer.status} “{answer.title}”; the data plane answered {code}; your consent "
              f"is still {status}")
    passed = answer.status == 400 and code == "Forbidden.SessionUserMismatch" and status == "pending"
    return _Outcome(actual, passed, _logged(lab.refusals(other.user)))


def _b64(data_bytes: bytes) -> str:
    return base64.urlsafe_b64encode(data_bytes).rstrip(b"=").decode()


def redated_token(token: str, expires_at: float) -> str:
    """The JWT with its `exp` moved to `expires_at`, header and signature untouched (so it no longer verifies)."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["exp"] = int(expires_at)
    return ".".join((header, _b64(json.dumps(claims, separators=(",", ":")).encode()), signature))


def _refusal_code(call: Callable[[], object]) -> str:
    try:
        call()
    except CloudError as error:
        return error.code
    return "accepted"


def _expired_workload_token(lab: _Lab) -> _Outcome:
    genuine = lab.broker.workload_token(lab.user)
    sts = lab.broker.sts_credentials(lab.user)  # the unchanged token works: the control
    stale = redated_token(genuine.value, lab.broker.clock() - 3600)
    clients = lab.runtime.clients
    assume = _refusal_code(lambda: clients.data().assume_role_for_workload_identity(
        data.AssumeRoleForWorkloadIdentityRequest(workload_access_token=stale, role_session_name="attack-lab",
                                                  duration_seconds=900)))
    api_key = _refusal_code(lambda: clients.data((sts.access_key_id, sts.access_key_secret, sts.security_token))
                            .get_resource_apikey(data.GetResourceAPIKeyRequest(
                                resource_credential_provider_name=lab.runtime.settings.api_key_provider_name,
                                workload_access_token=stale)))
    actual = f"AssumeRoleForWorkloadIdentity: {assume}; GetResourceAPIKey: {api_key}"
    detail = (f"The same token unchanged ({genuine.fingerprint}) was accepted: STS keys {sts.fingerprint} were "
              "issued for it.")
    passed = all(code.startswith("InvalidWorkloadAccessToken") for code in (assume, api_key))
    return _Outcome(actual, passed, detail)


def _oss_refusal(call: Callable[[], object]) -> str:
    """What OSS answered: its error code, or "allowed"."""
    try:
        call()
    except ToolError as error:  # the tool's own wording: "OSS refused: <code> <message>"
        found = _OSS_CODE.search(str(error))
        return found.group(1) if found else str(error)
    except oss2.exceptions.OssError as error:
        return str(error.code)
    return "allowed"


def _sts_outside_the_policy(lab: _Lab) -> _Outcome:
    sts: StsCredentials = lab.broker.sts_credentials(lab.user)
    settings, endpoints = lab.runtime.settings, dict(lab.runtime.target.services)
    foreign = ToolContext(sts, replace(settings, oss_bucket=FOREIGN_BUCKET), endpoints)
    read = _oss_refusal(lambda: read_oss_object.function(foreign, key="secret.txt"))
    bucket = oss2.Bucket(oss2.StsAuth(sts.access_key_id, sts.access_key_secret, sts.security_token),
                         endpoints.get("oss_endpoint", ""), settings.oss_bucket, connect_timeout=10)
    write = _oss_refusal(lambda: bucket.put_object("attack-lab/should-not-exist.txt", b"written by the attack lab"))
    actual = f"reading {FOREIGN_BUCKET}/secret.txt: {read}; writing into {settings.oss_bucket}: {write}"
    return _Outcome(actual, read == write == "AccessDenied", f"STS keys {sts.fingerprint} of the workload's RAM role")


def look_alike_links(genuine: str) -> list[tuple[str, str]]:
    """Links made to pass for the identity service's authorize link, each with what makes it a fake."""
    parts = urlsplit(genuine)
    host, netloc, rest = parts.hostname or "", parts.netloc, f"{parts.path}?{parts.query}"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    suffix = f":{parts.port}" if parts.port else ""
    return [
        ("another host", f"{parts.scheme}://agent-identity-login.example{rest}"),
        ("the real host as a subdomain", f"{parts.scheme}://{host}.evil.example{suffix}{rest}"),
        ("the real host as a user name", f"{parts.scheme}://{netloc}@evil.example{rest}"),
        ("a backslash before the real host", f"{parts.scheme}://evil.example\\@{netloc}{rest}"),
        ("another port", f"{parts.scheme}://{host}:{port + 1}{rest}"),
        ("a similar path", f"{parts.scheme}://{netloc}{parts.path}-confirm?{parts.query}"),
        ("plain http", f"http://{netloc}{rest}" if parts.scheme == "https" else f"https://{netloc}{rest}"),
        ("a script link", f"javascript:alert(document.cookie)//{rest}"),
    ]


def _live_link(markdown: str) -> bool:
    """Whether Streamlit's Markdown would make a link of this: link syntax, or (escapes resolved, as GFM does
    before it looks for them) a bare `http(s)://` or `www.`."""
    return bool(_LINK_SYNTAX.search(markdown) or _BARE_URL.search(_ESCAPE.sub(r"\1", markdown)))


def _look_alike_link(lab: _Lab) -> _Outcome:
    genuine, target = lab.start_consent(lab.user).authorization_url, lab.runtime.target
    fakes = look_alike_links(genuine)
    buttons = [label for label, url in fakes if is_trusted_authorization_url(url, target)]
    # Where a tool result reaches the page: its card, and the model's answer repeating it (even as a link).
    live = [label for label, url in fakes if _live_link(tool_details(ToolFinished(
        "c", "read_oss_object", True, "sts", "", 1.0, f"Re-authorize here: {url}")))
        or _live_link(safe_markdown(f"[Authorize]({url}) or {url}"))]
    real = is_trusted_authorization_url(genuine, target)
    actual = (f"{len(buttons)} of {len(fakes)} look-alikes would get an Authorize button and {len(live)} would be a "
              f"link in the tool card or the answer; the real link {'gets' if real else 'does NOT get'} its button")
    detail = "Let through: " + ", ".join(dict.fromkeys(buttons + live)) if buttons or live else ""
    return _Outcome(actual, real and not buttons and not live, detail)


@dataclass(frozen=True)
class Scenario:
    key: str
    name: str
    attempt: str     # what is tried, in a sentence
    expected: str
    run: Callable[[_Lab], _Outcome] = field(repr=False)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("forwarded_consent", "A consent link forwarded to another user",
             "You start a consent; the other demo user opens your Authorize link, signs in and approves, and their "
             "browser returns to the app.",
             "Refused with HTTP 403 (started by another user); your consent ends (declined), so no later return "
             "completes it.", _forwarded_consent_link),
    Scenario("replayed_state", "A replayed consent return",
             "The other demo user completes a consent of their own (a scope set no tool uses), then the same return "
             "URL is sent again, and once with a made-up state.",
             "The replay is refused with 409 and the made-up state with 404; the consent completes only once.",
             _replayed_state),
    Scenario("foreign_session", "Another user's session_uri",
             "The other demo user returns with their own state but your consent's session_uri, then calls "
             "CompleteResourceTokenAuth for your session directly at the data plane.",
             "The app refuses with 400; the data plane answers Forbidden.SessionUserMismatch; your consent stays "
             "pending.", _foreign_session_uri),
    Scenario("expired_workload_token", "An expired workload access token",
             "A real workload access token of yours, re-dated to have expired an hour ago (the app cannot wait an "
             "hour for one to expire), is presented to AssumeRoleForWorkloadIdentity and GetResourceAPIKey. "
             "Changing its exp breaks localcloud's RS256 signature.",
             "Both refused with InvalidWorkloadAccessToken (.Expired for a token that expired untouched).",
             _expired_workload_token),
    Scenario("sts_outside_policy", "STS keys used outside the role policy",
             f"The role's STS keys read from the bucket {FOREIGN_BUCKET} (through the agent's own OSS tool) and write "
             "into the demo bucket; the role's policy only allows reading the demo bucket.",
             "OSS answers AccessDenied to both.", _sts_outside_the_policy),
    Scenario("look_alike_link", "A look-alike authorize link in a tool result",
             "A tool result carries links made to look like Agent Identity's authorize link (another host, the real "
             "host as a subdomain or user name, another port, a similar path, …), and the model repeats them as "
             "[Authorize](…) links; a real authorize link is the control.",
             "None becomes an Authorize button, or a link in the tool card or the answer; the real link does get "
             "its button.", _look_alike_link),
)
_BY_KEY = {scenario.key: scenario for scenario in SCENARIOS}


def run_scenario(key: str, runtime: AppRuntime, user: SignedInUser) -> ScenarioResult:
    """Run one scenario for the signed-in user; a scenario that cannot run is a failed result, never a raise."""
    scenario = _BY_KEY[key]
    reason = lab_unavailable(runtime)
    if reason is not None:
        return ScenarioResult(key, scenario.name, scenario.expected, f"not run: {reason}", False)
    try:
        with _lab(runtime, user) as lab:
            outcome = scenario.run(lab)
    except (IdentityError, httpx.HTTPError, oss2.exceptions.OssError) as error:
        outcome = _Outcome(f"could not run: {error}", False)
    except Exception as error:  # the page shows a result for every press, never a traceback
        outcome = _Outcome(f"could not run: unexpected {type(error).__name__}", False)
    return ScenarioResult(key, scenario.name, scenario.expected, outcome.actual, outcome.passed, outcome.detail)
