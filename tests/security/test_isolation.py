"""Security case 3, isolation under load: 22 users at once through one process-wide broker, nothing crosses.

A fresh localcloud seeds alice, bob and twenty more demo users (`LOCALCLOUD_DEMO_USERS`). Every user signs in
for real, then, all in parallel on a ThreadPoolExecutor, runs two chat turns through the real agent loop, the
shared CredentialBroker and one shared ChatStore, as the app does: a turn that calls all six tools (API key,
STS for schedule and OSS, OAuth2 for time and DingTalk with consent approved by the user's own scripted
browser, and the MCP server's tools), then a turn that reads their DingTalk document back. While a user's
consent is open, the next user in the ring tries to complete it straight at the data plane with their own ID
token, and once the owner completed it, replays the return at the broker (with the owner's browser binding): both
must be refused. Afterwards every cache entry, OAuth2 token, STS session,
chat row, activity entry and pending consent is checked against its owner; the figures (calls made, crossings
found) go to `test-artifacts/security/isolation.json`.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from alibabacloud_agentidentitydata20251127 import models as data
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi import models as open_api_models

import localcloud
from agent import (
    ChatNotFound,
    ChatStore,
    ConsentNeeded,
    ConsentSettled,
    Event,
    MessageAdded,
    ToolFinished,
    TurnDone,
    recorded,
)
from identity import provision
from identity.broker import ConsentError, CredentialBroker, StsCredentials
from identity.broker.cache import CacheKey
from identity.clients import Clients
from identity.cloud import connect
from identity.errors import CloudError
from identity.signin.sealing import new_secret, secret_hash
from identity.users import SignedInUser
from lab.browser import Browser, query_of
from localcloud.oidc.users import USERS_ENV
from tests.agent.conftest import AgentWorld, app_settings, run, sign_in, turn
from tests.conftest import repo_root
from tools.documents import DINGTALK_SCOPES
from tools.services import MCP_SCOPES

EXTRA_USERS = tuple(f"user{number:02d}" for number in range(1, 21))
USERS = ("alice", "bob", *EXTRA_USERS)  # 22 users; alice and bob have seeded schedules, the others none
WORKERS = len(USERS)                    # every user at once: the broker, cache and store are shared
SUMMARY = repo_root() / "test-artifacts" / "security" / "isolation.json"
# Bounds on every wait (none is a timing assertion): a consent, one user's whole session, a sign-in.
CONSENT_SECONDS = 60.0
SESSION_SECONDS = 240.0
FIRST_TURN = ("What's the weather in Beijing, what's on my schedule today, what time is it in Shanghai, list my ECS "
              "instances, read docs/welcome.md from OSS, and write '{note}' to my DingTalk document")
SECOND_TURN = "Read my DingTalk document"
SIX_TOOLS = {"weather_search", "get_schedule", "get_current_time", "list_ecs_instances", "read_oss_object",
             "write_dingtalk_document"}
SEEDED_EVENTS = {"alice": "Opening meeting", "bob": "Design review"}  # localcloud/resources/schedule.py


@dataclass
class Intrusion:
    """What happened when the next user in the ring tried to finish this user's consent."""

    owner: str
    intruder: str
    provider: str
    app_outcome: str = ""    # what the app's broker did with the intruder's completion ("refused 403" expected)
    cloud_code: str = ""     # the data plane's answer to the intruder's own CompleteResourceTokenAuth


@dataclass
class Session:
    """One simulated user's run: every event of both turns, their chat, their note, the intrusions they suffered."""

    username: str
    note: str
    chat_id: str = ""
    events: list[Event] = field(default_factory=list)
    intrusions: list[Intrusion] = field(default_factory=list)

    def finished(self) -> list[ToolFinished]:
        return [event for event in self.events if isinstance(event, ToolFinished)]

    def tool_results(self, tool: str) -> list[str]:
        """The tool messages this user's turns gave the model for one tool."""
        return [e.message["content"] for e in self.events if isinstance(e, MessageAdded)
                and e.message.get("role") == "tool" and e.message.get("name") == tool]

    def consent_states(self) -> set[str]:
        return {event.state for event in self.events if isinstance(event, ConsentNeeded)}


