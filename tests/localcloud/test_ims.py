"""IMS through the official `alibabacloud_ims20190815` client over real HTTP to localcloud."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator

import pytest
from alibabacloud_ims20190815 import models as ims_models
from alibabacloud_ims20190815.client import Client as ImsClient
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi.exceptions import ClientException

import localcloud
from localcloud.services.ims import find_application, verify_app_secret
from localcloud.store import Store, open_store

INBOUND_REDIRECT = "http://localhost:8090"
MCP_REDIRECT = f"https://agentidentitydata.cn-beijing.aliyuncs.com/oauth2/callback/{uuid.uuid4()}"
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture
def ims(config: open_api_models.Config) -> ImsClient:
    return ImsClient(config)


@pytest.fixture
def store(fresh_cloud: localcloud.LocalCloud) -> Iterator[Store]:
    """A second connection to the running localcloud's store, for the readers the sign-in server uses."""
    opened = open_store(fresh_cloud.data_dir, time.time)
    yield opened
    opened.close()


def create_like_sample(ims: ImsClient, app_name: str, app_type: str, scopes: str,
                       redirect_uris: str) -> ims_models.CreateApplicationResponseBodyApplication:
    """`create_mcp_application` of the sample's prepare.py: display name = name, required = predefined."""
    request = ims_models.CreateApplicationRequest(
        app_name=app_name, app_type=app_type, display_name=app_name, predefined_scopes=scopes,
        redirect_uris=redirect_uris, required_scopes=scopes, protocol_version="2.1")
    return ims.create_application(request).body.application


def create_web_app(ims: ImsClient, name: str = "web-app", **fields: object) -> str:
    values = {"app_name": name, "display_name": name, "app_type": "WebApp", "redirect_uris": INBOUND_REDIRECT}
    request = ims_models.CreateApplicationRequest(**{**values, **fields})
    return ims.create_application(request).body.application.app_id


def create_native_app(ims: ImsClient, name: str = "native-app", **fields: object) -> str:
    values = {"app_name": name, "display_name": name, "app_type": "NativeApp", "redirect_uris": MCP_REDIRECT}
    request = ims_models.CreateApplicationRequest(**{**values, **fields})
    return ims.create_application(request).body.application.app_id


def client_error(call: object, *args: object) -> ClientException:
    with pytest.raises(ClientException) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value


def scope_flags(app: object) -> dict[str, bool]:
    return {s.name: s.required for s in app.delegated_scope.predefined_scopes.predefined_scope}  # type: ignore[attr-defined]


def test_sample_inbound_web_app_reads_back_with_every_field(ims: ImsClient,
                                                            fresh_cloud: localcloud.LocalCloud) -> None:
    name = f"aliyun-inbound-{uuid.uuid4()}"
    created = create_like_sample(ims, name, "WebApp", "aliuid;profile;openid", INBOUND_REDIRECT)

    app = ims.get_application(ims_models.GetApplicationRequest(app_id=created.app_id)).body.application

    assert re.fullmatch(r"[1-9]\d{18}", app.app_id)
    assert app.to_map() == created.to_map()
    assert (app.account_id, app.app_name, app.display_name) == (fresh_cloud.account_id, name, name)
    assert (app.app_type, app.protocol_version) == ("WebApp", "2.1")
    assert app.redirect_uris.redirect_uri == [INBOUND_REDIRECT]
    assert scope_flags(app) == {"aliuid": True, "profile": True, "openid": True}
    assert all(s.description for s in app.delegated_scope.predefined_scopes.predefined_scope)
    assert app.secret_required is True and app.is_multi_tenant is False
    assert (app.access_token_validity, app.refresh_token_validity) == (3600, 7776000)
    assert ISO_UTC.fullmatch(app.create_date) and app.update_date == app.create_date


