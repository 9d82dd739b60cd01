"""ID token verification, pure: tokens minted here with our own RSA keys, checked against a JWKS dict."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from identity.errors import IdentityError
from identity.signin import SignInError, UnknownSigningKey, display_name, verify_id_token

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
FOREIGN_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = "key-2026-11"
ISSUER = "https://oauth.example.test/oauth/aliyun"
CLIENT_ID = "4012345678901234"
NONCE = "n-5f2d8c0e"
NOW = 1_800_000_000.0
DISCOVERY = {"issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/authorize", "token_endpoint": f"{ISSUER}/token",
             "jwks_uri": f"{ISSUER}/jwks"}


def public_jwk(key: rsa.RSAPrivateKey, kid: str = KID) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


JWKS = {"keys": [public_jwk(KEY)]}


def claims(**changes: Any) -> dict[str, Any]:
    """Alice's ID token claims for CLIENT_ID; a change to None removes the claim."""
    base = {"iss": ISSUER, "sub": "1234567890123456", "aud": CLIENT_ID, "azp": CLIENT_ID, "iat": int(NOW) - 5,
            "exp": int(NOW) + 3600, "auth_time": int(NOW) - 5, "nonce": NONCE, "name": "Alice Chen",
            "preferred_username": "alice", "login_name": "alice", "aliuid": "1234567890123456"}
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


def mint(payload: dict[str, Any] | None = None, *, key: rsa.RSAPrivateKey = KEY, kid: str | None = KID,
         typ: str = "JWT") -> str:
    headers = {"typ": typ} if kid is None else {"kid": kid, "typ": typ}
    return jwt.encode(payload or claims(), key, algorithm="RS256", headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value).encode())


def unsigned(payload: dict[str, Any]) -> str:
    """`alg: none`: no signature at all."""
    return f"{_segment({'alg': 'none', 'kid': KID, 'typ': 'JWT'})}.{_segment(payload)}."


def hs256_with_public_key(payload: dict[str, Any]) -> str:
    """The classic confusion attack: HMAC "signed" with the provider's public key as the shared secret."""
    secret = KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = f"{_segment({'alg': 'HS256', 'kid': KID, 'typ': 'JWT'})}.{_segment(payload)}"
    return f"{signing_input}.{_b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


def verify(token: str, **overrides: Any) -> Any:
    arguments: dict[str, Any] = {"discovery": DISCOVERY, "jwks": JWKS, "client_id": CLIENT_ID, "nonce": NONCE,
                                 "now": NOW, **overrides}
    return verify_id_token(token, **arguments)


def refused(token: str, **overrides: Any) -> str:
    """The refusal message; it must never repeat the token."""
    with pytest.raises(SignInError) as caught:
        verify(token, **overrides)
    message = str(caught.value)
    assert token not in message and all(part not in message for part in token.split(".") if len(part) > 8)
    return message


def test_a_valid_id_token_becomes_the_signed_in_user():
    token = mint()

    user = verify(token)

    assert (user.issuer, user.subject, user.name) == (ISSUER, "1234567890123456", "Alice Chen")
    assert user.expires_at == NOW + 3600 and not user.is_expired(NOW)
    assert user.id_token == token and user.claims["aliuid"] == "1234567890123456"
    assert token not in repr(user)


@pytest.mark.parametrize(("removed", "expected"), [
    ((), "Alice Chen"), (("name",), "alice"), (("name", "preferred_username"), "alice-login"),
    (("name", "preferred_username", "login_name"), "1234567890123456")])
def test_the_name_falls_back_from_name_to_usernames_to_the_subject(removed, expected):
    payload = claims(**{"login_name": "alice-login", **dict.fromkeys(removed)})

    assert verify(mint(payload)).name == expected == display_name(payload)


def test_sign_in_errors_are_identity_errors():
    assert issubclass(SignInError, IdentityError) and issubclass(UnknownSigningKey, SignInError)


def test_alg_none_is_refused_before_anything_else():
    assert "algorithm 'none' is refused" in refused(unsigned(claims()))


def test_hs256_signed_with_the_public_key_is_refused():
    assert "algorithm 'HS256' is refused" in refused(hs256_with_public_key(claims()))


def test_a_kid_the_jwks_does_not_hold_is_an_unknown_signing_key():
    with pytest.raises(UnknownSigningKey, match="signing key 'rotated-key' is not among"):
        verify(mint(kid="rotated-key"))


def test_a_token_without_kid_is_refused():
    assert "names no signing key (kid)" in refused(mint(kid=None))


def test_a_foreign_key_using_the_providers_kid_fails_the_signature():
    assert "signature does not verify" in refused(mint(key=FOREIGN_KEY))


def test_a_tampered_payload_fails_the_signature():
    header, _, signature = mint().split(".")
    forged = f"{header}.{_segment(claims(sub='6543210987654321', name='Mallory'))}.{signature}"

    assert "signature does not verify" in refused(forged)


def test_another_issuer_is_refused():
    message = refused(mint(claims(iss="https://evil.example.test/oauth/aliyun")))

    assert "issued by 'https://evil.example.test/oauth/aliyun', not by" in message


def test_a_token_for_another_client_is_refused():
    assert "audience does not include '4012345678901234'" in refused(mint(claims(aud="4099999999999999", azp=None)))


def test_several_audiences_need_azp_naming_this_client():
    both = [CLIENT_ID, "4099999999999999"]

    assert verify(mint(claims(aud=both))).subject == "1234567890123456"
    assert "no authorized party (azp)" in refused(mint(claims(aud=both, azp=None)))
    assert "issued to another client" in refused(mint(claims(aud=both, azp="4099999999999999")))


def test_an_expired_token_is_refused_after_the_leeway():
    token = mint(claims(iat=int(NOW) - 7200, exp=int(NOW) - 20))

    assert verify(token).is_expired(NOW)  # within the 30 s leeway: still accepted at sign-in
    assert "has expired" in refused(token, leeway=10)
    assert "has expired" in refused(mint(claims(exp=int(NOW) - 31)))


def test_a_token_issued_in_the_future_is_refused():
    assert "issued in the future" in refused(mint(claims(iat=int(NOW) + 120)))


def test_missing_exp_or_iat_is_refused():
    assert "exp claim is missing" in refused(mint(claims(exp=None)))
    assert "iat claim is missing" in refused(mint(claims(iat=None)))


def test_a_wrong_nonce_is_refused():
    assert "nonce does not match" in refused(mint(claims(nonce="n-someone-else")))


def test_a_missing_nonce_is_refused():
    assert "carries no nonce" in refused(mint(claims(nonce=None)))


def test_an_access_token_cannot_pass_as_an_id_token():
    assert "access token, not an ID token" in refused(mint(typ="at+jwt"))


def test_garbage_is_not_a_jwt():
    assert "not a well-formed JWT" in refused("not-a-jwt")


def test_a_discovery_document_without_issuer_refuses_everything():
    assert "names no issuer" in refused(mint(), discovery={})
