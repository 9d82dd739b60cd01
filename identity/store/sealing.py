"""Sealing what the store must read back but nobody with the database alone may: AES-GCM under the app's key.

The key is APP_SECRET_KEY (the same on every replica) or, when it is unset, a random one generated at first start
in `.appstate/secret.key` (0600). Each sealed value is bound to the row it belongs to (`context` is authenticated),
so a sealed value copied into another row does not open.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from identity.errors import SettingsError

__all__ = ["MIN_KEY_CHARS", "SECRET_KEY_FILE", "Sealer", "local_secret_key"]

SECRET_KEY_FILE = "secret.key"
MIN_KEY_CHARS = 32
_NONCE_BYTES = 12
_INFO = b"agent-identity-dashboard state seal v1"


class Sealer:
    """Seals and opens values with one key."""

    def __init__(self, secret_key: str) -> None:
        if len(secret_key) < MIN_KEY_CHARS:
            raise SettingsError(f"APP_SECRET_KEY is {len(secret_key)} characters; use at least {MIN_KEY_CHARS}, e.g. "
                                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`.")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret_key.encode())
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, context: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def open(self, sealed: bytes, context: str) -> bytes | None:
        """The plaintext, or None when it was sealed under another key or for another row (or altered)."""
        try:
            return self._aead.decrypt(bytes(sealed[:_NONCE_BYTES]), bytes(sealed[_NONCE_BYTES:]), context.encode())
        except (InvalidTag, ValueError):
            return None


def local_secret_key(directory: Path) -> str:
    """This machine's generated key in `directory` (0600), created at first use."""
    path = directory / SECRET_KEY_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(32)
    try:  # O_EXCL: two processes starting at once agree on whichever wrote first
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _written_key(path)
    with os.fdopen(descriptor, "w") as file:
        file.write(key)
    return key


def _written_key(path: Path) -> str:
    """The key another process is writing right now: bounded wait for its few bytes."""
    for _ in range(50):
        if key := path.read_text().strip():
            return key
        time.sleep(0.01)
    raise SettingsError(f"{path} is empty: delete it (a new key is generated) or set APP_SECRET_KEY.")