def test_sample_mcp_native_app_reads_back_with_every_field(ims: ImsClient) -> None:
    name = f"aliyun-mcp-{uuid.uuid4()}"
    created = create_like_sample(ims, name, "NativeApp", "aliuid;profile;openid;/acs/mcp-server", MCP_REDIRECT)

    app = ims.get_application(ims_models.GetApplicationRequest(app_id=created.app_id)).body.application

    assert app.to_map() == created.to_map()
    assert (app.app_name, app.app_type, app.protocol_version) == (name, "NativeApp", "2.1")
    assert app.redirect_uris.redirect_uri == [MCP_REDIRECT]
    assert scope_flags(app) == {"aliuid": True, "profile": True, "openid": True, "/acs/mcp-server": True}
    mcp_scope = app.delegated_scope.predefined_scopes.predefined_scope[3]
    assert "MCP" in mcp_scope.description
    # Documented defaults of a native app: a public client, installable by other accounts, 30-day refresh.
    assert app.secret_required is False and app.is_multi_tenant is True
    assert (app.access_token_validity, app.refresh_token_validity) == (3600, 2592000)


def test_optional_fields_are_kept_and_only_required_scopes_are_flagged(ims: ImsClient) -> None:
    app_id = create_web_app(ims, predefined_scopes="openid;profile;/acs/ecs", required_scopes="openid",
                            redirect_uris=f"{INBOUND_REDIRECT};https://app.example.com/cb",
                            access_token_validity=900, refresh_token_validity=31536000, is_multi_tenant=True)

    app = ims.get_application(ims_models.GetApplicationRequest(app_id=app_id)).body.application

    assert scope_flags(app) == {"openid": True, "profile": False, "/acs/ecs": False}
    assert app.redirect_uris.redirect_uri == [INBOUND_REDIRECT, "https://app.example.com/cb"]
    assert (app.access_token_validity, app.refresh_token_validity, app.is_multi_tenant) == (900, 31536000, True)
    assert app.protocol_version == "2.0"


def test_web_app_always_requires_a_secret_and_native_app_may_opt_in(ims: ImsClient) -> None:
    web_id = create_web_app(ims, secret_required=False)
    native_id = create_native_app(ims, secret_required=True)

    web = ims.get_application(ims_models.GetApplicationRequest(app_id=web_id)).body.application
    native = ims.get_application(ims_models.GetApplicationRequest(app_id=native_id)).body.application

    assert (web.secret_required, native.secret_required) == (True, True)


def test_list_applications_returns_the_accounts_apps_in_creation_order(ims: ImsClient) -> None:
    assert ims.list_applications().body.applications.application == []
    web_id, native_id = create_web_app(ims), create_native_app(ims)

    listed = ims.list_applications().body.applications.application

    assert [(a.app_id, a.app_type) for a in listed] == [(web_id, "WebApp"), (native_id, "NativeApp")]
    assert listed[0].redirect_uris.redirect_uri == [INBOUND_REDIRECT]


def test_deleted_application_is_gone(ims: ImsClient) -> None:
    app_id = create_web_app(ims)
    kept_id = create_native_app(ims)

    ims.delete_application(ims_models.DeleteApplicationRequest(app_id=app_id))

    error = client_error(ims.get_application, ims_models.GetApplicationRequest(app_id=app_id))
    assert (error.code, error.status_code) == ("EntityNotExist.Application", 404)
    again = client_error(ims.delete_application, ims_models.DeleteApplicationRequest(app_id=app_id))
    assert again.code == "EntityNotExist.Application"
    assert [a.app_id for a in ims.list_applications().body.applications.application] == [kept_id]


def test_deleted_app_name_can_be_used_again(ims: ImsClient) -> None:
    first = create_web_app(ims, "reused")
    ims.delete_application(ims_models.DeleteApplicationRequest(app_id=first))

    assert create_web_app(ims, "reused") != first


def test_duplicate_app_name_is_refused(ims: ImsClient) -> None:
    create_web_app(ims, "taken")

    error = client_error(create_native_app, ims, "taken")

    assert (error.code, error.status_code) == ("EntityAlreadyExists.Application", 409)
    assert len(ims.list_applications().body.applications.application) == 1


