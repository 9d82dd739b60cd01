"""Settings: one object, environment over st.secrets over config.yml over defaults; clear errors."""

from __future__ import annotations

import pytest

from identity.errors import SettingsError
from identity.settings import load_settings


def test_defaults_give_local_mode_with_the_sample_names(tmp_path):
    settings = load_settings({}, config_file=tmp_path / "none.yml")
    assert (settings.mode, settings.region, settings.dashscope_model_name) == ("local", "cn-beijing", "qwen3-max")
    assert settings.consent_return_url == "http://localhost:8501/callback"
    assert settings.localcloud_public_url == "http://localhost:8501/lc"
    assert settings.api_key_provider_name == "test-provider-api-key"


def test_environment_wins_over_secrets_over_config_file(tmp_path):
    config = tmp_path / "config.yml"
    config.write_text("DASHSCOPE_MODEL_NAME: from-file\nMCP_SERVER: http://file.example/mcp\nOSS_BUCKET: file-b\n")
    settings = load_settings({"DASHSCOPE_MODEL_NAME": "from-env"},
                             secrets={"DASHSCOPE_MODEL_NAME": "from-secrets", "OSS_BUCKET": "secret-b"},
                             config_file=config)
    assert (settings.dashscope_model_name, settings.oss_bucket) == ("from-env", "secret-b")
    assert settings.mcp_server == "http://file.example/mcp"


def test_an_access_key_means_cloud_mode_unless_it_came_from_localcloud(tmp_path):
    keys = {"ALIBABA_CLOUD_ACCESS_KEY_ID": "id", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "secret"}
    assert load_settings(keys, config_file=tmp_path / "x").mode == "cloud"
    assert load_settings({**keys, "LOCALCLOUD_URL": "http://127.0.0.1:8790"}, config_file=tmp_path / "x").mode == \
        "local"
    assert load_settings({**keys, "AGENT_IDENTITY_MODE": "local"}, config_file=tmp_path / "x").mode == "local"


def test_secret_values_never_show_in_the_repr(tmp_path):
    settings = load_settings({"ALIBABA_CLOUD_ACCESS_KEY_ID": "id", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "s3cr3t",
                              "DASHSCOPE_API_KEY": "sk-abc"}, config_file=tmp_path / "x")
    assert "s3cr3t" not in repr(settings) and "sk-abc" not in repr(settings)


@pytest.mark.parametrize(("environ", "names"), [
    ({"AGENT_IDENTITY_MODE": "hybrid"}, "AGENT_IDENTITY_MODE"),
    ({"AGENT_IDENTITY_MODE": "cloud"}, "ALIBABA_CLOUD_ACCESS_KEY_ID"),
    ({"APP_REDIRECT_URI": "localhost:8501"}, "APP_REDIRECT_URI"),
    ({"MCP_SERVER": "ftp://x"}, "MCP_SERVER"),
    ({"LOCALCLOUD_PORT": "eighty"}, "LOCALCLOUD_PORT"),
    # the Chat page sends the users' ID tokens there: never in the clear to another machine
    ({"AGENT_ENDPOINT": "http://agent.example/process"}, "AGENT_ENDPOINT.*ID tokens would cross the network"),
])
def test_bad_values_name_the_setting_and_the_fix(tmp_path, environ, names):
    with pytest.raises(SettingsError, match=names):
        load_settings(environ, config_file=tmp_path / "x")


def test_the_agent_service_may_be_https_anywhere_or_http_on_this_machine(tmp_path):
    for endpoint in ("https://agent.example/process", "http://127.0.0.1:8080/process"):
        assert load_settings({"AGENT_ENDPOINT": endpoint}, config_file=tmp_path / "x").agent_endpoint == endpoint


def test_a_broken_config_file_says_so(tmp_path):
    config = tmp_path / "config.yml"
    config.write_text("MCP_SERVER: [unclosed\n")
    with pytest.raises(SettingsError, match=r"config\.yml"):
        load_settings({}, config_file=config)
    config.write_text("- a list\n")
    with pytest.raises(SettingsError, match="NAME: value"):
        load_settings({}, config_file=config)
