"""A scripted browser for the local cloud's sign-in and consent pages, and a demo user's sign-in through it.

Local mode only: the attack lab needs a second, real user (the demo user `bob` or `alice`, password `demo`),
signed in the way a person would be (authorization code + PKCE at the sign-in server, the ID token verified
by the app's own sign-in module). Pages are reached on localcloud's own address even when their links name the
public base (`APP_REDIRECT_URI/lc` by default), and cookies are kept by the public path they were set for.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx

from identity import provision
from identity.cloud import CloudTarget
from identity.errors import IdentityError
from identity.settings import Settings
from identity.signin import OidcProvider
from identity.users import SignedInUser

__all__ = ["DEMO_PASSWORD", "DemoBrowser", "DemoBrowserError", "demo_sign_in", "public_base", "query_of"]

DEMO_PASSWORD = "demo"
SIGN_IN_SCOPE = "openid profile aliuid"
TIMEOUT = httpx.Timeout(10.0)
MAX_REDIRECTS = 10
_CALLBACK_TAIL = "/oauth2/callback/"


class DemoBrowserError(IdentityError):
    """A scripted page visit did not go as a person's would (a page without its form, a refused sign-in)."""


@dataclass
class _Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)


class _Forms(HTMLParser):
    """The forms of a page: hidden and named fields, and named submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(_Form(found.get("action", ""), found.get("method", "get").lower()))
        elif self.forms and tag in ("input", "button") and found.get("name"):
            kind = found.get("type", "submit" if tag == "button" else "text").lower()
            target = self.forms[-1]
            if kind == "submit":
                target.buttons.append((found["name"], found.get("value", "")))
            else:
                target.fields[found["name"]] = found.get("value", "")


def _forms(html: str) -> list[_Form]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def _asks_password(page: _Page) -> bool:
    return any("password" in form.fields for form in _forms(page.response.text))


def query_of(url: str) -> dict[str, str]:
    """A URL's query as single values."""
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def public_base(target: CloudTarget) -> str:
    """The local cloud's base URL as browsers reach it (the data plane's callback prefix names it)."""
    prefix = target.data_callback_prefix
    return prefix[: -len(_CALLBACK_TAIL)] if prefix.endswith(_CALLBACK_TAIL) else prefix.rstrip("/")


@dataclass(frozen=True)
class _Page:
    url: str                 # as the browser knows it (public)
    response: httpx.Response


