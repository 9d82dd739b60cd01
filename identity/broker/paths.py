"""The consent routes' paths on the app's origin: light, so the app can declare its routes before loading them."""

__all__ = ["CONSENT_AUTHORIZE_PATH", "CONSENT_PATHS", "CONSENT_RETURN_PATH"]

CONSENT_AUTHORIZE_PATH = "/consent/authorize"
CONSENT_RETURN_PATH = "/callback"
CONSENT_PATHS = (CONSENT_AUTHORIZE_PATH, CONSENT_RETURN_PATH)
