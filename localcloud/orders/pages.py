"""The order service's HTML: sign-in, consent and error pages (server-rendered, no JavaScript, inline CSS).

Every interpolated value goes through `_e`; pages may not be framed or cached and leak no referrer.
"""

from __future__ import annotations

import html
from urllib.parse import quote, urlsplit

from starlette.responses import HTMLResponse

from localcloud.oidc.users import DEFAULT_DEMO_PASSWORD, DemoUser
from localcloud.orders.service import SCOPES

__all__ = ["PAGE_HEADERS", "consent_page", "error_page", "login_page"]

PAGE_HEADERS = {
    "Cache-Control": "no-store", "Pragma": "no-cache", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    # No form-action: the consent answer redirects to the data plane's origin, which it would block.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
}
_ACCENT = "#0066ff"  # the sample's order service colour
_INPUT = "display:block;width:100%;box-sizing:border-box;padding:.5rem;margin:.2rem 0 .8rem;font-size:1rem"
_CLIENT_NAME = "Agent Identity"  # who holds order-client: Alibaba Cloud's token vault, on behalf of an agent


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _document(title: str, body: str, status: int, headers: dict[str, str] | None = None) -> HTMLResponse:
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)} · Order Service</title></head>
<body style="font-family:system-ui,sans-serif;background:#f5f6f8;margin:0;color:#1f2329">
<div style="max-width:26rem;margin:3rem auto;background:#fff;border-radius:12px;padding:2rem;
box-shadow:0 2px 12px rgba(0,0,0,.1);border-top:4px solid {_ACCENT}">
<div style="font-weight:700;color:{_ACCENT};font-size:1.2rem">Order Service</div>
<div style="color:#646a73;font-size:.85rem;margin-bottom:1.2rem">The sample's order service (local stand-in)</div>
<h1 style="font-size:1.3rem;margin:.2rem 0 1rem">{_e(title)}</h1>
{body}
</div></body></html>"""
    return HTMLResponse(page, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})


def error_page(title: str, message: str, status: int = 400, retry_after: int | None = None) -> HTMLResponse:
    """A page telling the user what went wrong and what to do."""
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return _document(title, f'<p style="line-height:1.5">{_e(message)}</p>', status, headers)


def _demo_hint(users: list[DemoUser], password_is_default: bool) -> str:
    names = ", ".join(f"<code>{_e(u.username)}</code> ({_e(u.name)})" for u in users)
    password = (f" Password: <code>{_e(DEFAULT_DEMO_PASSWORD)}</code>." if password_is_default
                else " The password was set with LOCALCLOUD_DEMO_PASSWORD.")
    return (f'<p style="font-size:.85rem;color:#646a73;background:#f5f6f8;padding:.6rem;border-radius:4px">'
            f"The order service knows localcloud's demo users: {names}.{password}</p>")


def login_page(action: str, request_id: str, users: list[DemoUser], password_is_default: bool, message: str = "",
               username: str = "", status: int = 200) -> HTMLResponse:
    """The sign-in form (`username`, `password`) of a pending request: whose orders are being shared."""
    alert = f'<p role="alert" style="color:#d83931;font-weight:600">{_e(message)}</p>' if message else ""
    body = f"""<p>Sign in to choose whose orders <strong>{_e(_CLIENT_NAME)}</strong> may use.</p>{alert}
<form method="post" action="{_e(action)}">
<input type="hidden" name="request_id" value="{_e(request_id)}">
<label for="username">User name</label>
<input id="username" name="username" autocomplete="username" value="{_e(username)}" style="{_INPUT}" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" style="{_INPUT}" required>
<button type="submit" style="background:{_ACCENT};color:#fff;border:0;padding:.6rem;width:100%;
border-radius:8px;font-size:1rem;cursor:pointer">Sign in</button></form>
{_demo_hint(users, password_is_default)}"""
    return _document("Sign in", body, status)


def _button(label: str, value: str, primary: bool) -> str:
    style = (f"background:{_ACCENT};color:#fff;border:0" if primary else "background:#eee;color:#646a73;border:0")
    return (f'<button type="submit" name="action" value="{_e(value)}" style="{style};padding:.6rem 1.2rem;'
            f'border-radius:8px;font-size:1rem;cursor:pointer;margin-right:.5rem">{_e(label)}</button>')


def consent_page(action: str, switch_url: str, request_id: str, user: DemoUser, scopes: tuple[str, ...],
                 redirect_uri: str) -> HTMLResponse:
    """The consent form: who is signed in, the scopes asked for, and where the answer goes; `action`=approve|deny."""
    items = "".join(f"<li style='margin:.4rem 0'><code>{_e(s)}</code> — {_e(SCOPES[s])}</li>" for s in scopes)
    switch = f"{switch_url}?request_id={quote(request_id, safe='')}"
    body = f"""<p style="font-size:.9rem;color:#646a73">Signed in as <strong>{_e(user.name)}</strong>
(<code>{_e(user.username)}</code>) — <a href="{_e(switch)}">not you?</a></p>
<p><strong>{_e(_CLIENT_NAME)}</strong> (<code>order-client</code>) asks to use your orders:</p>
<ul style="padding-left:1.2rem;line-height:1.4">{items}</ul>
<p style="font-size:.85rem;color:#646a73">Your answer goes back to <code>{_e(urlsplit(redirect_uri).netloc)}</code>.</p>
<form method="post" action="{_e(action)}">
<input type="hidden" name="request_id" value="{_e(request_id)}">
{_button("Allow", "approve", True)}{_button("Deny", "deny", False)}</form>"""
    return _document("Allow access to your orders?", body, 200)