@pytest.mark.parametrize(("fields", "code"), [
    ({"app_type": "MobileApp"}, "InvalidParameter.AppType"),
    ({"predefined_scopes": "openid", "required_scopes": "openid;profile"}, "InvalidParameter.RequiredScopes"),
    ({"access_token_validity": 899}, "InvalidParameter.AccessTokenValidity"),
    ({"access_token_validity": 10801}, "InvalidParameter.AccessTokenValidity"),
    ({"refresh_token_validity": 7199}, "InvalidParameter.RefreshTokenValidity"),
    ({"protocol_version": "3.0"}, "InvalidParameter.ProtocolVersion"),
    ({"redirect_uris": "/callback"}, "InvalidParameter.RedirectUris"),
    ({"redirect_uris": "https://app.example.com/cb#frag"}, "InvalidParameter.RedirectUris"),
    ({"app_name": "has spaces"}, "InvalidParameter.AppName"),
    ({"app_name": "x" * 65}, "InvalidParameter.AppName"),
    ({"app_name": None}, "MissingParameter.AppName"),
    ({"display_name": None}, "MissingParameter.DisplayName"),
    ({"app_type": None}, "MissingParameter.AppType"),
])
def test_bad_create_application_requests_are_refused(ims: ImsClient, fields: dict[str, object], code: str) -> None:
    values: dict[str, object] = {"app_name": "app", "display_name": "App", "app_type": "WebApp",
                                 "redirect_uris": INBOUND_REDIRECT}
    values.update(fields)

    error = client_error(ims.create_application, ims_models.CreateApplicationRequest(**values))

    assert (error.code, error.status_code) == (code, 400)
    assert ims.list_applications().body.applications.application == []


def test_app_secret_is_created_verified_and_deleted(ims: ImsClient, store: Store) -> None:
    app_id = create_web_app(ims)

    secret = ims.create_app_secret(ims_models.CreateAppSecretRequest(app_id=app_id)).body.app_secret

    assert secret.app_id == app_id and secret.app_secret_id and ISO_UTC.fullmatch(secret.create_date)
    assert len(secret.app_secret_value) >= 32
    assert verify_app_secret(store, store.meta("account_id") or "", app_id, secret.app_secret_value)
    listed = ims.list_app_secret_ids(ims_models.ListAppSecretIdsRequest(app_id=app_id)).body.app_secrets.app_secret
    assert [(s.app_secret_id, s.create_date) for s in listed] == [(secret.app_secret_id, secret.create_date)]

    ims.delete_app_secret(ims_models.DeleteAppSecretRequest(app_id=app_id, app_secret_id=secret.app_secret_id))

    assert not verify_app_secret(store, store.meta("account_id") or "", app_id, secret.app_secret_value)
    assert ims.list_app_secret_ids(ims_models.ListAppSecretIdsRequest(app_id=app_id)).body.app_secrets.app_secret == []


def test_verify_app_secret_refuses_wrong_values_and_other_apps(ims: ImsClient, store: Store) -> None:
    account = store.meta("account_id") or ""
    app_id, other_id = create_web_app(ims, "one"), create_web_app(ims, "two")
    value = ims.create_app_secret(ims_models.CreateAppSecretRequest(app_id=app_id)).body.app_secret.app_secret_value

    assert verify_app_secret(store, account, app_id, value)
    assert not verify_app_secret(store, account, app_id, value[:-1] + ("A" if value[-1] != "A" else "B"))
    assert not verify_app_secret(store, account, app_id, "")
    assert not verify_app_secret(store, account, other_id, value)
    assert not verify_app_secret(store, "1" * 16, app_id, value)


