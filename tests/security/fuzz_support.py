"""What the fuzz tests share: hypothesis settings, malformed-value strategies, answer checks and the case tally.

The tests send real HTTP to real servers; these helpers only generate bad input, check that each answer is an
error a client can read (never a 5xx, never a traceback) and count how many cases ran, per surface, into
`test-artifacts/security/fuzz.json`.
"""

from __future__ import annotations

import copy
import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from tests.conftest import repo_root

__all__ = [
    "ABSENT",
    "DEADLINE_SECONDS",
    "FLIPS",
    "HUGE",
    "LARGE_REPR",
    "NASTY",
    "REPORT",
    "TIMEOUT",
    "BoundedClient",
    "Tally",
    "fuzz_settings",
    "header_safe",
    "header_values",
    "huge_strings",
    "json_documents",
    "json_texts",
    "mutated",
    "no_server_error",
    "padded",
    "scalars",
    "single_field_mutations",
    "write_report",
]

# A failing example holding a 100 KB string makes hypothesis warn that its report is large; the warning must not
# (under filterwarnings=error) replace the failure it reports. Test modules apply this filter to themselves.
LARGE_REPR = "ignore:Generating overly large repr:hypothesis.errors.HypothesisWarning"
REPORT = repo_root() / "test-artifacts" / "security" / "fuzz.json"
HUGE = 100_000  # characters: well past every length limit localcloud and the app enforce
# Each request may wait this long for a byte, and this long in all: the machine is shared and busy, but no answer
# may take forever.
TIMEOUT = httpx.Timeout(20.0, connect=5.0)
DEADLINE_SECONDS = 30.0

# Values a person would try by hand: empty, control characters, numbers that overflow or are not numbers,
# JSON where a scalar belongs (and broken JSON), URL tricks, path tricks, markup, and Unicode oddities.
NASTY: tuple[str, ...] = (
    "", " ", "\t", "\x00", "\x00abc", "\r\n", "\n", "\x7f", "\x1b[31m", "null", "None", "undefined", "true", "True ",
    "FALSE", "yes", "NaN", "Infinity", "-Infinity", "-1", "0", "-0", "01", "+5", "1.5", "1e309", "-1e309", "0x1F",
    "1_000", "٣", "²", "9" * 40, "-9223372036854775809", "18446744073709551616", "[]", "{}", "[{}]", "[null]",
    '[""]', "[1,2]", '{"a":', '{"a":1}', "[" * 3000 + "]" * 3000, '["\\ud800"]', '"\\udfff"', '{"\\ud800":1}',
    '{"UserId":null}', '{"UserId":123}', '{"UserJWT":["x"]}', '{"UserId":"\\u0000"}', "'; DROP TABLE t;--",
    "../../etc/passwd", "%00", "%ff", "%", "<script>alert(1)</script>", "javascript:alert(1)", "//evil.example",
    "http://", "http://[::1", "http://[", "http://a:99999/", "http://a:-1/", "http://[fe80::1%eth0]/",
    "http://user@evil.example\\@good/", "https://evil.example/callback", "file:///etc/passwd",
    "http://127.0.0.1:1/", "urn:ietf:params:oauth:request_uri:", "urn:ietf:params:oauth:request_uri:../x",
    "acs:ram::1:role/x", "acs:ram::*:role/*", "*", "\u202etxt.exe", "\ufeffBOM", "😀" * 5, "é", "Z\u0351\u0352",
    "a" * 65, "a" * 1025, "USER_FEDERATION ", "user_federation", "M2M\x00", "S256 ", "plain", "none",
)


def fuzz_settings(max_examples: int) -> settings:
    """Deterministic settings (CI sees the same cases every run) with no per-example deadline.

    No shrinking, and the first failure ends the test: each further case may be a real request that waits out the
    timeout (a hang), so a failure is reported as generated, at once. No example database: derandomized runs would
    not use it, and it would leave `.hypothesis/` in the tree. The servers are module-scoped fixtures shared on
    purpose, hence the suppressed health checks.
    """
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                    phases=(Phase.explicit, Phase.generate), report_multiple_bugs=False, print_blob=False,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large, HealthCheck.large_base_example])


