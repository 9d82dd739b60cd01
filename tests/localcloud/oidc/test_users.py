"""The demo users: seeded once per data directory, hashed passwords, stable subjects."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud.oidc import demo_users, user_by_sub
from localcloud.oidc.users import demo_password_is_default, verify_password
from localcloud.store import Store, open_store


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.delenv("LOCALCLOUD_DEMO_PASSWORD", raising=False)
    monkeypatch.delenv("LOCALCLOUD_DEMO_USERS", raising=False)
    opened = open_store(tmp_path / "data", time.time)
    yield opened
    opened.close()


def test_alice_and_bob_are_seeded_with_the_demo_password(store: Store) -> None:
    users = {user.username: user for user in demo_users(store)}

    assert users["alice"].name == "Alice Chen" and users["bob"].name == "Bob Li"
    assert verify_password(store, "alice", "demo") == users["alice"]
    assert verify_password(store, "alice", "Demo") is None and verify_password(store, "carol", "demo") is None
    assert demo_password_is_default(store)


def test_passwords_are_stored_as_salted_hashes_only(store: Store) -> None:
    demo_users(store)

    raw = store.meta("oidc.demo_users") or ""
    assert '"demo"' not in raw and raw.count("scrypt$") == 2
    hashes = [part for part in raw.split('"') if part.startswith("scrypt$")]
    assert hashes[0] != hashes[1]  # same password, different salts


def test_subjects_are_numeric_stable_and_found_by_sub(store: Store, tmp_path: Path) -> None:
    first = demo_users(store)
    reopened = open_store(tmp_path / "data", time.time)
    try:
        assert demo_users(reopened) == first
    finally:
        reopened.close()

    assert all(user.sub.isdigit() and len(user.sub) == 16 for user in first)
    assert user_by_sub(store, first[1].sub) == first[1] and user_by_sub(store, "0") is None


def test_the_environment_sets_the_password_at_first_start_only(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALCLOUD_DEMO_PASSWORD", "s3cret-local")
    store = open_store(tmp_path / "custom", time.time)
    try:
        demo_users(store)
        monkeypatch.setenv("LOCALCLOUD_DEMO_PASSWORD", "changed-later")

        assert verify_password(store, "bob", "s3cret-local") is not None
        assert verify_password(store, "bob", "demo") is None and verify_password(store, "bob", "changed-later") is None
        assert not demo_password_is_default(store)
    finally:
        store.close()


def test_more_demo_users_are_seeded_once_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCALCLOUD_DEMO_PASSWORD", raising=False)
    monkeypatch.setenv("LOCALCLOUD_DEMO_USERS", "carol:Carol Wu, dave")
    store = open_store(tmp_path / "more", time.time)
    try:
        seeded = {user.username: user.name for user in demo_users(store)}
        monkeypatch.setenv("LOCALCLOUD_DEMO_USERS", "erin")

        assert {"alice", "bob", "carol", "dave"} <= set(seeded) and seeded["carol"] == "Carol Wu"
        assert verify_password(store, "dave", "demo") is not None and verify_password(store, "erin", "demo") is None
    finally:
        store.close()
