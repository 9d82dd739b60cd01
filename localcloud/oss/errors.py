"""OSS errors and their wire shape: an `<Error>` XML body, or a base64 `x-oss-err` header on HEAD.

Tree (status, then the `Code` oss2's `exceptions.make_exception` maps to a class where it knows one)::

    OssError                      root; answered as <Error><Code/><Message/><RequestId/><HostId/>…<EC/></Error>
    ├── InvalidArgument           400  a parameter or header has a bad value (oss2: InvalidArgument)
    ├── InvalidObjectName         400  key empty, too long, or starting with / or \\ (oss2: InvalidObjectName)
    ├── InvalidDigest             400  Content-MD5 does not match the body (oss2: InvalidDigest)
    ├── EntityTooLarge            400  body over localcloud's object size cap
    ├── NotImplemented            400  an OSS operation localcloud does not emulate (oss2: NotImplemented)
    ├── AccessDenied              403  anonymous request, or RAM policies deny it (oss2: AccessDenied)
    ├── InvalidAccessKeyId        403  no such AccessKey
    ├── InvalidSecurityToken      403  STS key without its token, or with another one
    ├── SecurityTokenExpired      403  STS key past its expiry
    ├── SignatureDoesNotMatch     403  wrong secret or altered request (oss2: SignatureDoesNotMatch)
    ├── RequestTimeTooSkewed      403  request time more than 15 minutes from the server's
    ├── NoSuchBucket              404  (oss2: NoSuchBucket)
    ├── NoSuchKey                 404  (oss2: NoSuchKey)
    └── InternalError             500  a localcloud bug; logged, never shown as a traceback

The wire code is a class attribute. Messages never echo a secret, a signature or a security token.
"""

from __future__ import annotations

import base64
import re
from xml.etree import ElementTree

from starlette.responses import Response

__all__ = [
    "AccessDenied",
    "EntityTooLarge",
    "InternalError",
    "InvalidAccessKeyId",
    "InvalidArgument",
    "InvalidDigest",
    "InvalidObjectName",
    "InvalidSecurityToken",
    "NoSuchBucket",
    "NoSuchKey",
    "NotImplementedByLocalCloud",
    "OssError",
    "RequestTimeTooSkewed",
    "SecurityTokenExpired",
    "SignatureDoesNotMatch",
    "error_response",
    "error_xml",
]

# EC is OSS's finer-grained error code. Where OSS documents the one it sends, we send it; otherwise
# this placeholder, so nobody mistakes a made-up code for a real one.
_UNKNOWN_EC = "0000-00000000"
# Control characters cannot appear in XML 1.0 at all, even escaped; a key may contain them.
_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


class OssError(Exception):
    """An OSS error response; `details` become extra child elements (Key, BucketName, ArgumentName...)."""

    code: str = "InternalError"
    status: int = 500
    ec: str = _UNKNOWN_EC

    def __init__(self, message: str, **details: str) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidArgument(OssError):
    code, status = "InvalidArgument", 400

    def __init__(self, message: str, name: str = "", value: str = "") -> None:
        super().__init__(message, **({"ArgumentName": name, "ArgumentValue": value} if name else {}))


class InvalidObjectName(OssError):
    code, status = "InvalidObjectName", 400


class InvalidDigest(OssError):
    code, status = "InvalidDigest", 400


class EntityTooLarge(OssError):
    code, status = "EntityTooLarge", 400


class NotImplementedByLocalCloud(OssError):
    code, status = "NotImplemented", 400


class AccessDenied(OssError):
    code, status = "AccessDenied", 403


class InvalidAccessKeyId(OssError):
    code, status = "InvalidAccessKeyId", 403


class InvalidSecurityToken(OssError):
    code, status, ec = "InvalidSecurityToken", 403, "0002-00000006"


class SecurityTokenExpired(OssError):
    code, status, ec = "SecurityTokenExpired", 403, "0002-00000007"


class SignatureDoesNotMatch(OssError):
    code, status, ec = "SignatureDoesNotMatch", 403, "0002-00000040"


class RequestTimeTooSkewed(OssError):
    code, status, ec = "RequestTimeTooSkewed", 403, "0002-00000504"


class NoSuchBucket(OssError):
    code, status, ec = "NoSuchBucket", 404, "0015-00000101"


class NoSuchKey(OssError):
    code, status, ec = "NoSuchKey", 404, "0026-00000001"


class InternalError(OssError):
    code, status = "InternalError", 500


def error_xml(error: OssError, request_id: str, host_id: str) -> bytes:
    """The `<Error>` document of an error response."""
    root = ElementTree.Element("Error")
    fields = {"Code": error.code, "Message": error.message, "RequestId": request_id, "HostId": host_id,
              **error.details, "EC": error.ec}
    for tag, text in fields.items():
        ElementTree.SubElement(root, tag).text = _XML_UNSAFE.sub("?", text)
    return ElementTree.tostring(root, encoding="UTF-8", xml_declaration=True)


def error_response(error: OssError, request_id: str, host_id: str, head: bool = False) -> Response:
    """The HTTP answer for an error; a HEAD answer has no body, so the XML travels in `x-oss-err`."""
    body = error_xml(error, request_id, host_id)
    headers = {"x-oss-request-id": request_id, "x-oss-ec": error.ec}
    if head:
        headers["x-oss-err"] = base64.b64encode(body).decode()
        return Response(status_code=error.status, headers={**headers, "content-length": "0"})
    return Response(body, status_code=error.status, media_type="application/xml", headers=headers)