@dataclass
class Crowd:
    cloud: localcloud.LocalCloud
    world: AgentWorld
    broker: CredentialBroker
    store: ChatStore
    sessions: dict[str, Session] = field(default_factory=dict)
    identity_calls: dict[str, int] = field(default_factory=dict)  # localcloud's request_counts() delta

    def user(self, username: str) -> SignedInUser:
        return self.world.users[username]

    def users(self) -> list[SignedInUser]:
        return [self.user(name) for name in USERS]


# -- the crowd: a fresh localcloud with 22 demo users, provisioned, all signed in -------------------------------
@pytest.fixture(scope="module")
def crowd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crowd]:
    directory = tmp_path_factory.mktemp("isolation")
    with pytest.MonkeyPatch.context() as env:
        # Read when localcloud first seeds its users (at the first sign-in page): set for the whole module.
        env.setenv(USERS_ENV, ",".join(f"{name}:User {name[4:]}" for name in EXTRA_USERS))
        env.delenv("LOCALCLOUD_DEMO_PASSWORD", raising=False)
        cloud = localcloud.start(port=0, data_dir=directory / "lc")
        settings = app_settings(cloud, directory)
        clients = Clients(connect(settings))
        provision.apply(clients, settings)
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:  # the sign-ins run in parallel too
            signed = dict(zip(USERS, pool.map(lambda name: sign_in(cloud, settings, name), USERS,
                                              timeout=SESSION_SECONDS), strict=True))
        world = AgentWorld(cloud, settings, clients.target, clients, signed, directory)
        store = ChatStore.in_directory(directory / ".appstate")
        yield Crowd(cloud, world, CredentialBroker(clients, settings), store)
        store.close()


@pytest.fixture(scope="module")
def loaded(crowd: Crowd) -> Crowd:
    """Every user's two turns, all at once; the identity calls they cost, counted by localcloud."""
    before = crowd.cloud.request_counts()
    with ThreadPoolExecutor(max_workers=WORKERS) as users, ThreadPoolExecutor(max_workers=WORKERS) as browsers:
        futures = {name: users.submit(_session, crowd, browsers, name) for name in USERS}
        crowd.sessions = {name: future.result(timeout=SESSION_SECONDS) for name, future in futures.items()}
    after = crowd.cloud.request_counts()
    crowd.identity_calls = {action: after[action] - before.get(action, 0) for action in sorted(after)
                            if after[action] != before.get(action, 0)}
    return crowd


def _session(crowd: Crowd, browsers: ThreadPoolExecutor, username: str) -> Session:
    """One user: a chat, the six-tool turn (consents approved by their own browser), then a read-back turn."""
    user, session = crowd.user(username), Session(username, f"note of {username} {uuid.uuid4().hex}")
    session.chat_id = crowd.store.create_chat(user.key, f"{username}'s chat").id
    approvals: list[Future[Intrusion]] = []

    def approve(event: ConsentNeeded) -> Future[Intrusion]:
        approvals.append(browsers.submit(_approve_under_attack, crowd, username, event))
        return approvals[-1]

    for text in (FIRST_TURN.format(note=session.note), SECOND_TURN):
        history = crowd.store.history(user.key, session.chat_id)
        events, _ = run(recorded(crowd.store, user.key, session.chat_id, turn(
            crowd.world, crowd.broker, text, history, user=username, consent_timeout=CONSENT_SECONDS)), approve)
        session.events += events
    session.intrusions = [future.result(timeout=CONSENT_SECONDS) for future in approvals]
    return session


def _approve_under_attack(crowd: Crowd, owner: str, consent: ConsentNeeded) -> Intrusion:
    """The owner presses Authorize (binding the consent to their browser) and approves at the provider; before the
    owner's return reaches the app, the next user tries to complete it straight at the data plane; then the owner
    completes it, and the next user replays the return at the app's broker. (An attempt at the app while the
    consent is open would end it for good, which the consent-binding tests prove; here the owner's turn goes on.)"""
    cookie_hash = secret_hash(new_secret())
    authorization_url = crowd.broker.authorize_consent(crowd.user(owner), consent.state, cookie_hash).authorization_url
    browser = Browser()
    try:
        landed = browser.sign_in_and_decide(browser.get(authorization_url), owner, "demo", "approve",
                                            crowd.world.settings.consent_return_url)
    finally:
        browser.close()
    back = query_of(landed)
    intruder = USERS[(USERS.index(owner) + 1) % len(USERS)]
    intrusion = Intrusion(owner, intruder, consent.provider)
    intrusion.cloud_code = _complete_at_the_cloud(crowd, back["session_uri"], crowd.user(intruder))
    crowd.broker.complete_consent(crowd.user(owner), back["state"], back["session_uri"], cookie_hash)
    try:
        crowd.broker.complete_consent(crowd.user(intruder), back["state"], back["session_uri"], cookie_hash)
        intrusion.app_outcome = "completed"
    except ConsentError as refused:
        intrusion.app_outcome = f"refused {refused.status}"
    except CloudError as error:  # the broker let it through and only the data plane stopped it
        intrusion.app_outcome = f"sent to the cloud: {error.code}"
    return intrusion


