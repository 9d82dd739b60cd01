"""Random bearer secrets (session ids, tickets) and what the server keeps of them: a hash and sealed data.

The store is looked up by SHA-256 of the secret, and what it holds for a secret is AES-GCM-sealed with a
key derived from that same secret (HKDF), so the database alone yields neither a cookie nor an ID token.
"""

from __future__ import annotations

import hashlib
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["SECRET_BYTES", "new_secret", "seal", "secret_hash", "unseal"]

SECRET_BYTES = 32  # 256 bits
_NONCE_BYTES = 12
_KEY_INFO = b"agent-identity-dashboard login-session seal v1"


def new_secret() -> str:
    """A fresh 256-bit random secret, URL-safe (a cookie value or a query parameter as is)."""
    return secrets.token_urlsafe(SECRET_BYTES)


def secret_hash(secret: str) -> str:
    """What the store keys a secret by: its SHA-256, hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_INFO).derive(secret.encode("utf-8"))


def seal(secret: str, plaintext: bytes) -> bytes:
    """`plaintext` encrypted and authenticated under a key only the secret's holder can derive."""
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(_key(secret)).encrypt(nonce, plaintext, secret_hash(secret).encode())


def unseal(secret: str, sealed: bytes) -> bytes | None:
    """The plaintext, or None when the data was not sealed with this secret (or was altered)."""
    try:
        return AESGCM(_key(secret)).decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:],
                                            secret_hash(secret).encode())
    except (InvalidTag, ValueError):
        return None
