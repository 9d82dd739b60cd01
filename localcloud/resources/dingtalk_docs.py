"""DingTalk documents (api.dingtalk.com) for the DingTalk tool: overwrite, plus a read-back stand-in.

* `POST /v2.0/doc/me/suites/documents/{documentId}/overwriteContent` (the real path) with the header
  `x-acs-dingtalk-access-token` and JSON `{"dataType": "markdown", "content": "..."}` (dataType optional,
  only markdown; content at most 50,000 characters) → `{"success": true, "result": {...}}`.
* `GET /v2.0/doc/me/suites/documents/{documentId}/content` → the stored markdown. DingTalk reads documents
  through other APIs; this path is localcloud's own stand-in so a test or the UI can check a write.

The token must be a live access token of localcloud's `dingtalk` realm; anything else (an Alibaba Cloud
token included) is 401 `InvalidAuthentication` in DingTalk's `{"code", "message", "requestid"}` shape.
Documents are per token subject ("me": the user for a consented token, the app itself for an app token).
Every subject starts with one document, `DEMO_DOCUMENT_ID`; other ids are 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from localcloud.resources.errors import BadRequest, NotFound, Unauthorized
from localcloud.resources.tokens import realm_token_claims
from localcloud.resources.web import Handler, json_object
from localcloud.store import Store
from localcloud.times import iso_utc
from localcloud.urls import LocalUrls

__all__ = ["DEMO_DOCUMENT_ID", "DOCUMENT_CONTENT_PATH", "MAX_CONTENT_CHARS", "OVERWRITE_PATH", "read_handler",
           "write_handler"]

DEMO_DOCUMENT_ID = "ZX6GRezwJl7Dbqy3TmR6N3Yn8dqbropQ"  # the shape of a DingTalk docKey / dentryUuid
OVERWRITE_PATH = "/v2.0/doc/me/suites/documents/{documentId}/overwriteContent"
DOCUMENT_CONTENT_PATH = "/v2.0/doc/me/suites/documents/{documentId}/content"
MAX_CONTENT_CHARS = 50_000  # DingTalk's documented limit
_KIND = "dingtalk.document"
_SEEDED = "# Agent Identity demo\n\nFriday writes here when you ask it to update your DingTalk document.\n"
_TOKEN_HEADER = "x-acs-dingtalk-access-token"


def _subject(store: Store, urls: LocalUrls, token: str | None, now: float) -> str:
    claims = realm_token_claims(store, urls, "dingtalk", token, now) if token else None
    if claims is None:
        why = "the access token is not valid" if token else f"the {_TOKEN_HEADER} header is missing"
        raise Unauthorized("InvalidAuthentication",
                           f"{why}: get a DingTalk access token and send it in {_TOKEN_HEADER}")
    return str(claims["sub"])


def _account(store: Store) -> str:
    return store.meta("account_id") or ""


def _document(store: Store, subject: str, document_id: str) -> dict[str, Any]:
    stored = store.get(_KIND, _account(store), f"{subject}/{document_id}")
    if stored is not None:
        return stored
    if document_id == DEMO_DOCUMENT_ID:
        return {"docKey": document_id, "dataType": "markdown", "content": _SEEDED, "updatedTime": None}
    raise NotFound("resource.not.found", f"the document {document_id[:64]} does not exist or is not yours")


def _new_content(body: bytes) -> str:
    request = json_object(body)
    content, data_type = request.get("content"), request.get("dataType", "markdown")
    if not isinstance(content, str):
        raise BadRequest("MissingParameter", "content is required and must be a string")
    if data_type != "markdown":
        raise BadRequest("InvalidParameter", "dataType must be markdown")
    if len(content) > MAX_CONTENT_CHARS:
        raise BadRequest("InvalidParameter", f"content is longer than {MAX_CONTENT_CHARS} characters")
    return content


def _save(store: Store, subject: str, document: dict[str, Any]) -> None:
    name = f"{subject}/{document['docKey']}"
    with store.locked():  # the first write of the seeded document inserts; later ones replace
        if not store.replace(_KIND, _account(store), name, document):
            store.insert(_KIND, _account(store), name, document)


def write_handler(store: Store, clock: Callable[[], float], urls: Callable[[], LocalUrls]) -> Handler:
    """The overwriteContent handler."""
    def handle(request: Request, body: bytes) -> Response:
        now = clock()
        subject = _subject(store, urls(), request.headers.get(_TOKEN_HEADER), now)
        document = _document(store, subject, request.path_params["documentId"])
        document = {**document, "content": _new_content(body), "dataType": "markdown", "updatedTime": iso_utc(now)}
        _save(store, subject, document)
        return JSONResponse({"success": True, "result": {"docKey": document["docKey"],
                                                          "updatedTime": document["updatedTime"]}})
    return handle


def read_handler(store: Store, clock: Callable[[], float], urls: Callable[[], LocalUrls]) -> Handler:
    """The read-back stand-in's handler."""
    def handle(request: Request, body: bytes) -> Response:
        subject = _subject(store, urls(), request.headers.get(_TOKEN_HEADER), clock())
        return JSONResponse({"success": True, "result": _document(store, subject, request.path_params["documentId"])})
    return handle