def huge_strings() -> st.SearchStrategy[str]:
    """One character repeated past a limit, up to HUGE characters (cheap to build, costly to mishandle)."""
    return st.builds(lambda char, n: char * n, st.sampled_from(["A", "é", "\x00", "%", "😀", "&", "=", "[", "\\"]),
                     st.sampled_from([257, 1025, 2049, 8193, 16385, 65537, HUGE]))


def json_documents(keys: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[Any]:
    """Any JSON document, its object keys from `keys` (e.g. the field names a service reads) or random text."""
    names = keys if keys is not None else st.text(max_size=12)
    leaves = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | st.sampled_from(NASTY)
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(names, inner, max_size=5),
                        max_leaves=12)


def _slots(document: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) inside a JSON document, depth first."""
    found: list[tuple[Any, Any]] = []
    items = document.items() if isinstance(document, dict) else enumerate(document) if isinstance(document, list) \
        else ()
    for key, value in items:
        found.append((document, key))
        found.extend(_slots(value))
    return found


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[Any], junk: st.SearchStrategy[Any] | None = None,
            most: int = 2) -> Any:
    """A valid document with up to `most` of its fields (at any depth) removed, or replaced by a value of another
    type or by `junk`.

    Structure-aware: a request that is right but for one or two fields gets past the first checks, so the
    junk reaches the code that uses those fields, where a random document would be refused at the door."""
    document = draw(valid)
    # Uniform over the slots: hypothesis' own choices favour the first ones, which would mutate `model` or the like
    # most of the time.
    chance = draw(st.randoms(use_true_random=False))
    for _ in range(draw(st.integers(0, most))):
        slots = _slots(document)
        if not slots:
            break
        container, key = chance.choice(slots)
        choice = draw(st.sampled_from(["delete", "flip", "flip", "junk"]))
        if choice == "delete" and isinstance(container, dict):
            del container[key]
        elif choice == "junk" and junk is not None:
            container[key] = draw(junk)
        else:
            container[key] = draw(_flipped(container[key]))
    return document


# One value of each JSON type (and an absent field): what a single-field sweep puts in every slot in turn.
FLIPS: tuple[Any, ...] = (None, True, 7, "x", [], {}, [7])
ABSENT = object()


def single_field_mutations(document: Any) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, document) with exactly one field replaced by each value of FLIPS of another type, or removed.

    Exhaustive where random mutation is not: a field read only deep in a handler gets every type confusion."""
    for path in _paths(document):
        for value in (*FLIPS, ABSENT):
            changed = copy.deepcopy(document)
            container = changed
            for step in path[:-1]:
                container = container[step]
            current = container[path[-1]]
            if value is ABSENT:
                if not isinstance(container, dict):
                    continue
                del container[path[-1]]
            elif type(value) is type(current) and value == current:
                continue
            else:
                container[path[-1]] = value
            yield path, changed


