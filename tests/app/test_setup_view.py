"""The Setup page's view model: labels, the resource table, help texts and banners, without Streamlit."""

from __future__ import annotations

from pathlib import Path

from identity.cloud import CloudTarget
from identity.errors import CloudError, ProvisioningError, SettingsError
from identity.provision import ProvisionInputs, StepReport
from ui import setup_view as view

THROTTLED = CloudError("Throttling.User", "Request was denied due to user flow control.", request_id="REQ-1")


def _report(status: str, key: str = "role", detail: str = "", error: CloudError | None = None) -> StepReport:
    return StepReport(key, f"Step {key}", f"resource-{key}", status, detail, error)


def _cloud_target() -> CloudTarget:
    return CloudTarget(mode="cloud", region="cn-beijing", protocol="https",
                       control_endpoint="agentidentity.cn-beijing.aliyuncs.com",
                       data_endpoint="agentidentitydata.cn-beijing.aliyuncs.com", ims_endpoint="ims.aliyuncs.com",
                       ram_endpoint="ram.aliyuncs.com", sts_endpoint="sts.cn-beijing.aliyuncs.com",
                       oauth_discovery_url="https://oauth.aliyun.com/.well-known/openid-configuration",
                       data_callback_prefix="https://agentidentitydata.cn-beijing.aliyuncs.com/oauth2/callback/")


def test_every_status_gets_its_own_icon_and_keeps_its_word():
    statuses = ["create", "keep", "drift", "needs input", "running", "created", "kept", "updated", "skipped",
                "deleted", "absent", "failed"]
    labels = [view.status_label(s) for s in statuses]
    assert all(label.endswith(f" {s}") for label, s in zip(labels, statuses, strict=True))
    assert all(not label.startswith("•") for label in labels)
    assert view.status_label("surprise") == "• surprise"


def test_report_table_has_one_row_per_step_in_order_with_the_four_columns():
    table = view.report_table([_report("create", "inbound_app"), _report("failed", "role", "Throttling.User: no")])
    assert list(table.columns) == ["Step", "Resource", "Status", "Detail"]
    assert table.to_dict("records") == [
        {"Step": "Step inbound_app", "Resource": "resource-inbound_app", "Status": "➕ create", "Detail": ""},
        {"Step": "Step role", "Resource": "resource-role", "Status": "❌ failed", "Detail": "Throttling.User: no"},
    ]


def test_empty_report_table_still_has_its_columns():
    assert list(view.report_table([]).columns) == list(view.COLUMNS)


def test_progress_line_names_the_step_resource_status_and_detail():
    line = view.progress_line(_report("skipped", detail="needs an API key"))
    assert line == "⏭️ skipped — **Step role**: `resource-role` (needs an API key)"
    assert view.progress_line(_report("running")).startswith("⏳ running — **Step role**")


def test_outcome_summary_counts_statuses_in_words_of_the_action():
    reports = [_report("create"), _report("create"), _report("keep")]
    assert view.outcome_summary(view.PLAN, reports) == "Plan finished: 2 to create, 1 to keep."
    assert view.outcome_summary(view.PROVISION, [_report("created"), _report("kept")]) == \
        "Provision finished: 1 created, 1 kept."
    assert view.outcome_summary(view.CLEAR, []) == "Clear finished: no steps."


def test_error_help_for_a_failed_step_names_step_code_message_request_id_and_how_to_resume():
    text = view.error_help(view.PROVISION, ProvisioningError("RAM role", THROTTLED))
    assert "**RAM role** failed with `Throttling.User`: Request was denied due to user flow control." in text
    assert "request id `REQ-1`" in text
    assert "wait a minute" in text
    assert "press Provision again: it resumes where it stopped" in text


def test_error_help_for_an_unknown_code_says_fix_the_cause_and_press_the_same_button_again():
    error = ProvisioningError("Workload identity", CloudError("InvalidParameter.Foo", "bad foo"))
    assert view.error_help(view.CLEAR, error) == (
        "**Workload identity** failed with `InvalidParameter.Foo`: bad foo\n\n"
        "Fix the cause, then press Clear again: it continues with what is left.")


def test_error_help_for_a_plan_error_and_a_settings_error():
    denied = view.error_help(view.PLAN, CloudError("NoPermission", "not allowed"))
    assert denied.startswith("Plan failed with `NoPermission`: not allowed")
    assert "grant it to the RAM user" in denied and denied.endswith("press Plan again.")
    settings = view.error_help(view.PROVISION, SettingsError(".config.json must hold a JSON object."))
    assert settings.startswith("Provision failed: .config.json must hold a JSON object.")


def test_state_records_success_and_failure_and_disarms_clear():
    state = view.SetupState(clear_armed=True, error="old")
    state.finished(view.PROVISION, [_report("created")])
    assert (state.summary, state.error, state.clear_armed) == ("Provision finished: 1 created.", "", False)
    state.clear_armed = True
    state.failed(view.CLEAR, [_report("deleted")], ProvisioningError("Role", THROTTLED))
    assert state.summary == "" and "Throttling.User" in state.error and not state.clear_armed
    assert [r.status for r in state.reports] == ["deleted"]


def test_cloud_banner_shows_account_and_region_or_says_how_to_read_the_account():
    target = _cloud_target()
    assert view.mode_banner(target, {"account_id": "1234"}) == (
        "Running on Alibaba Cloud: account 1234, region cn-beijing (agentidentity.cn-beijing.aliyuncs.com).")
    assert "not read yet (press Plan)" in view.mode_banner(target, {})


def test_clear_warning_counts_what_provision_created():
    text = view.clear_warning({"created": ["role", "inbound_app"]}, Path("/x/.config.json"))
    assert "deletes the 2 resources Provision created (inbound_app, role)" in text
    assert "removes .config.json" in text
    assert "records nothing" in view.clear_warning({}, Path(".config.json"))


def test_mcp_console_step_names_the_mcp_app_and_the_server_setting():
    text = view.mcp_console_step({"mcp_app_name": "aliyun-mcp-1a2b3c4d"}, None)
    assert "**resourcecenter**" in text and "`aliyun-mcp-1a2b3c4d`" in text
    assert "`MCP_SERVER` is not set yet." in text
    later = view.mcp_console_step({}, "https://mcp.example/rc")
    assert "appears here after Provision" in later and "`MCP_SERVER` is set to `https://mcp.example/rc`" in later


def test_provision_inputs_treat_blank_fields_as_not_given_and_hide_secrets():
    inputs = view.provision_inputs(" key-1 ", "", None)
    assert inputs == ProvisionInputs(api_key="key-1")
    assert "key-1" not in repr(view.provision_inputs("key-1", "id", "very-secret")) + repr(inputs)
    assert "very-secret" not in repr(view.provision_inputs("key-1", "id", "very-secret"))