class DemoBrowser:
    """One demo user's browser: its own cookies, redirects followed by hand until a URL the caller stops at."""

    def __init__(self, public: str, internal: str) -> None:
        self.public, self.internal = public.rstrip("/"), internal.rstrip("/")
        self._http = httpx.Client(trust_env=False, timeout=TIMEOUT, follow_redirects=False)
        self._cookies: dict[tuple[str, str], str] = {}  # (path, name) -> value

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> DemoBrowser:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _reachable(self, url: str) -> str:
        """Where to send a request for `url`: public links of the local cloud go to its own address."""
        return self.internal + url[len(self.public):] if url.startswith(self.public + "/") else url

    def _cookie_header(self, url: str) -> dict[str, str]:
        path = urlsplit(url).path or "/"
        pairs = [f"{name}={value}" for (prefix, name), value in self._cookies.items()
                 if value and path.startswith(prefix)]
        return {"Cookie": "; ".join(pairs)} if pairs else {}

    def _keep_cookies(self, url: str, response: httpx.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(header)
            except CookieError:
                continue
            for name, morsel in jar.items():
                self._cookies[(morsel["path"] or "/", name)] = morsel.value

    def _send(self, method: str, url: str, form: dict[str, str] | None = None) -> _Page:
        if not url.startswith(("http://", "https://")):
            raise DemoBrowserError(f"The scripted browser only follows web links, not {url[:40]!r}.")
        try:
            response = self._http.request(method, self._reachable(url), data=form, headers=self._cookie_header(url))
        except httpx.HTTPError as error:
            raise DemoBrowserError(f"The local cloud's page could not be loaded ({type(error).__name__}).") from None
        self._keep_cookies(url, response)
        return _Page(url, response)

    def _follow(self, page: _Page, stop_at: str) -> _Page | str:
        """Follow redirects; the URL itself once it starts with `stop_at` (never requested), else the page."""
        for _ in range(MAX_REDIRECTS):
            if not page.response.is_redirect:
                return page
            target = urljoin(page.url, page.response.headers["location"])
            if target.startswith(stop_at):
                return target
            page = self._send("GET", target)
        raise DemoBrowserError("The local cloud redirected too many times.")

    def _submit(self, page: _Page, values: dict[str, str], button: tuple[str, str] | None = None) -> _Page:
        """Submit the page's form that has `values`' fields (and the button), the way a user without scripts does."""
        for form in _forms(page.response.text):
            if set(values) <= set(form.fields) and (button is None or button in form.buttons):
                data = {**form.fields, **values, **dict([button] if button else [])}
                action = urljoin(page.url, form.action or page.url)
                if form.method == "post":
                    return self._send("POST", action, data)
                return self._send("GET", f"{action}?{urlencode(data)}")
        status = page.response.status_code
        raise DemoBrowserError(f"The local cloud's page (HTTP {status}) has no form to continue with.")

    def sign_in_and_decide(self, url: str, username: str, password: str, decision: str, stop_at: str) -> str:
        """From an authorization link: sign in if asked, then approve or deny; the URL it lands on (not loaded)."""
        page = self._follow(self._send("GET", url), stop_at)
        if isinstance(page, _Page) and _asks_password(page):
            page = self._follow(self._submit(page, {"username": username, "password": password}), stop_at)
            if isinstance(page, _Page) and _asks_password(page):
                raise DemoBrowserError(f"The sign-in server refused {username}'s demo password (was "
                                       "LOCALCLOUD_DEMO_PASSWORD set when its data directory was created?).")
        if isinstance(page, _Page):
            page = self._follow(self._submit(page, {}, ("decision", decision)), stop_at)
        if isinstance(page, _Page):
            raise DemoBrowserError(f"The sign-in did not come back (HTTP {page.response.status_code}).")
        return page

    def post_form(self, url: str, form: dict[str, str]) -> httpx.Response:
        """A server-to-server form post (the token endpoint)."""
        return self._send("POST", url, form).response


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _code_of(landed: str, state: str) -> str:
    answer = query_of(landed)
    if answer.get("state") != state or not answer.get("code"):
        raise DemoBrowserError(f"The sign-in server did not return a code: {answer.get('error', 'no code')}.")
    return answer["code"]


def demo_sign_in(browser: DemoBrowser, target: CloudTarget, settings: Settings, username: str,
                 clock: Callable[[], float], password: str = DEMO_PASSWORD) -> SignedInUser:
    """Sign a demo user in as the Login page does (PKCE, state, nonce) and verify the ID token the same way."""
    client_id = str(provision.read_config(settings.config_json).get("inbound_app_id") or "")
    if not client_id:
        raise DemoBrowserError("The app's sign-in application is not provisioned: open Setup and press Provision.")
    provider = OidcProvider(target.oauth_discovery_url)
    metadata, (verifier, challenge) = provider.metadata(), _pkce()
    state, nonce, redirect = secrets.token_urlsafe(16), secrets.token_urlsafe(16), settings.inbound_redirect_uri
    query = {"client_id": client_id, "redirect_uri": redirect, "response_type": "code", "scope": SIGN_IN_SCOPE,
             "state": state, "nonce": nonce, "code_challenge": challenge, "code_challenge_method": "S256"}
    landed = browser.sign_in_and_decide(f"{metadata.authorization_endpoint}?{urlencode(query)}", username, password,
                                        "approve", redirect)
    answer = browser.post_form(metadata.token_endpoint, {
        "grant_type": "authorization_code", "code": _code_of(landed, state), "redirect_uri": redirect,
        "client_id": client_id, "code_verifier": verifier})
    try:
        body = answer.json() if answer.status_code == 200 else {}
    except ValueError:  # not JSON
        body = {}
    id_token = body.get("id_token") if isinstance(body, dict) else None
    if not isinstance(id_token, str):
        raise DemoBrowserError(f"The sign-in server issued no ID token (HTTP {answer.status_code}).")
    return provider.verify(id_token, client_id=client_id, nonce=nonce, now=clock())
