"""Signing keys: generated once per issuer, parsed once per process, replaced when the stored key changes."""

from __future__ import annotations

import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from localcloud import jose
from localcloud.store import open_store


def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def test_a_stored_key_is_parsed_once_not_on_every_token(tmp_path):
    store = open_store(tmp_path, time.time)
    first = jose.signing_key(store, "issuer-a")
    again = jose.signing_key(store, "issuer-a")
    assert again is first  # the same parsed key: loading a PEM checks the RSA key, ~30 ms each time
    token = jose.sign_jwt(again, {"iss": "a", "aud": "b", "sub": "s", "iat": time.time(), "exp": time.time() + 60})
    assert jose.verify_jwt(token, {"keys": [first.public_jwk()]}, issuer="a", audiences=["b"], now=time.time())


def test_a_replaced_stored_key_is_used_at_once(tmp_path):
    store = open_store(tmp_path, time.time)
    before = jose.signing_key(store, "issuer-b")
    store.set_meta("signing_key.issuer-b", _pem())
    after = jose.signing_key(store, "issuer-b")
    assert after.kid != before.kid
    assert jose.signing_key(open_store(tmp_path / "other", time.time), "issuer-b").kid != after.kid
