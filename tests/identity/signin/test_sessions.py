"""Server-side login sessions: create, look up, expire, delete; one-use tickets; only hashes on disk."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from identity.signin import SESSION_COOKIE, TICKET_SECONDS, LoginSessionStore, SignInError
from identity.signin.sessions import ATTEMPT_SECONDS, EXPIRED_KEPT_SECONDS
from identity.users import SignedInUser

NOW = 1_800_000_000.0
ID_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwMTIzNDU2In0.c2lnbmF0dXJlLW9mLWFsaWNl"


def alice(expires_at: float = NOW + 3600) -> SignedInUser:
    return SignedInUser(issuer="https://oauth.example.test/oauth/aliyun", subject="1234567890123456",
                        name="Alice Chen", expires_at=expires_at, id_token=ID_TOKEN,
                        claims={"sub": "1234567890123456", "name": "Alice Chen", "aliuid": "1234567890123456"})


BROWSER = "pre-sign-in-cookie-of-alices-browser"  # the `aid_signin` cookie value


def ticket_for(session_store: LoginSessionStore, session_id: str, now: float = NOW, browser: str = BROWSER) -> str:
    """What the Login page does: open an attempt, which the browser binds to itself, then issue the ticket."""
    attempt = session_store.open_attempt(now)
    assert session_store.bind_attempt(attempt, browser, now)
    return session_store.issue_ticket(session_id, attempt, now)


@pytest.fixture
def session_store(tmp_path: Path) -> LoginSessionStore:
    opened = LoginSessionStore.in_directory(tmp_path / ".appstate")
    yield opened
    opened.close()


def test_the_cookie_is_named_aid_session():
    assert SESSION_COOKIE == "aid_session"


def test_a_created_session_finds_its_user_again(session_store):
    session_id = session_store.create(alice(), NOW)

    found = session_store.lookup(session_id, NOW + 60)

    assert found.user == alice() and not found.expired
    assert found.user.id_token == ID_TOKEN and found.user.claims["aliuid"] == "1234567890123456"
    assert session_store.user(session_id, NOW + 60) == alice()
    assert len(session_id) >= 43 and session_id.replace("-", "").replace("_", "").isalnum()  # 256 bits, URL-safe


def test_sessions_are_distinct_and_unknown_ids_find_nothing(session_store):
    first, second = session_store.create(alice(), NOW), session_store.create(alice(), NOW)

    assert first != second
    for unknown in ("", None, "x" * 43, first[:-1] + ("A" if first[-1] != "A" else "B"), "x" * 10_000):
        found = session_store.lookup(unknown, NOW)
        assert found.user is None and not found.expired


def test_a_session_whose_id_token_expired_says_so(session_store):
    session_id = session_store.create(alice(expires_at=NOW + 60), NOW)

    found = session_store.lookup(session_id, NOW + 60)

    assert found.user is None and found.expired
    assert session_store.user(session_id, NOW + 60) is None


def test_long_expired_sessions_are_purged(session_store):
    old = session_store.create(alice(expires_at=NOW + 60), NOW)

    session_store.create(alice(), NOW + 60 + EXPIRED_KEPT_SECONDS + 1)

    found = session_store.lookup(old, NOW + 60 + EXPIRED_KEPT_SECONDS + 1)
    assert found.user is None and not found.expired


def test_a_deleted_session_is_gone(session_store):
    session_id = session_store.create(alice(), NOW)

    session_store.delete(session_id)
    session_store.delete(session_id)  # twice is fine
    session_store.delete(None)

    assert session_store.lookup(session_id, NOW).user is None and not session_store.lookup(session_id, NOW).expired


def test_a_ticket_is_redeemed_once(session_store):
    session_id = session_store.create(alice(), NOW)
    ticket = ticket_for(session_store, session_id)

    assert ticket != session_id
    assert session_store.redeem_ticket(ticket, BROWSER, NOW + 1) == session_id
    assert session_store.redeem_ticket(ticket, BROWSER, NOW + 2) is None


def test_a_ticket_expires_after_a_minute(session_store):
    session_id = session_store.create(alice(), NOW)
    late, in_time = ticket_for(session_store, session_id), ticket_for(session_store, session_id)

    assert TICKET_SECONDS == 60
    assert session_store.redeem_ticket(in_time, BROWSER, NOW + 59) == session_id
    assert session_store.redeem_ticket(late, BROWSER, NOW + 60) is None


def test_a_ticket_of_a_deleted_session_redeems_nothing(session_store):
    session_id = session_store.create(alice(), NOW)
    ticket = ticket_for(session_store, session_id)

    session_store.delete(session_id)

    assert session_store.redeem_ticket(ticket, BROWSER, NOW) is None


def test_unknown_tickets_and_sessions_redeem_or_issue_nothing(session_store):
    assert session_store.redeem_ticket("not-a-ticket", BROWSER, NOW) is None
    assert session_store.redeem_ticket(None, BROWSER, NOW) is None
    with pytest.raises(SignInError, match="no such login session"):
        ticket_for(session_store, "not-a-session")


def test_two_threads_redeeming_one_ticket_get_it_once(session_store):
    ticket = ticket_for(session_store, session_store.create(alice(), NOW))
    results: list[str | None] = []
    threads = [threading.Thread(target=lambda: results.append(session_store.redeem_ticket(ticket, BROWSER, NOW)))
               for _ in range(8)]

    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert len(results) == 8 and sum(result is not None for result in results) == 1


def test_only_hashes_and_sealed_data_are_on_disk(session_store):
    session_id = session_store.create(alice(), NOW)
    ticket = ticket_for(session_store, session_id)
    session_store.close()

    files = list(session_store.database.path.parent.iterdir())
    on_disk = b"".join(path.read_bytes() for path in files)
    for secret in (session_id, ticket, ID_TOKEN, "Alice Chen", "1234567890123456"):
        assert secret.encode() not in on_disk, secret


def test_the_directory_is_0700_and_the_file_0600(session_store, tmp_path):
    session_store.create(alice(), NOW)

    assert stat.S_IMODE((tmp_path / ".appstate").stat().st_mode) == 0o700
    assert stat.S_IMODE(session_store.database.path.stat().st_mode) == 0o600


def test_sessions_survive_reopening_the_store(session_store):
    session_id = session_store.create(alice(), NOW)
    session_store.close()

    reopened = LoginSessionStore.in_directory(session_store.database.path.parent)
    try:
        assert reopened.user(session_id, NOW) == alice()
    finally:
        reopened.close()


def test_a_ticket_works_only_in_the_browser_that_started_the_sign_in_and_is_burnt_by_another(session_store):
    session_id = session_store.create(alice(), NOW)
    ticket = ticket_for(session_store, session_id)

    assert session_store.redeem_ticket(ticket, "another-browsers-cookie", NOW) is None  # the victim of a forwarded link
    assert session_store.redeem_ticket(ticket, BROWSER, NOW) is None  # burnt: the leaked link is worth nothing now


def test_a_ticket_without_the_pre_sign_in_cookie_redeems_nothing(session_store):
    ticket = ticket_for(session_store, session_store.create(alice(), NOW))

    assert session_store.redeem_ticket(ticket, None, NOW) is None


def test_an_attempt_binds_to_the_first_browser_only(session_store):
    attempt = session_store.open_attempt(NOW)

    assert session_store.bind_attempt(attempt, BROWSER, NOW)
    assert not session_store.bind_attempt(attempt, "attackers-cookie", NOW)  # a forwarded begin link binds nothing


def test_an_unbound_expired_or_unknown_attempt_gets_no_ticket(session_store):
    session_id = session_store.create(alice(), NOW)
    unbound, late = session_store.open_attempt(NOW), session_store.open_attempt(NOW)
    assert session_store.bind_attempt(late, BROWSER, NOW)

    for attempt in (unbound, "made-up-attempt", None):
        with pytest.raises(SignInError, match="did not start this sign-in"):
            session_store.issue_ticket(session_id, attempt, NOW)
    with pytest.raises(SignInError, match="did not start this sign-in"):
        session_store.issue_ticket(session_id, late, NOW + ATTEMPT_SECONDS)
    assert not session_store.bind_attempt(session_store.open_attempt(NOW), BROWSER, NOW + ATTEMPT_SECONDS)