def _complete_at_the_cloud(crowd: Crowd, session_uri: str, as_user: SignedInUser) -> str:
    """CompleteResourceTokenAuth for this session with another user's own valid ID token: the error code."""
    identifier = data.CompleteResourceTokenAuthRequestUserIdentifier(user_jwt=as_user.id_token)
    try:
        crowd.world.clients.data().complete_resource_token_auth(
            data.CompleteResourceTokenAuthRequest(session_uri=session_uri, user_identifier=identifier))
    except CloudError as error:
        return error.code
    return "completed"


# -- the checks: each returns the crossings it found, as readable lines -----------------------------------------
def _claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def _sts_session_name(crowd: Crowd, sts: StsCredentials) -> str:
    """The role session the STS keys act as, asked of STS itself with those keys (GetCallerIdentity)."""
    config = open_api_models.Config(access_key_id=sts.access_key_id, access_key_secret=sts.access_key_secret,
                                    security_token=sts.security_token, endpoint=crowd.cloud.endpoint, protocol="http",
                                    region_id=crowd.cloud.region, read_timeout=10000, connect_timeout=5000)
    return str(StsClient(config).get_caller_identity().body.arn).rsplit("/", 1)[-1]


def _credential_subject(crowd: Crowd, key: CacheKey, credential: Any) -> str:
    """Whom a cached credential acts for, read from the credential itself (not from the cache key)."""
    if key.kind == "workload":
        return str(_claims(credential.value)["uid"])
    if key.kind == "oauth2":
        return str(_claims(credential.value)["sub"])
    if key.kind == "sts":
        return _sts_session_name(crowd, credential).removeprefix("agent-")
    return ""  # an API key is the provider's, the same for every user: nothing to tell apart


def credential_crossings(crowd: Crowd) -> list[str]:
    """Every cache entry acts for the user it is cached under, every user has their own, and no two share one."""
    subjects = {user.key: user.subject for user in crowd.users()}
    entries = dict(crowd.broker.cache._entries)  # a snapshot of the whole process-wide cache, all users' entries
    found = [f"{key.kind}/{key.provider} cached for {subjects.get(key.user)} acts for {subject}"
             for key, credential in entries.items()
             if (subject := _credential_subject(crowd, key, credential)) and subject != subjects.get(key.user)]
    settings, workload = crowd.world.settings, crowd.broker.workload()
    expected = [("workload", "", ()), ("sts", "", ()), ("api_key", settings.api_key_provider_name, ()),
                ("oauth2", settings.mcp_oauth_provider_name, MCP_SCOPES),
                ("oauth2", settings.dingtalk_oauth_provider_name, DINGTALK_SCOPES)]
    found += [f"{user.name} has no cached {kind}/{provider}" for user in crowd.users()
              for kind, provider, scopes in expected
              if crowd.broker.cache.peek(CacheKey(user.key, workload, kind, provider, scopes)) is None]
    values = Counter(_secret_of(credential) for key, credential in entries.items() if key.kind != "api_key")
    found += [f"one {kind} value is held by {count} cache entries" for (kind, _), count in values.items() if count > 1]
    return found


def _secret_of(credential: Any) -> tuple[str, str]:
    return type(credential).__name__, getattr(credential, "value", "") or getattr(credential, "security_token", "")


