"""Signing keys and JWTs (RS256 only), as pure functions over PyJWT and `cryptography`.

Keys are generated on first use and kept in the store (0600), one per issuer, so tokens stay valid
across restarts. Verification never trusts the token's own header beyond picking a `kid`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from localcloud.store import Store

__all__ = ["JwtError", "SigningKey", "sign_jwt", "signed_claims", "signing_key", "unverified_claims",
           "verify_jwt"]

ALGORITHM = "RS256"
DEFAULT_LEEWAY_SECONDS = 30


class JwtError(ValueError):
    """A token that must not be accepted; the message says why, without echoing the token."""


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWKS entry."""
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": ALGORITHM}


def _thumbprint(key: rsa.RSAPrivateKey) -> str:
    """RFC 7638 thumbprint of the public key, used as its `kid`."""
    numbers = key.public_key().public_numbers()

    def b64(n: int) -> str:
        return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()

    canonical = json.dumps({"e": b64(numbers.e), "kty": "RSA", "n": b64(numbers.n)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()[:16]


def signing_key(store: Store, name: str) -> SigningKey:
    """The named issuer's RSA key, created and stored on first use."""
    meta_key = f"signing_key.{name}"
    pem = store.meta(meta_key)
    if pem is None:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
        store.set_meta_once(meta_key, pem)
        pem = store.meta(meta_key) or pem  # another thread may have won the race: use the stored key
    return _parsed_key(pem)


@functools.lru_cache(maxsize=64)
def _parsed_key(pem: str) -> SigningKey:
    """The key a PEM holds. Cached by the PEM itself: loading checks the RSA key (~30 ms), which every
    signed or verified token paid before; a new key is a new PEM, so rotation still takes effect."""
    private = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    return SigningKey(_thumbprint(private), private)


def sign_jwt(key: SigningKey, claims: Mapping[str, Any], typ: str = "JWT") -> str:
    """A compact RS256 JWT with the key's `kid` in its header."""
    return jwt.encode(dict(claims), key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": typ})


def unverified_claims(token: str) -> dict[str, Any]:
    """Claims read without verification: only for display and cache lifetimes, never for trust."""
    try:
        return jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise JwtError(f"not a JWT ({exc.__class__.__name__})") from None


def signed_claims(token: str, jwks: Mapping[str, Any]) -> dict[str, Any]:
    """The claims of an RS256 JWT whose signature verifies with a key in `jwks`; no claim is checked (the
    caller decides which matter: an expired ID token is still a good `id_token_hint` for logout)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise JwtError("the token is not a well-formed JWT") from None
    if header.get("alg") != ALGORITHM:
        raise JwtError(f"the token's algorithm {header.get('alg')!r} is not accepted: only {ALGORITHM}")
    key = _find_key(jwks, header.get("kid"))
    try:
        return jwt.decode(token, key, algorithms=[ALGORITHM],
                          options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                                   "verify_aud": False, "verify_iss": False})
    except jwt.PyJWTError:
        raise JwtError("the token's signature does not verify with the issuer's keys") from None


def verify_jwt(token: str, jwks: Mapping[str, Any], *, issuer: str, audiences: Iterable[str], now: float,
               leeway: float = DEFAULT_LEEWAY_SECONDS) -> dict[str, Any]:
    """The claims of an RS256 JWT signed by a key in `jwks`, issued by `issuer` for one of `audiences`."""
    claims = signed_claims(token, jwks)
    _check_claims(claims, issuer, set(audiences), now, leeway)
    return claims


def _find_key(jwks: Mapping[str, Any], kid: Any) -> Any:
    for entry in jwks.get("keys", []):
        if entry.get("kid") == kid and entry.get("kty") == "RSA":
            try:
                return jwt.PyJWK(entry, algorithm=ALGORITHM).key
            except jwt.PyJWTError:
                break
    raise JwtError(f"the token's key id {kid!r} is not in the issuer's JWKS")


def _check_claims(claims: Mapping[str, Any], issuer: str, audiences: set[str], now: float, leeway: float) -> None:
    if claims.get("iss") != issuer:
        raise JwtError(f"the token's issuer {claims.get('iss')!r} is not {issuer!r}")
    aud = claims.get("aud")
    token_audiences = {aud} if isinstance(aud, str) else set(aud or [])
    if not token_audiences & audiences:
        raise JwtError(f"the token's audience {sorted(token_audiences)} is not among the allowed {sorted(audiences)}")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or now > exp + leeway:
        raise JwtError("the token has expired")
    nbf = claims.get("nbf", claims.get("iat", now))
    if not isinstance(nbf, int | float) or nbf > now + leeway:
        raise JwtError("the token is not valid yet")
    if not claims.get("sub"):
        raise JwtError("the token has no subject")
