"""Benchmark 4: localcloud's signed data-plane throughput against a bare endpoint of the same server.

Signed requests are GetResourceAPIKey as the workload's role (STS keys plus security token), the call every
API-key tool makes: sequentially through the official Tea client, and as raw ACS3-signed HTTP from several
concurrent httpx connections. The baseline is `GET /_localcloud/health` on the same uvicorn, measured the
same way in the same run, so the ratio is what signature checks, policy and storage cost. localcloud's own
CPU time per request (from /proc) shows how much of a request is the server's.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlencode

import httpx
from alibabacloud_agentidentitydata20251127 import models as data

from bench.cloud import CloudProcess
from bench.plan import Plan
from bench.results import Results
from bench.stats import ratio
from bench.world import World
from identity.broker import StsCredentials
from localcloud.rpc.signing import sign_acs3

__all__ = ["THROUGHPUT", "run", "signed_headers"]

THROUGHPUT = "throughput"
DATA_VERSION = "2025-11-27"


def signed_headers(keys: StsCredentials, host: str, action: str, body: bytes) -> dict[str, str]:
    """ACS3-HMAC-SHA256 headers for one request, signed with STS keys as the SDK signs them."""
    headers = {"host": host, "x-acs-action": action, "x-acs-version": DATA_VERSION,
               "x-acs-date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "x-acs-signature-nonce": uuid.uuid4().hex, "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
               "content-type": "application/x-www-form-urlencoded", "accept": "application/json",
               "x-acs-security-token": keys.security_token}
    headers["authorization"] = sign_acs3(keys.access_key_id, keys.access_key_secret, "POST", "/", [], headers, body)
    return headers


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ServerCpu:
    """localcloud's CPU milliseconds per request over a measured stretch."""

    def __init__(self, pid: int) -> None:
        self.pid, self.start = pid, cpu_seconds(pid)

    def per_request(self, requests: float) -> float:
        return (cpu_seconds(self.pid) - self.start) * 1000 / requests if requests else float("nan")


def _sequential(call: Callable[[], object], seconds: float) -> tuple[float, int]:
    """Requests per second of back-to-back calls, and how many were made."""
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        call()
        done += 1
    return done / (time.perf_counter() - started), done


async def _concurrent(send: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]], workers: int,
                      seconds: float) -> tuple[float, int]:
    """Requests per second of `workers` connections sending as fast as answers come back, and how many."""
    done = 0
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    async with httpx.AsyncClient(trust_env=False, timeout=30, limits=limits) as client:
        started = time.perf_counter()

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() - started < seconds:
                (await send(client)).raise_for_status()
                done += 1

        await asyncio.gather(*(worker() for _ in range(workers)))
        return done / (time.perf_counter() - started), done


def _one_run(world: World, pid: int, plan: Plan, results: Results) -> None:
    user, url = world.user, world.cloud.url
    keys, wat = world.broker.sts_credentials(user), world.broker.workload_token(user).value
    provider = world.settings.api_key_provider_name
    client = world.clients.data((keys.access_key_id, keys.access_key_secret, keys.security_token))
    request = data.GetResourceAPIKeyRequest(resource_credential_provider_name=provider, workload_access_token=wat)
    body = urlencode({"ResourceCredentialProviderName": provider, "WorkloadAccessToken": wat}).encode()
    host = url.removeprefix("http://")

    def signed(http: httpx.AsyncClient) -> Awaitable[httpx.Response]:
        return http.post(f"{url}/", content=body, headers=signed_headers(keys, host, "GetResourceAPIKey", body))

    def bare(http: httpx.AsyncClient) -> Awaitable[httpx.Response]:
        return http.get(f"{url}/_localcloud/health")

    cpu = ServerCpu(pid)
    with httpx.Client(trust_env=False, timeout=30) as http:
        bare_seq, made = _sequential(lambda: http.get(f"{url}/_localcloud/health").raise_for_status(),
                                     plan.throughput_seconds)
    bare_cpu = cpu.per_request(made)
    cpu = ServerCpu(pid)
    sdk_seq, made = _sequential(lambda: client.get_resource_apikey(request), plan.throughput_seconds)
    sdk_cpu = cpu.per_request(made)
    bare_par, _ = asyncio.run(_concurrent(bare, plan.concurrency, plan.throughput_seconds))
    raw_par, _ = asyncio.run(_concurrent(signed, plan.concurrency, plan.throughput_seconds))
    c = plan.concurrency
    results.add(THROUGHPUT, "bare GET /_localcloud/health, sequential", bare_seq, "req/s")
    results.add(THROUGHPUT, "  localcloud CPU per bare GET", bare_cpu, "ms")
    results.add(THROUGHPUT, "GetResourceAPIKey, official client, sequential", sdk_seq, "req/s")
    results.add(THROUGHPUT, "  ratio to bare, sequential", ratio(sdk_seq, bare_seq), "x")
    results.add(THROUGHPUT, "  localcloud CPU per GetResourceAPIKey", sdk_cpu, "ms")
    results.add(THROUGHPUT, f"bare GET /_localcloud/health, {c} concurrent", bare_par, "req/s")
    results.add(THROUGHPUT, f"GetResourceAPIKey, raw ACS3 httpx, {c} concurrent", raw_par, "req/s")
    results.add(THROUGHPUT, f"  ratio to bare, {c} concurrent", ratio(raw_par, bare_par), "x")


def run(world: World, process: CloudProcess, plan: Plan, results: Results) -> None:
    """Every run of benchmark 4 (localcloud serves from its own process: `process`)."""
    results.section(THROUGHPUT, "4. localcloud throughput (signed data plane vs bare endpoint, same server)")
    for _ in range(plan.repeat):
        _one_run(world, process.process.pid, plan, results)
