"""The order service's one registered OAuth client, `order-client`, and where it may send answers.

Its secret is generated at first use and kept in the store's meta, so it lasts as long as the data directory and
`LocalCloud.env()` can hand it to provisioning (`ORDER_CLIENT_SECRET`). It is never logged or shown on a page.
"""

from __future__ import annotations

import hmac
import json

from localcloud.oidc.redirects import below_prefix
from localcloud.store import Store, random_token
from localcloud.urls import LocalUrls

__all__ = ["ORDER_CLIENT_ID", "allowed_redirect", "client_matches", "order_client"]

ORDER_CLIENT_ID = "order-client"  # the sample's client id
_CLIENT_META = "orders.client"  # {"client_id", "client_secret"}, written once


def order_client(store: Store) -> tuple[str, str]:
    """`(client_id, client_secret)` of the registered client, the secret created at first use."""
    if store.meta(_CLIENT_META) is None:
        store.set_meta_once(_CLIENT_META, json.dumps({"client_id": ORDER_CLIENT_ID,
                                                      "client_secret": random_token(48)}))
    client = json.loads(store.meta(_CLIENT_META) or "{}")
    return client["client_id"], client["client_secret"]


def client_matches(store: Store, client_id: str, client_secret: str) -> bool:
    """Whether the pair is the registered client's, compared in constant time."""
    known_id, known_secret = order_client(store)
    same_id = hmac.compare_digest(client_id.encode("utf-8"), known_id.encode("utf-8"))
    same_secret = hmac.compare_digest(client_secret.encode("utf-8"), known_secret.encode("utf-8"))
    return same_id and same_secret


def allowed_redirect(urls: LocalUrls, uri: str) -> bool:
    """The sample's `ALLOWED_REDIRECT_PREFIXES`, here the one prefix that matters: Agent Identity's data-plane
    callback (`{public}/oauth2/callback/`), read as a browser would read the URI (see `oidc.redirects`)."""
    return below_prefix(uri, urls.data_plane_callback_prefix())
