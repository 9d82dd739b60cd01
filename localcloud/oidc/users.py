"""The demo users who sign in at both realms, seeded once per data directory.

They live in store meta, not in resources, so `/_localcloud/reset` keeps them and their `sub` stays
stable for the data directory's life. Passwords are kept as salted scrypt hashes only. Besides alice and bob,
`LOCALCLOUD_DEMO_USERS` (`carol:Carol Wu,dave`) seeds more users with the same password, e.g. for load tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import string
from dataclasses import dataclass
from typing import Any

from localcloud.store import Store, random_token

__all__ = ["DEFAULT_DEMO_PASSWORD", "DemoUser", "demo_password_is_default", "demo_users", "ensure_demo_users",
           "user_by_sub", "verify_password"]

DEFAULT_DEMO_PASSWORD = "demo"
PASSWORD_ENV = "LOCALCLOUD_DEMO_PASSWORD"
USERS_ENV = "LOCALCLOUD_DEMO_USERS"  # more users, `name[:Display Name]` comma-separated; read at the first seed
_USERS_META = "oidc.demo_users"  # {"password_is_default": bool, "users": [...]}, written once
_SEED = (("alice", "Alice Chen"), ("bob", "Bob Li"))
# scrypt at N=2^14 costs ~50 ms: enough for a demo, cheap for tests.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
# What an unknown name is checked against: a fixed salt and an all-zero digest that no password hashes to.
_UNKNOWN_USER_HASH = f"scrypt${base64.b64encode(bytes(16)).decode()}${base64.b64encode(bytes(32)).decode()}"


@dataclass(frozen=True)
class DemoUser:
    """A user who can sign in; `sub` is the stable numeric subject (also their `aliuid`)."""

    username: str
    name: str
    sub: str


def _hash_password(password: str, salt: bytes) -> str:
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _matches(password: str, stored: str) -> bool:
    _, salt, _digest = stored.split("$")
    return hmac.compare_digest(_hash_password(password, base64.b64decode(salt)), stored)


def _seeded_names(extra: str) -> list[tuple[str, str]]:
    """alice and bob, then the extra users (a name given twice, or already seeded, is kept once)."""
    named = dict(_SEED)
    for item in extra.split(","):
        username, _, name = item.partition(":")
        if username.strip():
            named.setdefault(username.strip(), name.strip() or username.strip())
    return list(named.items())


def _seed_records(password: str, extra: str = "") -> list[dict[str, Any]]:
    # 16 digits, the shape of an Alibaba Cloud UID.
    return [{"username": username, "name": name, "sub": random_token(1, "123456789") + random_token(15, string.digits),
             "password": _hash_password(password, os.urandom(16))} for username, name in _seeded_names(extra)]


def ensure_demo_users(store: Store) -> None:
    """Seed the demo users on first start (password and extra users from the environment, else "demo")."""
    if store.meta(_USERS_META) is not None:
        return
    password = os.environ.get(PASSWORD_ENV) or DEFAULT_DEMO_PASSWORD
    seeded = {"password_is_default": password == DEFAULT_DEMO_PASSWORD,
              "users": _seed_records(password, os.environ.get(USERS_ENV, ""))}
    store.set_meta_once(_USERS_META, json.dumps(seeded))  # a concurrent first start may win: theirs is kept


def _document(store: Store) -> dict[str, Any]:
    ensure_demo_users(store)
    return json.loads(store.meta(_USERS_META) or "{}")


def _records(store: Store) -> list[dict[str, Any]]:
    return _document(store).get("users", [])


def _public(record: dict[str, Any]) -> DemoUser:
    return DemoUser(record["username"], record["name"], record["sub"])


def demo_users(store: Store) -> list[DemoUser]:
    """Every demo user (username, display name, subject), without secrets."""
    return [_public(record) for record in _records(store)]


def user_by_sub(store: Store, sub: str) -> DemoUser | None:
    """The demo user with this subject, or None."""
    return next((_public(r) for r in _records(store) if r["sub"] == sub), None)


def demo_password_is_default(store: Store) -> bool:
    """Whether the demo password is the well-known "demo" (so the login page may say it)."""
    return bool(_document(store).get("password_is_default"))


def verify_password(store: Store, username: str, password: str) -> DemoUser | None:
    """The user if the password is theirs. An unknown name is checked against a stand-in hash with the same
    parameters: exactly one scrypt either way, so the time taken does not tell which names exist."""
    record = next((r for r in _records(store) if r["username"] == username), None)
    matched = _matches(password, record["password"] if record else _UNKNOWN_USER_HASH)
    return _public(record) if record is not None and matched else None