def tool_crossings(crowd: Crowd) -> list[str]:
    """Every user made all six tool calls, all ok; the services answered for that user only."""
    found: list[str] = []
    for name, session in crowd.sessions.items():
        user, calls = crowd.user(name), Counter(f.tool for f in session.finished())
        failed = [f.tool for f in session.finished() if not f.ok]
        missing = SIX_TOOLS - set(calls)
        found += [f"{name}: {tool} failed" for tool in failed] + [f"{name}: never called {t}" for t in missing]
        for result in session.tool_results("get_schedule"):
            schedule = json.loads(result)
            titles = {event["title"] for event in schedule["events"]}
            if schedule["user_id"] != user.subject or (name in SEEDED_EVENTS) != bool(titles):
                found.append(f"{name}'s schedule answered for {schedule['user_id']}: {sorted(titles)}")
            if name in SEEDED_EVENTS and SEEDED_EVENTS[name] not in titles:
                found.append(f"{name}'s schedule lacks their own {SEEDED_EVENTS[name]!r}")
        read_back = session.tool_results("read_dingtalk_document")
        if not read_back or session.note not in read_back[-1]:
            found.append(f"{name}'s DingTalk document does not hold their note")
        found += [f"{name}'s DingTalk document holds {other}'s note" for text in read_back
                  for other, theirs in crowd.sessions.items() if other != name and theirs.note in text]
    return found


def _chat_rows(store: ChatStore) -> list[tuple[str, str, str, str]]:
    """Every entry row of the chat file, read straight from SQLite: (chat id, issuer, subject, body)."""
    db = sqlite3.connect(f"file:{store.database.path}?mode=ro", uri=True)
    try:
        return db.execute("SELECT chat_id, issuer, subject, body FROM chat_entries").fetchall()
    finally:
        db.close()


def chat_crossings(crowd: Crowd) -> list[str]:
    """Each user sees exactly their own chat holding their own note; no row of the file mixes owners; another
    user's key opens nothing."""
    found: list[str] = []
    owner_of = {session.chat_id: crowd.user(name).key for name, session in crowd.sessions.items()}
    notes = {crowd.user(name).key: session.note for name, session in crowd.sessions.items()}
    for name, session in crowd.sessions.items():
        user = crowd.user(name)
        if [chat.id for chat in crowd.store.list_chats(user.key)] != [session.chat_id]:
            found.append(f"{name}'s chat list is not exactly their own chat")
        if not any(session.note in json.dumps(m) for m in crowd.store.messages(user.key, session.chat_id)):
            found.append(f"{name}'s chat lacks their note")
        intruder = crowd.user(USERS[(USERS.index(name) + 1) % len(USERS)])
        try:
            crowd.store.entries(intruder.key, session.chat_id)
            found.append(f"{intruder.name} opened {name}'s chat")
        except ChatNotFound:
            pass
    for chat_id, issuer, subject, body in _chat_rows(crowd.store):
        if owner_of.get(chat_id) != (issuer, subject):
            found.append(f"a row of chat {chat_id} is owned by {subject}, not the chat's owner")
        found += [f"a row of {subject}'s chat holds {key[1]}'s note" for key, note in notes.items()
                  if note in body and key != (issuer, subject)]
    return found


def activity_crossings(crowd: Crowd) -> list[str]:
    """Activity entries and pending consents are the user's own: the log names only their credentials (by
    fingerprint), the consents listed are exactly the ones their turns asked for, all settled by them."""
    found: list[str] = []
    prints = {user.key: _fingerprints(crowd, user) for user in crowd.users()}
    shared = set.intersection(*prints.values())  # the API key: one provider's key, the same for everyone
    for name, session in crowd.sessions.items():
        user = crowd.user(name)
        log = crowd.broker.log.of(user.key)
        found += [f"{name}'s log holds an entry of {entry.user[1]}" for entry in log if entry.user != user.key]
        foreign = {entry.detail for entry in log if entry.detail.startswith("sha256:")} - prints[user.key] - shared
        found += [f"{name}'s log names a credential that is not theirs ({detail})" for detail in foreign]
        if not any(entry.outcome == "cache hit" for entry in log):
            found.append(f"{name}'s log has no cache hit: the fingerprint check above saw nothing")
        consents = crowd.broker.consents.of(user.key)
        if {c.state for c in consents} != session.consent_states() or len(consents) != 2:
            found.append(f"{name}'s pending consents are not the two their own turn asked for")
        found += [f"{name}'s consent for {c.provider} is {c.status}" for c in consents if c.status != "completed"]
    return found


def _fingerprints(crowd: Crowd, user: SignedInUser) -> set[str]:
    return {credential.fingerprint for key, credential in dict(crowd.broker.cache._entries).items()
            if key.user == user.key}


