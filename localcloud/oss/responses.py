"""What OSS answers on the wire: object headers and the `ListBucketResult` documents oss2 parses.

oss2's parser requires Key, LastModified (`YYYY-MM-DDTHH:MM:SS.000Z`), ETag, Type, Size and StorageClass
in every `Contents`; with `<EncodingType>url</EncodingType>` it URL-decodes keys, prefixes and markers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import formatdate
from urllib.parse import quote
from xml.etree import ElementTree

from localcloud.oss.listing import ListPage, ListParams, encode_token
from localcloud.oss.models import StoredObject

__all__ = ["list_result_xml", "object_headers"]

_ELEMENT = ElementTree.Element
Encoder = Callable[[str], str]  # str itself, or URL-encoding for encoding-type=url


def object_headers(stored: StoredObject) -> dict[str, str]:
    """The headers HEAD and GET send for an object (Content-Length is set by the caller)."""
    headers = {
        "content-type": stored.content_type,
        "etag": f'"{stored.etag}"',
        "last-modified": formatdate(stored.last_modified, usegmt=True),
        "x-oss-hash-crc64ecma": str(stored.crc64),
        "x-oss-object-type": "Normal",
        "x-oss-storage-class": "Standard",
    }
    headers.update(stored.user_meta)
    return headers


def _iso_millis(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _add(parent: ElementTree.Element, tag: str, text: str | int | bool) -> ElementTree.Element:
    child = ElementTree.SubElement(parent, tag)
    child.text = str(text).lower() if isinstance(text, bool) else str(text)
    return child


def _owner(parent: ElementTree.Element, account: str) -> None:
    owner = ElementTree.SubElement(parent, "Owner")
    _add(owner, "ID", account)
    _add(owner, "DisplayName", account)


def _contents(root: ElementTree.Element, stored: StoredObject, encode: Encoder, owner: str | None) -> None:
    node = ElementTree.SubElement(root, "Contents")
    _add(node, "Key", encode(stored.key))
    _add(node, "LastModified", _iso_millis(stored.last_modified))
    _add(node, "ETag", f'"{stored.etag}"')
    _add(node, "Type", "Normal")
    _add(node, "Size", stored.size)
    _add(node, "StorageClass", "Standard")
    if owner is not None:
        _owner(node, owner)


def _head(root: ElementTree.Element, bucket: str, params: ListParams, page: ListPage, encode: Encoder) -> None:
    _add(root, "Name", bucket)
    _add(root, "Prefix", encode(params.prefix))
    if params.version == 1:
        _add(root, "Marker", encode(params.marker))
    else:
        if params.marker:
            _add(root, "StartAfter", encode(params.marker))
        if params.continuation_token:
            _add(root, "ContinuationToken", params.continuation_token)
    _add(root, "MaxKeys", params.max_keys)
    _add(root, "Delimiter", encode(params.delimiter))
    if params.url_encoded:
        _add(root, "EncodingType", "url")
    _add(root, "IsTruncated", page.truncated)
    if params.version == 2:
        _add(root, "KeyCount", page.key_count)
    if page.truncated:
        _next_marker(root, params, page, encode)


def _next_marker(root: ElementTree.Element, params: ListParams, page: ListPage, encode: Encoder) -> None:
    if params.version == 1:
        _add(root, "NextMarker", encode(page.next_marker))
    else:
        _add(root, "NextContinuationToken", encode_token(page.next_marker))


def list_result_xml(bucket: str, account: str, params: ListParams, page: ListPage) -> bytes:
    """The `ListBucketResult` of ListObjects (v1, always with owners) or ListObjectsV2."""
    encode = _url_encode if params.url_encoded else str
    root = _ELEMENT("ListBucketResult")
    _head(root, bucket, params, page, encode)
    owner = account if params.version == 1 or params.fetch_owner else None
    for stored in page.objects:
        _contents(root, stored, encode, owner)
    for prefix in page.prefixes:
        _add(ElementTree.SubElement(root, "CommonPrefixes"), "Prefix", encode(prefix))
    return ElementTree.tostring(root, encoding="UTF-8", xml_declaration=True)


def _url_encode(text: str) -> str:
    return quote(text, safe="/")
