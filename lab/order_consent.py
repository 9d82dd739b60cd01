"""A user's consent at the order service (localcloud's, behind the AI Gateway), through the scripted browser.

Its consent page signs the user in first (the demo users, password `demo`), then asks Allow or Deny with an
`action` button. Tests, the benchmarks and the e2e helpers all drive it this one way.
"""

from __future__ import annotations

import httpx

from lab.browser import Browser, BrowserError, forms
from lab.demo_users import DEMO_PASSWORD

__all__ = ["order_consent"]


def _asks_password(page: httpx.Response) -> bool:
    return any("password" in form.fields for form in forms(page.text))


def order_consent(browser: Browser, start: str, username: str, action: str = "approve", stop_at: str = "",
                  password: str = DEMO_PASSWORD) -> str:
    """Open the authorize link, sign in if asked, then Allow or Deny; the URL the answer redirects to."""
    page = browser.follow(browser.get(start), stop_at)
    if not isinstance(page, str) and _asks_password(page):
        page = browser.follow(browser.submit(page, {"username": username, "password": password}), stop_at)
    if not isinstance(page, str):
        page = browser.follow(browser.submit(page, {}, button=f"action={action}"), stop_at)
    if not isinstance(page, str):
        raise BrowserError(f"The consent did not come back (HTTP {page.status_code}): {page.text[:300]}")
    return page
