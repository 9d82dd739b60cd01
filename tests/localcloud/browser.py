"""A minimal scripted browser for localcloud's HTML pages: cookies, manual redirects, plain HTML forms.

It fills forms the way a user without JavaScript would (hidden fields kept, named fields set, the
submit button's name/value sent), so tests prove the pages work with no script at all.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower()))
        elif self.forms and tag in ("input", "button"):
            kind = a.get("type", "submit" if tag == "button" else "text").lower()
            if kind == "submit" and a.get("name"):
                self.forms[-1].buttons.append((a["name"], a.get("value", "")))
            elif kind != "submit" and a.get("name"):
                self.forms[-1].fields[a["name"]] = a.get("value", "")


def forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


class Browser:
    """One user's browser: its own cookie jar; redirects are followed only as far as told."""

    def __init__(self) -> None:
        self.http = httpx.Client(trust_env=False, timeout=10, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def get(self, url: str) -> httpx.Response:
        return self.http.get(url)

    def follow(self, response: httpx.Response, stop_at: str) -> httpx.Response | str:
        """Follow redirects; return the URL when one starts with `stop_at` (never requested), else the page."""
        while response.is_redirect:
            target = urljoin(str(response.url), response.headers["location"])
            if target.startswith(stop_at):
                return target
            response = self.http.get(target)
        return response

    def submit(self, page: httpx.Response, values: dict[str, str], button: str | None = None) -> httpx.Response:
        """Submit the page's form holding `values`' fields (or the button named `button`)."""
        candidates = [f for f in forms(page.text) if set(values) <= set(f.fields)
                      and (button is None or any(f"{n}={v}" == button for n, v in f.buttons))]
        assert candidates, f"no form with {sorted(values)} / {button} on {page.url}:\n{page.text[:2000]}"
        form = candidates[0]
        data = {**form.fields, **values}
        if button:
            name, _, value = button.partition("=")
            data[name] = value
        url = urljoin(str(page.url), form.action or str(page.url))
        if form.method == "post":
            return self.http.post(url, data=data)
        return self.http.get(f"{url}?{urlencode(data)}")

    def sign_in_and_decide(self, start: httpx.Response, username: str, password: str, decision: str,
                           stop_at: str) -> str:
        """From an authorize page: log in if asked, then approve or deny; the redirect URL it ends on."""
        page = self.follow(start, stop_at)
        if isinstance(page, str):
            return page
        if "password" in {n for f in forms(page.text) for n in f.fields}:
            page = self.follow(self.submit(page, {"username": username, "password": password}), stop_at)
            if isinstance(page, str):
                return page
        result = self.follow(self.submit(page, {}, button=f"decision={decision}"), stop_at)
        assert isinstance(result, str), f"consent did not redirect: {result.status_code} {result.text[:500]}"
        return result