def _paths(document: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    items = document.items() if isinstance(document, dict) else enumerate(document) if isinstance(document, list) \
        else ()
    for key, value in items:
        yield (*prefix, key)
        yield from _paths(value, (*prefix, key))


def _flipped(value: Any) -> st.SearchStrategy[Any]:
    """A value of another JSON type than `value`: a scalar where a list or object was, a container for a scalar."""
    scalars_ = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    if isinstance(value, dict | list):
        return scalars_ | (st.lists(scalars_, max_size=2) if isinstance(value, dict) else st.dictionaries(
            st.text(max_size=4), scalars_, max_size=2))
    return st.lists(scalars_, max_size=2) | st.dictionaries(st.text(max_size=4), scalars_, max_size=2) | scalars_


def json_texts(keys: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[str]:
    """JSON documents as the text a client would send (NaN and Infinity included, as Python writes them)."""
    return json_documents(keys).map(lambda doc: json.dumps(doc, ensure_ascii=False))


def padded(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Values with leading and trailing whitespace, which parsers strip and HTTP headers may not carry."""
    return st.builds(lambda pad, value, end: pad + value + end, st.sampled_from([" ", "\t", "  ", ""]), values,
                     st.sampled_from([" ", "\t", "  "]))


def scalars(*, huge: bool = True) -> st.SearchStrategy[str]:
    """A parameter value as a client could send it: mistyped, malformed, oversized (unless `huge` is off) or odd."""
    kinds = [st.sampled_from(NASTY), st.text(max_size=40), padded(st.text(max_size=12)), st.integers().map(str),
             st.floats().map(str), json_texts()]
    return st.one_of(*kinds, *([huge_strings()] if huge else []))


def header_safe(value: bytes) -> bytes:
    """`value` as an HTTP/1.1 client may send it (h11 refuses the rest): no CR, LF, NUL, VT or FF, not starting or
    ending with a space or tab."""
    return value.translate(None, b"\r\n\x00\x0b\x0c").strip(b" \t")


def header_values() -> st.SearchStrategy[bytes]:
    """Bytes an HTTP client may put in a header value: Latin-1 and UTF-8 alike, control characters included."""
    text = st.text(st.characters(codec="latin-1"), max_size=60)
    return st.one_of(
        text.map(lambda value: value.encode("latin-1")),
        st.text(max_size=30).map(lambda value: value.encode()),
        st.sampled_from([b"", b" ", "é".encode(), "é".encode("latin-1"), "日本".encode(), b"\xff\xfe",
                         b"Bearer", b"Bearer ", b"Basic", b"Basic !!!", b"Basic Og==", b"APPCODE",
                         b"OSS", b"OSS :", b"OSS a:b", b"OSS4-HMAC-SHA256", b"ACS3-HMAC-SHA256 Credential=",
                         b"ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature=x", b"x" * 8000]),
    ).map(header_safe)


class BoundedClient:
    """An httpx client whose every answer must end within DEADLINE_SECONDS.

    The read timeout alone cannot see a hang: a stream that sends a keep-alive comment every few seconds (SSE)
    never trips it, and never ends either."""

    def __init__(self) -> None:
        self._http = httpx.Client(trust_env=False, timeout=TIMEOUT, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, url: httpx.URL | str, **kwargs: Any) -> httpx.Response:
        started = time.monotonic()
        with self._http.stream(method, url, **kwargs) as answer:
            chunks = []
            for chunk in answer.iter_bytes():
                chunks.append(chunk)
                assert time.monotonic() - started < DEADLINE_SECONDS, \
                    f"{method} {url}: the answer had not ended after {DEADLINE_SECONDS:.0f} s (a hang)"
            headers = [(name, value) for name, value in answer.headers.multi_items()
                       if name.lower() != "content-encoding"]  # the body below is already decoded
            return httpx.Response(answer.status_code, headers=headers, content=b"".join(chunks),
                                  request=answer.request)

    def get(self, url: httpx.URL | str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: httpx.URL | str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)


def no_server_error(response: httpx.Response) -> None:
    """The one property every answer has: not a 5xx, and no Python traceback in the body."""
    assert response.status_code < 500, f"{response.request.method} {response.request.url} answered " \
                                       f"{response.status_code}: {response.text[:800]!r}"
    assert "Traceback (most recent call last)" not in response.text, response.text[:2000]


class Tally:
    """Cases run per surface, and the seconds spent on each."""

    def __init__(self) -> None:
        self.cases: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()

    def count(self, surface: str) -> None:
        self.cases[surface] += 1

    @contextmanager
    def timed(self, surface: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.seconds[surface] += time.monotonic() - started


def write_report(module: str, tally: Tally, path: Path = REPORT) -> dict[str, Any]:
    """Merge one module's tally into the report (other modules' entries stay) and return the whole report."""
    report: dict[str, Any] = {}
    if path.is_file():
        try:
            report = json.loads(path.read_text())
        except ValueError:
            report = {}
    modules = report.get("modules") if isinstance(report.get("modules"), dict) else {}
    modules[module] = {"cases": dict(sorted(tally.cases.items())), "total": sum(tally.cases.values()),
                       "seconds": {k: round(v, 1) for k, v in sorted(tally.seconds.items())},
                       "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    surfaces: Counter[str] = Counter()
    for entry in modules.values():
        surfaces.update(entry.get("cases", {}))
    report = {"surfaces": dict(sorted(surfaces.items())), "total": sum(surfaces.values()), "modules": modules}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    return report