def consent_crossings(crowd: Crowd) -> list[str]:
    """Every intrusion was refused by the app (403) and by the data plane (Forbidden.SessionUserMismatch), and
    the owner was told: the refusal is in their activity log, naming the intruder."""
    found: list[str] = []
    for name, session in crowd.sessions.items():
        if len(session.intrusions) != 2:
            found.append(f"{name} had {len(session.intrusions)} consents tried by another user, not 2")
        for attempt in session.intrusions:
            if attempt.app_outcome != "refused 403":
                found.append(f"{attempt.intruder} completing {name}'s {attempt.provider} consent in the app: "
                             f"{attempt.app_outcome}, not refused with 403")
            if attempt.cloud_code != "Forbidden.SessionUserMismatch":
                found.append(f"{attempt.intruder} at the data plane for {name}: {attempt.cloud_code}")
            intruder = crowd.user(attempt.intruder)
            noted = [e for e in crowd.broker.log.of(crowd.user(name).key) if e.outcome == "refused"
                     and e.provider == attempt.provider and intruder.name in e.detail]
            if not noted:
                found.append(f"{name}'s log does not show {attempt.intruder}'s attempt on {attempt.provider}")
    return found


CHECKS: dict[str, Callable[[Crowd], list[str]]] = {
    "credentials": credential_crossings, "tool results": tool_crossings, "chats": chat_crossings,
    "activity and pending consents": activity_crossings, "consent completion": consent_crossings}


# -- the tests ---------------------------------------------------------------------------------------------------
def test_localcloud_seeds_the_extra_demo_users_who_sign_in_for_real(crowd):
    users = crowd.users()
    assert [user.name for user in users[:3]] == ["Alice Chen", "Bob Li", "User 01"]
    assert len({user.subject for user in users}) == len(USERS) == 22
    assert all(not user.is_expired(time.time()) for user in users)


def test_every_cached_credential_acts_for_the_user_it_is_cached_under(loaded):
    assert credential_crossings(loaded) == []


def test_every_tool_call_answered_for_its_own_user(loaded):
    assert tool_crossings(loaded) == []


def test_chats_stay_with_their_owner(loaded):
    assert chat_crossings(loaded) == []


def test_activity_entries_and_pending_consents_stay_with_their_owner(loaded):
    assert activity_crossings(loaded) == []


def test_no_user_can_complete_another_users_consent(loaded):
    assert consent_crossings(loaded) == []


def test_the_load_figures_are_written_and_nothing_crossed(loaded):
    crossings = {name: check(loaded) for name, check in CHECKS.items()}
    summary = _summary(loaded, crossings)
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\n{SUMMARY}:\n{json.dumps(summary, indent=2)}")
    assert summary["crossings"] == 0, crossings
    assert summary["tool_calls_total"] >= len(USERS) * (len(SIX_TOOLS) + 1)  # plus the MCP connector and the read
    assert summary["identity_calls"]["CompleteResourceTokenAuth"] == 2 * 2 * len(USERS)  # owner + intruder each


def _summary(crowd: Crowd, crossings: dict[str, list[str]]) -> dict[str, Any]:
    tools = Counter(f.tool for session in crowd.sessions.values() for f in session.finished())
    turns = sum(isinstance(e, TurnDone) for session in crowd.sessions.values() for e in session.events)
    intrusions = [a for session in crowd.sessions.values() for a in session.intrusions]
    return {
        "users": len(crowd.sessions), "parallel_workers": WORKERS, "turns": turns,
        "tool_calls_total": sum(tools.values()), "tool_calls": dict(sorted(tools.items())),
        "identity_calls_total": sum(crowd.identity_calls.values()), "identity_calls": crowd.identity_calls,
        "identity_calls_note": "RPCs localcloud answered during the load (request_counts() delta), including each "
                               "intruder's refused CompleteResourceTokenAuth",
        "consents_approved": sum(isinstance(e, ConsentSettled) and e.status == "completed"
                                 for session in crowd.sessions.values() for e in session.events),
        "intrusions_refused_by_app": sum(a.app_outcome == "refused 403" for a in intrusions),
        "intrusions_refused_by_cloud": sum(a.cloud_code == "Forbidden.SessionUserMismatch" for a in intrusions),
        "crossings": sum(len(found) for found in crossings.values()),
        "crossings_by_check": {name: len(found) for name, found in crossings.items()},
    }
