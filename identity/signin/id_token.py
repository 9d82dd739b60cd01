"""ID token verification (OIDC Core §3.1.3.7) as one pure function: no HTTP, time passed in.

Only RS256 is accepted: the header's `alg` is never trusted to choose the algorithm, so `none` and
HMAC tokens (e.g. "signed" with the public key as secret) are refused before any signature check.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

import jwt
from jwt.types import Options

from identity.signin.errors import SignInError, UnknownSigningKey
from identity.users import SignedInUser

__all__ = ["ALGORITHM", "DEFAULT_LEEWAY_SECONDS", "display_name", "verify_id_token"]

ALGORITHM = "RS256"
DEFAULT_LEEWAY_SECONDS = 30
_NAME_CLAIMS = ("name", "preferred_username", "login_name", "sub")
# Everything but the signature is checked below, with our own messages and the caller's clock.
_SIGNATURE_ONLY: Options = {"verify_signature": True, "verify_exp": False, "verify_nbf": False, "verify_iat": False,
                            "verify_aud": False, "verify_iss": False, "verify_sub": False, "verify_jti": False}


def verify_id_token(token: str, *, discovery: Mapping[str, Any], jwks: Mapping[str, Any], client_id: str,
                    nonce: str | None, now: float, leeway: float = DEFAULT_LEEWAY_SECONDS) -> SignedInUser:
    """The signed-in user of a valid ID token for `client_id`; SignInError saying what was wrong otherwise.

    `nonce` is the one a sign-in sent; None for a token presented as a bearer credential to an API (the agent
    service), where there is no sign-in to answer: every other check still applies."""
    header = _header(token)
    claims = _signed_claims(token, _public_key(jwks, header.get("kid")))
    _check_issuer(claims, discovery)
    _check_audience(claims, client_id)
    _check_times(claims, now, leeway)
    if nonce is not None:
        _check_nonce(claims, nonce)
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise SignInError("The ID token names no subject (sub).")
    return SignedInUser(issuer=claims["iss"], subject=subject, name=display_name(claims),
                        expires_at=float(claims["exp"]), id_token=token, claims=dict(claims))


def display_name(claims: Mapping[str, Any]) -> str:
    """What to call the user: `name`, else `preferred_username`, `login_name`, then `sub`."""
    return next((str(claims[c]) for c in _NAME_CLAIMS if isinstance(claims.get(c), str) and claims[c]), "")


def _header(token: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise SignInError("The ID token is not a well-formed JWT.") from None
    if header.get("alg") != ALGORITHM:
        raise SignInError(f"The ID token's algorithm {str(header.get('alg'))[:16]!r} is refused: only {ALGORITHM} "
                          "is accepted.")
    if str(header.get("typ", "JWT")).lower() == "at+jwt":  # RFC 9068: an access token must not pass as an ID token
        raise SignInError("The token is an access token, not an ID token.")
    return header


def _public_key(jwks: Mapping[str, Any], kid: Any) -> Any:
    if not isinstance(kid, str) or not kid:
        raise SignInError("The ID token names no signing key (kid).")
    for entry in jwks.get("keys") or []:
        if isinstance(entry, Mapping) and entry.get("kid") == kid and _is_rs256_signing_key(entry):
            try:
                return jwt.PyJWK(dict(entry), algorithm=ALGORITHM).key
            except jwt.PyJWTError:
                raise SignInError(f"The sign-in server's key {kid[:64]!r} is malformed.") from None
    raise UnknownSigningKey(f"The ID token's signing key {kid[:64]!r} is not among the sign-in server's keys.")


def _is_rs256_signing_key(entry: Mapping[str, Any]) -> bool:
    return entry.get("kty") == "RSA" and entry.get("use", "sig") == "sig" and entry.get("alg", ALGORITHM) == ALGORITHM


def _signed_claims(token: str, key: Any) -> dict[str, Any]:
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], options=_SIGNATURE_ONLY)
    except jwt.PyJWTError:
        raise SignInError("The ID token's signature does not verify with the sign-in server's key.") from None
    if not isinstance(claims, dict):
        raise SignInError("The ID token's payload is not a JSON object.")
    return claims


def _check_issuer(claims: Mapping[str, Any], discovery: Mapping[str, Any]) -> None:
    issuer = discovery.get("issuer")
    if not isinstance(issuer, str) or not issuer:
        raise SignInError("The sign-in server's discovery document names no issuer.")
    if claims.get("iss") != issuer:
        raise SignInError(f"The ID token was issued by {str(claims.get('iss'))[:200]!r}, not by {issuer!r}.")


def _check_audience(claims: Mapping[str, Any], client_id: str) -> None:
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if client_id not in audiences:
        raise SignInError(f"The ID token is not meant for this app: its audience does not include {client_id!r}.")
    azp = claims.get("azp")
    if len(audiences) > 1 and azp is None:
        raise SignInError("The ID token has several audiences but no authorized party (azp).")
    if azp is not None and azp != client_id:
        raise SignInError(f"The ID token was issued to another client (azp is not {client_id!r}).")


def _number(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SignInError(f"The ID token's {name} claim is missing or not a number.")
    return float(value)


def _check_times(claims: Mapping[str, Any], now: float, leeway: float) -> None:
    if now > _number(claims, "exp") + leeway:
        raise SignInError("The ID token has expired.")
    if _number(claims, "iat") > now + leeway:
        raise SignInError("The ID token was issued in the future: check the clocks of this server and the sign-in "
                          "server.")
    if "nbf" in claims and _number(claims, "nbf") > now + leeway:
        raise SignInError("The ID token is not valid yet (nbf).")


def _check_nonce(claims: Mapping[str, Any], nonce: str) -> None:
    if not nonce:
        raise SignInError("No nonce was sent with this sign-in, so its ID token cannot be checked.")
    sent = claims.get("nonce")
    if not isinstance(sent, str):
        raise SignInError("The ID token carries no nonce: it does not answer this sign-in.")
    if not hmac.compare_digest(sent.encode(), nonce.encode()):
        raise SignInError("The ID token's nonce does not match this sign-in (a replayed or foreign token).")
