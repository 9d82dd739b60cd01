"""The one scripted browser for localcloud's sign-in and consent pages: cookies, redirects by hand, plain forms.

It fills forms the way a person without JavaScript would (hidden fields kept, named fields set, the submit
button's name and value sent), so the pages are proven to work with no script at all. The attack lab signs its
demo users in with it, and the tests and benchmarks drive localcloud's pages with it.

Given a `public` base and an `internal` one (the app's `/lc` proxy and localcloud's own address), requests for the
public links go to localcloud's own address underneath, while the browser's URLs and cookie jar stay the public ones,
as a person's browser would have them.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx

from identity.errors import IdentityError

__all__ = ["MAX_REDIRECTS", "Browser", "BrowserError", "Form", "forms", "pkce_pair", "query_of"]

TIMEOUT = httpx.Timeout(10.0)
MAX_REDIRECTS = 10


class BrowserError(IdentityError):
    """A scripted page visit did not go as a person's would (a page without its form, a refused sign-in)."""


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)


class _FormParser(HTMLParser):
    """The forms of a page: hidden and named fields, and named submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(found.get("action", ""), found.get("method", "get").lower()))
        elif self.forms and tag in ("input", "button") and found.get("name"):
            kind = found.get("type", "submit" if tag == "button" else "text").lower()
            if kind == "submit":
                self.forms[-1].buttons.append((found["name"], found.get("value", "")))
            else:
                self.forms[-1].fields[found["name"]] = found.get("value", "")


def forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def pkce_pair() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def query_of(url: str) -> dict[str, str]:
    """A URL's query as single values."""
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


class _Underneath(httpx.HTTPTransport):
    """Sends requests for `public…` URLs to `internal…` instead; everything else as it is."""

    def __init__(self, public: str, internal: str) -> None:
        super().__init__()
        self.public, self.internal = public.rstrip("/"), internal.rstrip("/")

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if not url.startswith(self.public + "/"):
            return super().handle_request(request)
        # A new request underneath: the client keeps the public one, so its cookies stay the public URL's.
        internal = httpx.URL(self.internal + url[len(self.public):])
        headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"host"]
        return super().handle_request(httpx.Request(request.method, internal, headers=headers,
                                                    content=request.read(), extensions=request.extensions))


class Browser:
    """One person's browser: its own cookie jar; redirects are followed only as far as told."""

    def __init__(self, public: str = "", internal: str = "") -> None:
        transport = _Underneath(public, internal) if public and internal else None
        self.http = httpx.Client(trust_env=False, timeout=TIMEOUT, follow_redirects=False, transport=transport)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def get(self, url: str) -> httpx.Response:
        return self.http.get(url)

    def follow(self, response: httpx.Response, stop_at: str) -> httpx.Response | str:
        """Follow redirects; the URL itself once it starts with `stop_at` (never requested), else the page."""
        for _ in range(MAX_REDIRECTS):
            if not response.is_redirect:
                return response
            target = urljoin(str(response.url), response.headers["location"])
            if target.startswith(stop_at):
                return target
            if not target.startswith(("http://", "https://")):
                raise BrowserError(f"The scripted browser only follows web links, not {target[:40]!r}.")
            response = self.http.get(target)
        raise BrowserError("The local cloud redirected too many times.")

    def submit(self, page: httpx.Response, values: dict[str, str], button: str | None = None) -> httpx.Response:
        """Submit the page's form holding `values`' fields (and the button `name=value`), as a person would."""
        for form in forms(page.text):
            if set(values) <= set(form.fields) and (button is None or any(f"{n}={v}" == button
                                                                           for n, v in form.buttons)):
                data = {**form.fields, **values}
                if button:
                    name, _, value = button.partition("=")
                    data[name] = value
                url = urljoin(str(page.url), form.action or str(page.url))
                if form.method == "post":
                    return self.http.post(url, data=data)
                return self.http.get(f"{url}?{urlencode(data)}")
        raise BrowserError(f"The page (HTTP {page.status_code}) has no form with {sorted(values)} / {button}.")

    def sign_in_and_decide(self, start: httpx.Response | str, username: str, password: str, decision: str,
                           stop_at: str) -> str:
        """From an authorization page (or link): sign in if asked, then approve or deny; the URL it lands on."""
        try:
            page = self.follow(self.http.get(start) if isinstance(start, str) else start, stop_at)
            if not isinstance(page, str) and _asks_password(page):
                page = self.follow(self.submit(page, {"username": username, "password": password}), stop_at)
                if not isinstance(page, str) and _asks_password(page):
                    raise BrowserError(f"The sign-in server refused {username}'s password.")
            if not isinstance(page, str):
                page = self.follow(self.submit(page, {}, button=f"decision={decision}"), stop_at)
        except httpx.HTTPError as error:
            raise BrowserError(f"The local cloud's page could not be loaded ({type(error).__name__}).") from None
        if not isinstance(page, str):
            raise BrowserError(f"The sign-in did not come back (HTTP {page.status_code}): {page.text[:300]}")
        return page

    def post_form(self, url: str, form: dict[str, str]) -> httpx.Response:
        """A server-to-server form post (the token endpoint)."""
        try:
            return self.http.post(url, data=form)
        except httpx.HTTPError as error:
            raise BrowserError(f"The local cloud could not be reached ({type(error).__name__}).") from None


def _asks_password(page: httpx.Response) -> bool:
    return any("password" in form.fields for form in forms(page.text))
