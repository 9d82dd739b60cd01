"""Setup's self-diagnosis: the one-line causes (pure), and the facts gathered from localcloud through the SDKs."""

from __future__ import annotations

from alibabacloud_agentidentity20250901 import models as ai

from identity import provision
from identity.provision.diagnosis import SetupFacts, gather_facts, needs_check, setup_problem

CONFIG = {"mode": "local", "account_id": "1111", "inbound_app_id": "4071", "workload_identity_name": "workload-ab"}


def _facts(**changes: object) -> SetupFacts:
    fields: dict = {"where": "this local cloud", "mode": "local", "account_id": "1111", "inbound_app_exists": True,
                    "workload_identity_exists": True, **changes}
    return SetupFacts(**fields)


def test_a_config_of_this_cloud_has_no_problem():
    assert setup_problem(CONFIG, _facts()) is None


def test_another_account_is_named_with_both_ids():
    assert setup_problem(CONFIG, _facts(account_id="2222")) == (
        "`.config.json` was written for account 1111; this local cloud is account 2222.")


def test_another_mode_is_named_first():
    problem = setup_problem(CONFIG, _facts(mode="cloud", where="the account of the configured keys"))
    assert problem is not None and problem.startswith("`.config.json` was written in local mode")


def test_a_missing_application_or_workload_identity_is_named():
    assert "sign-in application 4071" in (setup_problem(CONFIG, _facts(inbound_app_exists=False)) or "")
    assert "workload identity workload-ab" in (setup_problem(CONFIG, _facts(workload_identity_exists=False)) or "")


def test_only_a_provisioned_config_is_checked():
    assert not needs_check({}) and not needs_check({"deployment_id": "ab"}) and needs_check(CONFIG)


def test_the_facts_come_from_the_cloud_and_follow_its_resources(clients, settings):
    provision.apply(clients, settings)
    config = provision.read_config(settings.config_json)
    target = clients.target

    assert setup_problem(config, gather_facts(config, target, clients)) is None

    clients.control().delete_workload_identity(
        ai.DeleteWorkloadIdentityRequest(workload_identity_name=config["workload_identity_name"]))
    problem = setup_problem(config, gather_facts(config, target, clients))
    assert problem is not None and config["workload_identity_name"] in problem

    elsewhere = {**config, "account_id": "999999"}
    assert "written for account 999999" in (setup_problem(elsewhere, gather_facts(elsewhere, target, clients)) or "")
