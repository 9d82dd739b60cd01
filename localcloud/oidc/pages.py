"""The sign-in server's HTML: login, consent and error pages (server-rendered, no JavaScript, inline CSS).

Every interpolated value goes through `_e`; pages may not be framed or cached.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from urllib.parse import quote

from starlette.responses import HTMLResponse

from localcloud.oidc.clients import OAuthClient
from localcloud.oidc.users import DEFAULT_DEMO_PASSWORD, DemoUser

__all__ = ["PAGE_HEADERS", "consent_page", "error_page", "login_page", "signed_out_page"]

PAGE_HEADERS = {
    "Cache-Control": "no-store", "Pragma": "no-cache", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    # No form-action: the consent form's answer redirects to the client's origin, which it would block.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
}


@dataclass(frozen=True)
class Brand:
    product: str
    tagline: str
    accent: str


_BRANDS = {
    "aliyun": Brand("Alibaba Cloud", "Sign in with your Alibaba Cloud account (local stand-in)", "#ff6a00"),
    "dingtalk": Brand("DingTalk", "Sign in with DingTalk (local stand-in)", "#007fff"),
}


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _document(realm: str, title: str, body: str, status: int,
              headers: dict[str, str] | None = None) -> HTMLResponse:
    brand = _BRANDS[realm]
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)} · {_e(brand.product)}</title></head>
<body style="font-family:system-ui,sans-serif;background:#f5f6f8;margin:0;color:#1f2329">
<div style="max-width:26rem;margin:3rem auto;background:#fff;border-radius:8px;padding:2rem;
box-shadow:0 1px 4px rgba(0,0,0,.12);border-top:4px solid {_e(brand.accent)}">
<div style="font-weight:700;color:{_e(brand.accent)};font-size:1.2rem">{_e(brand.product)}</div>
<div style="color:#646a73;font-size:.85rem;margin-bottom:1.2rem">{_e(brand.tagline)}</div>
<h1 style="font-size:1.3rem;margin:.2rem 0 1rem">{_e(title)}</h1>
{body}
</div></body></html>"""
    return HTMLResponse(page, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})


def _button(realm: str, label: str, value: str, primary: bool) -> str:
    colour = _BRANDS[realm].accent
    style = (f"background:{colour};color:#fff;border:0" if primary else f"background:#fff;color:{colour};"
             f"border:1px solid {colour}")
    return (f'<button type="submit" name="decision" value="{_e(value)}" style="{style};padding:.55rem 1.2rem;'
            f'border-radius:4px;font-size:1rem;cursor:pointer;margin-right:.5rem">{_e(label)}</button>')


def error_page(realm: str, title: str, message: str, status: int = 400,
               headers: dict[str, str] | None = None) -> HTMLResponse:
    """A page telling the user what went wrong and what to do."""
    return _document(realm, title, f'<p style="line-height:1.5">{_e(message)}</p>', status, headers)


def signed_out_page(realm: str) -> HTMLResponse:
    """The end of RP-Initiated Logout when there is no (allowed) place to send the browser back to."""
    product = _BRANDS[realm].product
    return _document(realm, "You are signed out", f'<p style="line-height:1.5">You are signed out of {_e(product)} '
                     "in this browser. You can close this window.</p>", 200)


def _demo_hint(users: list[DemoUser], password_is_default: bool) -> str:
    names = ", ".join(f"<code>{_e(u.username)}</code> ({_e(u.name)})" for u in users)
    password = (f" Password: <code>{_e(DEFAULT_DEMO_PASSWORD)}</code>." if password_is_default
                else " The password was set with LOCALCLOUD_DEMO_PASSWORD.")
    return (f'<p style="font-size:.85rem;color:#646a73;background:#f5f6f8;padding:.6rem;border-radius:4px">'
            f"Local mode demo users: {names}.{password}</p>")


_INPUT = "display:block;width:100%;box-sizing:border-box;padding:.5rem;margin:.2rem 0 .8rem;font-size:1rem"


def login_page(realm: str, action: str, client: OAuthClient, request_id: str, users: list[DemoUser],
               password_is_default: bool, message: str = "", username: str = "", status: int = 200) -> HTMLResponse:
    """The login form: `username` and `password`, posted with the pending request's id."""
    alert = f'<p role="alert" style="color:#d83931;font-weight:600">{_e(message)}</p>' if message else ""
    body = f"""<p>to continue to <strong>{_e(client.display_name)}</strong></p>{alert}
<form method="post" action="{_e(action)}">
<input type="hidden" name="request_id" value="{_e(request_id)}">
<label for="username">User name</label>
<input id="username" name="username" autocomplete="username" value="{_e(username)}" style="{_INPUT}" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" style="{_INPUT}" required>
<button type="submit" style="background:{_e(_BRANDS[realm].accent)};color:#fff;border:0;padding:.6rem;width:100%;
border-radius:4px;font-size:1rem;cursor:pointer">Sign in</button></form>
{_demo_hint(users, password_is_default)}"""
    return _document(realm, "Sign in", body, status)


def consent_page(realm: str, action: str, switch_url: str, client: OAuthClient, request_id: str, user: DemoUser,
                 scopes: tuple[str, ...]) -> HTMLResponse:
    """The consent form listing the app and its scopes; approve/deny post `decision`."""
    items = "".join(f"<li style='margin:.4rem 0'><code>{_e(s)}</code> — {_e(client.scopes.get(s, s))}</li>"
                    for s in scopes)
    switch = f"{switch_url}?request_id={quote(request_id, safe='')}"
    body = f"""<p style="font-size:.9rem;color:#646a73">Signed in as <strong>{_e(user.name)}</strong>
(<code>{_e(user.username)}</code>) — <a href="{_e(switch)}">not you?</a></p>
<p><strong>{_e(client.display_name)}</strong> asks to:</p>
<ul style="padding-left:1.2rem;line-height:1.4">{items or "<li>know that you signed in</li>"}</ul>
<form method="post" action="{_e(action)}">
<input type="hidden" name="request_id" value="{_e(request_id)}">
{_button(realm, "Allow", "approve", True)}{_button(realm, "Deny", "deny", False)}</form>"""
    return _document(realm, "Allow access?", body, 200)
