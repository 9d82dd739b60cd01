"""Tools for the secret-hygiene case: canaries and the scanners, a capture of every log record and of the
process's output, and a recording stand-in for DashScope's endpoint that sees exactly what the model is sent.

Nothing here fakes the app: the recorder is a reverse proxy in front of localcloud's real DashScope stand-in, so
the model's requests are observed on the wire, as a real DashScope would receive them.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import quote

import httpx
import streamlit.logger

__all__ = ["Canaries", "LogCapture", "ModelRecorder", "OutputCapture", "canary", "file_bytes"]

MIN_SECRET_CHARS = 12  # shorter values (a port, a flag) would match by chance
FRAGMENT_CHARS = 24    # a piece this long of a random secret matches nothing else by chance


def canary(label: str) -> str:
    """A unique, greppable secret to plant: `CANARY-<label>-<uuid hex>`."""
    return f"CANARY-{label}-{uuid.uuid4().hex}"


def _forms(value: str) -> set[bytes]:
    """What finding a secret looks for: the value, URL-encoded too (as in a query), and for long values three
    24-character pieces (a third in, two thirds in, the end), so a secret shown in part is still found. Never
    its head: secrets share structural heads (every JWT's header, a key's prefix) with values that may show."""
    forms = {value, quote(value, safe="")}
    if len(value) >= 2 * FRAGMENT_CHARS:
        starts = (len(value) // 3, 2 * len(value) // 3, len(value) - FRAGMENT_CHARS)
        forms |= {value[start:start + FRAGMENT_CHARS] for start in starts}
    return {form.encode() for form in forms}


@dataclass
class Canaries:
    """Secrets by name. A value is found in a text in its own form, URL-encoded, or as a long piece of it; a
    fingerprint (`sha256:…`) or a short masked prefix is not the value, so it is never found."""

    values: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, value: str | None) -> None:
        """Another value under a name already taken is kept too, as "name (2)"; a value already kept is not."""
        if not value or len(value) < MIN_SECRET_CHARS or value in self.values.values():
            return
        unique, number = name, 1
        while unique in self.values:
            number += 1
            unique = f"{name} ({number})"
        self.values[unique] = value

    def add_all(self, prefix: str, values: Iterable[str]) -> None:
        for number, value in enumerate(sorted(set(values)), 1):
            self.add(f"{prefix} #{number}", value)

    def without(self, *names: str) -> Canaries:
        return Canaries({name: value for name, value in self.values.items() if name not in names})

    def found_in(self, text: str | bytes) -> list[str]:
        """The names of the canaries the text holds; never their values, so a failure message leaks nothing."""
        data = text if isinstance(text, bytes) else text.encode("utf-8", "replace")
        return sorted(name for name, value in self.values.items() if any(form in data for form in _forms(value)))


def file_bytes(root: Path) -> dict[str, bytes]:
    """Every file under `root` (or `root` itself), by path: SQLite databases, their journals, JSON, anything."""
    paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return {str(path): path.read_bytes() for path in paths}


# -- logs: every record any logger handles, at DEBUG --------------------------------------------------------------
class LogCapture:
    """Every log record at DEBUG and above from every logger, as an operator gets with the root logger at DEBUG
    and Streamlit's `logger.level=debug`; records are taken where each logger hands them to its handlers, so
    loggers that do not propagate (Streamlit's) are seen too. Levels a library sets on its own logger stay: that
    is what such a process runs with."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._format = logging.Formatter("%(name)s %(levelname)s %(message)s")

    def _take(self, record: logging.LogRecord) -> None:
        try:
            line = self._format.format(record)  # with the exception's traceback, if it has one
        except Exception as error:  # a library's malformed record must not hide the others
            line = f"{record.name} unformattable record {record.msg!r} {record.args!r}: {error}"
        with self._lock:
            self.lines.append(line)

    @contextmanager
    def active(self) -> Iterator[LogCapture]:
        original = logging.Logger.callHandlers
        capture = self

        def call_handlers(logger: logging.Logger, record: logging.LogRecord) -> None:
            capture._take(record)
            original(logger, record)

        root, root_level, disabled = logging.getLogger(), logging.getLogger().level, logging.root.manager.disable
        streamlit_level = streamlit.logger._global_log_level  # what `--logger.level` set; restored below
        root.setLevel(logging.DEBUG)
        logging.disable(logging.NOTSET)
        streamlit.logger.set_log_level("debug")
        try:
            with mock.patch.object(logging.Logger, "callHandlers", call_handlers):
                yield self
        finally:
            streamlit.logger.set_log_level(streamlit_level)
            logging.disable(disabled)
            root.setLevel(root_level)

    def text(self) -> str:
        with self._lock:
            return "\n".join(self.lines)


# -- stdout and stderr: Python's and the file descriptors' -----------------------------------------------------------
class OutputCapture:
    """What the process writes to stdout and stderr while active: `print`, `sys.stderr`, and anything writing to
    file descriptors 1 and 2 directly (C extensions, subprocesses that inherit them)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def active(self) -> Iterator[OutputCapture]:
        sys.stdout.flush()
        sys.stderr.flush()
        saved_fds = (os.dup(1), os.dup(2))
        saved_streams = (sys.stdout, sys.stderr)
        with self.path.open("wb") as sink, io.TextIOWrapper(io.FileIO(os.dup(sink.fileno()), "w"),
                                                             write_through=True) as text:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            sys.stdout = sys.stderr = text
            try:
                yield self
            finally:
                text.flush()
                sys.stdout, sys.stderr = saved_streams
                for fd, saved in zip((1, 2), saved_fds, strict=True):
                    os.dup2(saved, fd)
                    os.close(saved)

    def text(self) -> str:
        return self.path.read_text(errors="replace")


# -- the model's wire ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelRequest:
    path: str
    headers: dict[str, str]   # every header but Authorization, whose key is DashScope's to receive
    body: bytes


class ModelRecorder:
    """DashScope's endpoint as the app sees it: it checks the app's key (the DASHSCOPE_API_KEY the app is
    configured with), keeps each request, and passes it to localcloud's stand-in with localcloud's own key. The
    answer, a stream included, goes back unchanged (buffered: the SDK reads SSE from a whole body too)."""

    def __init__(self, upstream: str, upstream_key: str, accepted_key: str) -> None:
        self.upstream, self.upstream_key, self.accepted_key = upstream.rstrip("/"), upstream_key, accepted_key
        self.requests: list[ModelRequest] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, name="model-recorder", daemon=True)

    @property
    def url(self) -> str:
        """What DASHSCOPE_HTTP_BASE_URL takes (the stand-in's `/api/v1` path is kept)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/v1"

    def __enter__(self) -> ModelRecorder:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(request.body) for request in self.requests]

    def wire(self) -> bytes:
        """Everything recorded (paths, headers, bodies), to scan."""
        with self._lock:
            return b"\n".join(r.path.encode() + json.dumps(r.headers).encode() + r.body for r in self.requests)

    def _forward(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str, bytes]:
        if headers.get("authorization", "") != f"Bearer {self.accepted_key}":
            refusal = {"request_id": str(uuid.uuid4()), "code": "InvalidApiKey", "message": "Invalid API-key provided."}
            return 401, "application/json", json.dumps(refusal).encode()
        with self._lock:
            self.requests.append(ModelRequest(path, {k: v for k, v in headers.items() if k != "authorization"}, body))
        passed = {k: v for k, v in headers.items() if k in ("content-type", "accept", "x-dashscope-sse")}
        upstream_path = path.removeprefix("/api/v1")
        with httpx.Client(trust_env=False, timeout=30) as client:
            answer = client.post(f"{self.upstream}{upstream_path}", content=body,
                                 headers={**passed, "authorization": f"Bearer {self.upstream_key}"})
        return answer.status_code, answer.headers.get("content-type", "application/json"), answer.content

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server calls it by this name
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {name.lower(): value for name, value in self.headers.items()}
                status, content_type, answer = recorder._forward(self.path, headers, body)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_args: Any) -> None:  # its own access log would only add noise to the scans
                pass

        return Handler
