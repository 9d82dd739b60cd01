"""`python -m bench [--quick] [--repeat N] [--only KEY ...] [--output PATH]`: every benchmark, one table, one JSON.

Everything runs against a fresh localcloud (its own process, a free port, a temporary data directory).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.cloud import running_cloud
from bench.environment import REPO_ROOT, adopt_cloud_environment, prepare_environment
from bench.plan import Plan, plan_for
from bench.results import Results, render_table

__all__ = ["BENCHMARKS", "DEFAULT_OUTPUT", "main"]

DEFAULT_OUTPUT = REPO_ROOT / "bench" / "results" / "latest.json"
BENCHMARKS = ("credentials", "consent", "throughput", "startup", "chat", "state", "service", "gateway")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny counts and one run (a smoke test, not figures)")
    parser.add_argument("--repeat", type=int, default=None, help="runs each figure is the median of")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS),
                        help="run only these benchmarks")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"JSON file (default {DEFAULT_OUTPUT})")
    return parser


def _run_identity_benchmarks(plan: Plan, chosen: Sequence[str], results: Results, workdir: Path) -> None:
    """Benchmarks 1-4 and 6 share one provisioned localcloud and one signed-in user."""
    with running_cloud(workdir / "localcloud") as process:
        cloud = process.handle()
        adopt_cloud_environment(cloud.env())
        # Only now: the Alibaba SDKs read the credential variables when they are imported.
        from bench import chat, consent, credentials, gateway, service, throughput
        from bench.official import OfficialSdk
        from bench.world import build_world

        world = build_world(cloud, workdir)
        try:
            sdk = OfficialSdk(world)
            if "credentials" in chosen:
                credentials.run(world, sdk, plan, results)
            if "consent" in chosen:
                consent.run(world, sdk, plan, results)
            if "throughput" in chosen:
                throughput.run(world, process, plan, results)
            if "chat" in chosen:
                chat.run(world, plan, results)
            if "service" in chosen:
                service.run(world, plan, results)
            if "gateway" in chosen:
                gateway.run(world, plan, results)
        finally:
            world.close()


def _document(plan: Plan, results: Results, table: str, seconds: float) -> dict[str, object]:
    return {"generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "mode": plan.name,
            "repeat": plan.repeat, "seconds": round(seconds, 1), "python": platform.python_version(),
            "cpus": os.cpu_count(), "sections": results.as_json(), "table": table}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    plan = plan_for(args.quick, args.repeat)
    prepare_environment()
    started, results = time.perf_counter(), Results()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        if set(args.only) - {"startup", "state"}:
            _run_identity_benchmarks(plan, args.only, results, workdir)
        if "startup" in args.only:
            from bench import startup
            startup.run(plan, results, workdir)
        if "state" in args.only:
            from bench import state
            state.run(plan, results, workdir)
    table = render_table(results)
    print(table)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(_document(plan, results, table, time.perf_counter() - started), indent=2))
    print(f"\n{plan.name} run, {plan.repeat} run(s) per figure, {time.perf_counter() - started:.0f} s; "
          f"figures in {args.output}", file=sys.stderr)
    return 0
