"""DingTalk documents (OAuth2, DingTalk provider) and OSS objects (STS): the sample's two real-API tools."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import oss2

from tools.arguments import DINGTALK_CONTENT, DINGTALK_DOCUMENT_ID, OSS_OBJECT_KEY, OSS_PREFIX
from tools.base import CredentialSpec, ToolContext, tool
from tools.errors import ServiceFailed
from tools.http import path_segment, request_json, service_url

__all__ = ["DINGTALK_SCOPES", "document_url", "list_oss_objects", "read_dingtalk_document", "read_oss_object",
           "write_dingtalk_document"]

T = TypeVar("T")
DINGTALK_SCOPES = ("openid", "corpid")  # the sample's
DEMO_DOCUMENT_ID = "ZX6GRezwJl7Dbqy3TmR6N3Yn8dqbropQ"  # the local DingTalk stand-in's seeded document
MAX_TEXT_BYTES = 64 * 1024
_DINGTALK = CredentialSpec("oauth2", "dingtalk_oauth_provider_name", DINGTALK_SCOPES)


def document_url(context: ToolContext, document_id: str, action: str) -> str:
    """The document's API URL; the id is one encoded segment, a second guard behind its grammar, so whatever it
    holds it names a document under `documents/` and never another path of the API host."""
    segment = path_segment(document_id)
    return service_url(context, "dingtalk_api_base", f"/v2.0/doc/me/suites/documents/{segment}/{action}")


@tool(_DINGTALK)
def write_dingtalk_document(context: ToolContext, content: Annotated[str, DINGTALK_CONTENT],
                            document_id: Annotated[str, DINGTALK_DOCUMENT_ID] = DEMO_DOCUMENT_ID) -> str:
    """Overwrite a DingTalk document with markdown content."""
    body = request_json(context, "POST", document_url(context, document_id, "overwriteContent"),
                        headers={"x-acs-dingtalk-access-token": context.credential.value},
                        json={"dataType": "markdown", "content": content})
    return json.dumps({"written": True, **body}, ensure_ascii=False)


@tool(_DINGTALK)
def read_dingtalk_document(context: ToolContext,
                           document_id: Annotated[str, DINGTALK_DOCUMENT_ID] = DEMO_DOCUMENT_ID) -> str:
    """Read a DingTalk document's markdown content."""
    body = request_json(context, "GET", document_url(context, document_id, "content"),
                        headers={"x-acs-dingtalk-access-token": context.credential.value})
    return json.dumps(body, ensure_ascii=False)


# oss2 logs every request's headers and string to sign at DEBUG: with the root logger at DEBUG, the STS security
# token and the request's signature (replayable for 15 minutes) would be in the log. They are masked there.
_SECURITY_TOKEN = re.compile(r"(security-token['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}&\\]+", re.IGNORECASE)
_AUTHORIZATION = re.compile(r"(authorization['\"]?\s*:\s*['\"])[^'\"]+", re.IGNORECASE)


class _MaskOssSecrets(logging.Filter):
    """Masks the security token and the Authorization header in oss2's records before any handler sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _AUTHORIZATION.sub(r"\1***", _SECURITY_TOKEN.sub(r"\1***", message))
        if masked != message:
            record.msg, record.args = masked, None
        return True


def _mask_oss_logs() -> None:
    """On every oss2 logger: a logger's filters see only the records logged on it, not its children's."""
    mask = _MaskOssSecrets()
    for name in ["oss2", *(n for n in logging.root.manager.loggerDict if n.startswith("oss2."))]:
        logging.getLogger(name).addFilter(mask)


_mask_oss_logs()


def _bucket(context: ToolContext) -> oss2.Bucket:
    sts = context.credential
    auth = oss2.StsAuth(sts.access_key_id, sts.access_key_secret, sts.security_token)
    endpoint = service_url(context, "oss_endpoint", "")
    return oss2.Bucket(auth, endpoint, context.settings.oss_bucket, connect_timeout=context.timeout)


def _oss_call(call: Callable[[], T]) -> T:
    try:
        return call()
    except oss2.exceptions.OssError as error:
        raise ServiceFailed(f"OSS refused: {error.code} {error.message}") from None
    except oss2.exceptions.RequestError as error:
        raise ServiceFailed(f"OSS did not answer ({error.__class__.__name__})") from None


@tool(CredentialSpec("sts"))
def list_oss_objects(context: ToolContext, prefix: Annotated[str, OSS_PREFIX] = "") -> str:
    """List the files in the demo OSS bucket, optionally under a prefix."""
    bucket = _bucket(context)
    listed: Any = _oss_call(lambda: bucket.list_objects_v2(prefix=prefix, max_keys=100))
    files = [{"key": o.key, "size": o.size} for o in listed.object_list]
    return json.dumps({"bucket": bucket.bucket_name, "files": files}, ensure_ascii=False)


@tool(CredentialSpec("sts"))
def read_oss_object(context: ToolContext, key: Annotated[str, OSS_OBJECT_KEY]) -> str:
    """Read a text file from the demo OSS bucket."""
    result: Any = _oss_call(lambda: _bucket(context).get_object(key))
    data = result.read(MAX_TEXT_BYTES + 1)
    content_type = result.headers.get("Content-Type", "")
    try:
        text = data[:MAX_TEXT_BYTES].decode("utf-8")
    except UnicodeDecodeError:
        return f"{key} is a binary file ({content_type or 'unknown type'}, {result.content_length} bytes)."
    suffix = "\n[truncated at 64 KiB]" if len(data) > MAX_TEXT_BYTES else ""
    return text + suffix
