"""The client's SCHEDULE-HMAC-SHA256 signer (`tools.signing`) against localcloud's own verifier, over real HTTP.

The two sides are separate implementations of one wire rule; these requests carry queries where they could
disagree (repeated names, a name that prefixes another, spaces, slashes, "~", blank values, any order).
"""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pytest

from tests.localcloud.resource_credentials import CloudWorld, start_world, sts_keys
from tools.signing import sign_schedule_request

AWKWARD = [("date", "2026-03-02"), ("z", "2 3"), ("a-b", "1"), ("a", "x/y"), ("a", "~"), ("a", "é"), ("empty", "")]


@pytest.fixture(scope="module")
def signing_world(tmp_path_factory: pytest.TempPathFactory) -> CloudWorld:
    return start_world(tmp_path_factory.mktemp("signing-world"))


def _signed_get(world: CloudWorld, pairs: list[tuple[str, str]]) -> httpx.Response:
    url = f"{world.cloud.env()['LOCALCLOUD_SERVICES_URL']}/schedule?{urlencode(pairs)}"
    keys = sts_keys(world, "alice")
    headers = sign_schedule_request("GET", url, keys.access_key_id, keys.access_key_secret, keys.security_token,
                                    world.clock())
    return httpx.get(url, headers=headers, trust_env=False, timeout=10)


@pytest.mark.parametrize("pairs", [AWKWARD, list(reversed(AWKWARD))], ids=["as-written", "reversed"])
def test_localcloud_accepts_what_the_client_signed(signing_world, pairs):
    response = _signed_get(signing_world, pairs)
    assert response.status_code == 200, response.text
    assert response.json()["user_id"] == signing_world.subjects["alice"]
