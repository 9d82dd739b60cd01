"""`python -m bench --quick` end to end: one table, a JSON document of the right shape, and cache hits that
cost no remote call. Never timings: on a shared machine they prove nothing."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.results import Results, render_table
from bench.stats import percentile, summarize
from identity.cloud import PROXY_VARIABLES
from tests.conftest import repo_root

SECTIONS = ["calls", "resolution", "consent", "throughput", "startup", "chat", "state", "service", "gateway"]
_PROXIES = PROXY_VARIABLES


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    output = tmp_path_factory.mktemp("bench") / "latest.json"
    env = {k: v for k, v in os.environ.items() if k not in _PROXIES and not k.startswith("ALIBABA_CLOUD")}
    done = subprocess.run([sys.executable, "-m", "bench", "--quick", "--output", str(output)], cwd=repo_root(),
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"bench failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done.stdout, json.loads(Path(output).read_text())


def _figures(document: dict, key: str) -> dict[str, dict]:
    section = next(s for s in document["sections"] if s["key"] == key)
    return {f["name"]: f for f in section["figures"]}


def test_one_table_with_every_benchmark_in_order(quick_run):
    table, document = quick_run
    assert [line for line in table.splitlines() if line.startswith("figure")] == [table.splitlines()[0]]
    titles = [s["title"] for s in document["sections"]]
    assert [s["key"] for s in document["sections"]] == SECTIONS
    assert [title[:2] for title in titles] == ["1.", "2.", "3.", "4.", "5.", "6.", "7.", "8.", "9."]
    positions = [table.index(title) for title in titles]
    assert positions == sorted(positions)
    assert document["table"].strip() == table.strip()


def test_every_figure_has_a_median_within_its_extremes(quick_run):
    _, document = quick_run
    assert document["mode"] == "quick" and document["repeat"] == 1
    for section in document["sections"]:
        if section["status"] != "ok":
            assert section["status"] == "not available yet" and section["reason"]
            continue
        assert section["figures"], section["key"]
        for figure in section["figures"]:
            assert set(figure) == {"name", "unit", "median", "min", "max", "runs", "note"}
            if figure["median"] is not None:
                assert figure["min"] <= figure["median"] <= figure["max"] and figure["runs"] == 1


def test_our_cached_credentials_cost_zero_remote_calls(quick_run):
    calls = _figures(quick_run[1], "calls")
    for kind in ("API key", "STS", "OAuth2"):
        assert calls[f"{kind}: ours, cached call"]["max"] == 0
        assert calls[f"{kind}: ours, first call"]["min"] >= 1
        assert calls[f"{kind}: SDK, repeated call"]["min"] >= 1  # the SDK refetches its workload token every call


def test_the_state_benchmark_measures_both_engines_across_processes_and_the_cached_call(quick_run):
    state = _figures(quick_run[1], "state")
    for engine in ("SQLite", "PostgreSQL"):  # PostgreSQL is installed wherever the tests run (.ci/run)
        assert state[f"consent wake-up, other process, {engine}, p95"]["median"] > 0
    assert state["consent wake-up, same process (SQLite), p95"]["median"] > 0
    assert state["with the store / before, cached call"]["median"] > 0


def test_the_comparisons_are_ratios_measured_in_the_same_run(quick_run):
    _, document = quick_run
    ratios = [f for s in document["sections"] for f in s["figures"] if f["unit"] == "x"]
    assert {"resolution", "consent", "throughput", "startup", "state", "service", "gateway"} <= {
        s["key"] for s in document["sections"] if any(f["unit"] == "x" for f in s["figures"])}
    assert all(f["median"] is None or f["median"] > 0 for f in ratios)


def test_percentiles_interpolate_between_ranks():
    assert percentile([5.0], 99) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([4.0, 1.0, 3.0, 2.0], 100) == 4.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_a_figure_is_the_median_over_runs_and_skips_missing_values():
    figure = summarize("s", "n", "ms", [3.0, math.nan, 1.0, 2.0])
    assert (figure.median, figure.low, figure.high, figure.runs) == (2.0, 1.0, 3.0, 3)
    assert summarize("s", "n", "ms", [math.nan]).as_json()["median"] is None


def test_an_unavailable_benchmark_is_one_row_saying_so():
    results = Results()
    results.section("chat", "6. Chat").unavailable = "no agent yet"
    table = render_table(results)
    assert "not available yet" in table and "no agent yet" in table
    assert results.as_json()[0]["status"] == "not available yet"
