"""The sign-in routes' paths on the app's origin: light, so the app can declare its routes before loading them."""

__all__ = ["BEGIN_PATH", "CALLBACK_PATH", "LOGOUT_PATH", "SESSION_PATH", "SIGNIN_PATHS"]

BEGIN_PATH = "/auth/begin"
SESSION_PATH = "/auth/session"
LOGOUT_PATH = "/auth/logout"
CALLBACK_PATH = "/oauth2callback"
SIGNIN_PATHS = (BEGIN_PATH, SESSION_PATH, LOGOUT_PATH, CALLBACK_PATH)