def test_both_secrets_are_valid_and_a_third_is_refused(ims: ImsClient, store: Store) -> None:
    account = store.meta("account_id") or ""
    app_id = create_web_app(ims)
    request = ims_models.CreateAppSecretRequest(app_id=app_id)
    values = [ims.create_app_secret(request).body.app_secret.app_secret_value for _ in range(2)]

    error = client_error(ims.create_app_secret, request)

    assert (error.code, error.status_code) == ("LimitExceeded.AppSecret", 409)
    assert all(verify_app_secret(store, account, app_id, value) for value in values)


def test_public_native_app_cannot_have_a_secret(ims: ImsClient) -> None:
    app_id = create_native_app(ims)

    error = client_error(ims.create_app_secret, ims_models.CreateAppSecretRequest(app_id=app_id))

    assert (error.code, error.status_code) == ("InvalidParameter.AppId", 400)
    assert "PKCE" in error.message


def test_native_app_that_requires_a_secret_can_have_one(ims: ImsClient) -> None:
    app_id = create_native_app(ims, secret_required=True)

    secret = ims.create_app_secret(ims_models.CreateAppSecretRequest(app_id=app_id)).body.app_secret

    assert secret.app_id == app_id and secret.app_secret_value


def test_secret_value_never_appears_in_reads(ims: ImsClient) -> None:
    app_id = create_web_app(ims)
    secret = ims.create_app_secret(ims_models.CreateAppSecretRequest(app_id=app_id)).body.app_secret

    reads = [
        ims.get_application(ims_models.GetApplicationRequest(app_id=app_id)).body.to_map(),
        ims.list_applications().body.to_map(),
        ims.list_app_secret_ids(ims_models.ListAppSecretIdsRequest(app_id=app_id)).body.to_map(),
    ]

    assert secret.app_secret_id in json.dumps(reads[2])
    assert all(secret.app_secret_value not in json.dumps(read) for read in reads)


def test_deleting_a_missing_secret_or_another_apps_secret_is_refused(ims: ImsClient) -> None:
    app_id, other_id = create_web_app(ims, "one"), create_web_app(ims, "two")
    secret_id = ims.create_app_secret(ims_models.CreateAppSecretRequest(app_id=other_id)).body.app_secret.app_secret_id

    missing = client_error(ims.delete_app_secret,
                           ims_models.DeleteAppSecretRequest(app_id=app_id, app_secret_id="no-such-secret"))
    foreign = client_error(ims.delete_app_secret,
                           ims_models.DeleteAppSecretRequest(app_id=app_id, app_secret_id=secret_id))
    no_app = client_error(ims.create_app_secret, ims_models.CreateAppSecretRequest(app_id="1" * 19))

    assert (missing.code, missing.status_code) == ("EntityNotExist.AppSecret", 404)
    assert foreign.code == "EntityNotExist.AppSecret"
    assert no_app.code == "EntityNotExist.Application"


def test_deleting_an_application_deletes_its_secrets(ims: ImsClient, store: Store) -> None:
    account = store.meta("account_id") or ""
    app_id = create_web_app(ims)
    value = ims.create_app_secret(ims_models.CreateAppSecretRequest(app_id=app_id)).body.app_secret.app_secret_value

    ims.delete_application(ims_models.DeleteApplicationRequest(app_id=app_id))

    assert not verify_app_secret(store, account, app_id, value)
    assert store.list("ims.app-secret", account) == []


def test_find_application_finds_an_app_by_client_id_alone(ims: ImsClient, store: Store) -> None:
    app_id = create_native_app(ims, predefined_scopes="openid;/acs/mcp-server", required_scopes="openid")

    found = find_application(store, app_id)

    assert found is not None
    assert (found["AppId"], found["AppType"], found["RedirectUris"]) == (app_id, "NativeApp", [MCP_REDIRECT])
    assert [(s["Name"], s["Required"]) for s in found["Scopes"]] == [("openid", True), ("/acs/mcp-server", False)]
    assert find_application(store, "1" * 19) is None
    ims.delete_application(ims_models.DeleteApplicationRequest(app_id=app_id))
    assert find_application(store, app_id) is None
