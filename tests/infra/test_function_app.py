"""(b) The Function App: Flex Consumption, Python 3.11, HTTPS only, a user-assigned identity, and
app settings that are exactly what shared_code/settings.py reads."""
from __future__ import annotations

import pytest

from shared_code import settings as settings_module
from shared_code.settings import Settings
from tests.infra.bicep import Param, config, doc, one, resolve

# The app settings the Bicep must set: the names the code's settings model reads in azure mode,
# plus the Functions host's identity-based storage and the telemetry settings.
EXPECTED_SETTINGS = {
    "APP_MODE",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "AzureWebJobsStorage__blobServiceUri",
    "AzureWebJobsStorage__queueServiceUri",
    "AZURE_CLIENT_ID",
    "COSMOS_ENDPOINT",
    "COSMOS_DATABASE",
    "KEY_VAULT_URI",
    "KEK_NAME",
    "KEK_ALGORITHM",
    "PATIENT_ISSUER",
    "PATIENT_JWKS_URI",
    "PATIENT_AUDIENCE",
    "WORKFORCE_ISSUER",
    "WORKFORCE_JWKS_URI",
    "WORKFORCE_AUDIENCE",
    "MAIL_SENDER",
    "GRAPH_TENANT_ID",
    "GRAPH_CLIENT_ID",
    "GRAPH_SENDER_ADDRESS",
    "GRAPH_SECRET_NAME",
    "PUBLIC_BASE_URL",
    "PORTAL_BASE_URL",
    "APP_LINK_BASE_URL",  # the deep-link base of reminder mails
    # Optional: always set, empty when not given (the code treats empty as unset).
    "WORKFORCE_TENANTS",
    "PDS_BASE_URL",
    "PDS_TOKEN_URL",
    "PDS_API_KEY",
    "PDS_KEY_ID",
    "PDS_PRIVATE_KEY_SECRET_NAME",
    "DECISION_SUPPORT_URL",
    "DECISION_SUPPORT_SCOPE",
    "DECISION_SUPPORT_API_KEY_SECRET_NAME",
    "TRUST_X_FORWARDED_FOR",  # the worker sees no peer: the front end's X-Forwarded-For entry is the address
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
}
# Read by the Functions host or the Azure Monitor exporter, not by Settings.
HOST_SETTINGS = {
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
}


def _app():
    d = doc("modules/functionapp.bicep")
    return d, config(one(d, "Microsoft.Web/sites"))


def _settings():
    d = doc("modules/functionapp.bicep")
    return d, config(one(d, "Microsoft.Web/sites/config"))["properties"]


def _settings_aliases() -> set[str]:
    return {field.alias for field in Settings.model_fields.values() if field.alias}


def test_plan_is_flex_consumption():
    d = doc("modules/functionapp.bicep")
    plan = config(one(d, "Microsoft.Web/serverfarms"))
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["properties"]["reserved"] is True


def test_app_is_https_only_tls12_without_ftp():
    _, site = _app()
    props = site["properties"]
    assert props["httpsOnly"] is True
    assert props["siteConfig"]["minTlsVersion"] == "1.2"
    assert props["siteConfig"]["scmMinTlsVersion"] == "1.2"
    assert props["siteConfig"]["ftpsState"] == "Disabled"
    assert site["kind"] == "functionapp,linux"


def test_app_runs_as_the_user_assigned_identity_only():
    d, site = _app()
    assert site["identity"]["type"] == "UserAssigned"
    keys = list(site["identity"]["userAssignedIdentities"])
    assert keys == ["'${identityId}'"]
    deployment = site["properties"]["functionAppConfig"]["deployment"]["storage"]
    assert deployment["type"] == "blobContainer"
    assert deployment["authentication"]["type"] == "UserAssignedIdentity"
    assert resolve(d, deployment["authentication"]["userAssignedIdentityResourceId"]) == Param("identityId")


def test_runtime_is_python_311():
    _, site = _app()
    assert site["properties"]["functionAppConfig"]["runtime"] == {"name": "python", "version": "3.11"}


def test_app_settings_are_exactly_the_expected_names():
    _, values = _settings()
    assert set(values) == EXPECTED_SETTINGS


def test_every_setting_azure_mode_requires_is_set():
    _, values = _settings()
    required = set(Settings.model_construct().azure_required())
    assert required, "Settings.azure_required() names nothing?"
    assert not required - set(values), f"missing: {sorted(required - set(values))}"


def test_every_app_setting_is_read_by_the_code_or_the_host():
    _, values = _settings()
    unknown = set(values) - _settings_aliases() - HOST_SETTINGS
    assert not unknown, f"app settings nobody reads: {sorted(unknown)}"


def test_fixed_setting_values():
    d, values = _settings()
    assert values["APP_MODE"] == "azure"
    assert values["AzureWebJobsStorage__credential"] == "managedidentity"
    assert values["MAIL_SENDER"] == "graph"
    assert values["KEK_ALGORITHM"] == "RSA-OAEP-256"
    assert values["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "Authorization=AAD;ClientId=${identityClientId}"
    # The same identity everywhere.
    for name in ("AzureWebJobsStorage__clientId", "AZURE_CLIENT_ID"):
        assert resolve(d, values[name]) == Param("identityClientId"), name


def test_names_passed_through_modules_match_the_code_defaults():
    """COSMOS_DATABASE, KEK_NAME and GRAPH_SECRET_NAME come from module outputs; follow them."""
    fields = Settings.model_fields
    assert doc("modules/cosmos.bicep")["variables"]["databaseName"]["value"] == fields["cosmos_database"].default
    kv = doc("modules/keyvault.bicep")["variables"]
    assert kv["kekName"]["value"] == fields["kek_name"].default
    assert kv["graphSecretName"]["value"] == fields["graph_secret_name"].default
    params = doc("modules/resources.bicep")["modules"]["functionApp"]["config"]["params"]
    assert "cosmos" in str(params["cosmosDatabaseName"]) and "databaseName" in str(params["cosmosDatabaseName"])
    assert "keyVault" in str(params["kekName"]) and "kekName" in str(params["kekName"])
    assert "keyVault" in str(params["graphSecretName"]) and "graphSecretName" in str(params["graphSecretName"])


def test_the_settings_validate_in_azure_mode():
    """Feed the Bicep's settings (expressions replaced by placeholders) to the real model."""
    _, values = _settings()
    env = {
        name: (value if isinstance(value, str) and name not in {"PUBLIC_BASE_URL"} else "https://example.invalid")
        for name, value in values.items()
    }
    known = {k: v for k, v in env.items() if k in _settings_aliases()}
    parsed = Settings(**known)
    assert parsed.app_mode == "azure" and parsed.mail_sender == "graph"
    assert all(parsed.azure_required().values())


def test_app_link_base_url_is_a_required_parameter_all_the_way_down():
    """Required like PORTAL_BASE_URL: no default in any module, ${APP_LINK_BASE_URL} without one."""
    import json

    from tests.infra.bicep import INFRA

    d, values = _settings()
    assert resolve(d, values["APP_LINK_BASE_URL"]) == Param("appLinkBaseUrl")
    for file in ("main.bicep", "modules/resources.bicep", "modules/functionapp.bicep"):
        param = doc(file)["parameters"]["appLinkBaseUrl"]
        assert param.get("default") is None, file
    assert doc("main.bicep")["modules"]["resources"]["config"]["params"]["appLinkBaseUrl"] == "appLinkBaseUrl"
    assert doc("modules/resources.bicep")["modules"]["functionApp"]["config"]["params"]["appLinkBaseUrl"] == "appLinkBaseUrl"
    parameters = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert parameters["appLinkBaseUrl"]["value"] == "${APP_LINK_BASE_URL}"


OPTIONAL = {
    "WORKFORCE_TENANTS": ("workforceTenants", "workforce_tenants"),
    "PDS_BASE_URL": ("pdsBaseUrl", "pds_base_url"),
    "PDS_TOKEN_URL": ("pdsTokenUrl", "pds_token_url"),
    "PDS_API_KEY": ("pdsApiKey", "pds_api_key"),
    "PDS_KEY_ID": ("pdsKeyId", "pds_key_id"),
    "PDS_PRIVATE_KEY_SECRET_NAME": ("pdsPrivateKeyName", "pds_private_key_secret_name"),
    "DECISION_SUPPORT_URL": ("decisionSupportUrl", "decision_support_url"),
    "DECISION_SUPPORT_SCOPE": ("decisionSupportScope", "decision_support_scope"),
    "DECISION_SUPPORT_API_KEY_SECRET_NAME": ("decisionSupportKeyName", "decision_support_api_key_secret_name"),
}


@pytest.mark.parametrize("setting", sorted(OPTIONAL))
def test_optional_settings_are_optional_parameters_defaulting_to_empty(setting):
    import json

    from tests.infra.bicep import INFRA

    param, _ = OPTIONAL[setting]
    for file in ("main.bicep", "modules/resources.bicep", "modules/functionapp.bicep"):
        assert doc(file)["parameters"][param].get("default") == "", f"{file}: {param}"
    parameters = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert parameters[param]["value"] == "${%s=}" % setting
    assert doc("main.bicep")["modules"]["resources"]["config"]["params"][param] == param
    assert doc("modules/resources.bicep")["modules"]["functionApp"]["config"]["params"][param] == param


@pytest.mark.parametrize("setting", ["WORKFORCE_TENANTS", "PDS_BASE_URL", "PDS_TOKEN_URL", "PDS_API_KEY", "PDS_KEY_ID",
                                     "DECISION_SUPPORT_URL", "DECISION_SUPPORT_SCOPE",
                                     "DECISION_SUPPORT_API_KEY_SECRET_NAME"])
def test_an_empty_optional_setting_means_unset_to_the_app(setting):
    """Why they can always be app settings: empty configures exactly what absent does."""
    _, field = OPTIONAL[setting]
    empty = Settings(**{setting: ""})
    absent = Settings()
    assert not getattr(empty, field) and not getattr(absent, field)
    assert empty.workforce_tenant_ids == absent.workforce_tenant_ids


def test_an_empty_pds_private_key_name_becomes_the_code_default():
    """Empty is NOT unset for PDS_PRIVATE_KEY_SECRET_NAME (its default is a name), so the Bicep
    substitutes the same default."""
    d, values = _settings()
    expression = str(values["PDS_PRIVATE_KEY_SECRET_NAME"])
    assert "pdsPrivateKeyName" in expression and "defaultPdsPrivateKeySecretName" in expression
    default = d["variables"]["defaultPdsPrivateKeySecretName"]["value"]
    assert default == Settings.model_fields["pds_private_key_secret_name"].default == "pds-private-key"
    assert Settings(PDS_PRIVATE_KEY_SECRET_NAME="").pds_private_key_secret_name == ""  # hence the substitution


def test_local_settings_example_names_the_new_settings():
    import json

    from tests.infra.bicep import REPO

    values = json.loads((REPO / "local.settings.example.json").read_text(encoding="utf-8"))["Values"]
    for name in ["APP_LINK_BASE_URL", *OPTIONAL]:
        assert name in values, name
    assert values["PDS_BASE_URL"] == ""  # no trace locally
    assert values["PDS_PRIVATE_KEY_SECRET_NAME"] == Settings.model_fields["pds_private_key_secret_name"].default


@pytest.mark.parametrize(
    "name",
    ["IMAGES_CONTAINER", "INCOMING_CONTAINER", "NOTIFICATIONS_QUEUE", "NOTIFICATIONS_POISON_QUEUE",
     "DOCUMENT_CONTAINERS", "PARTITION_KEY_PATH"],
)
def test_shared_names_exist_in_the_settings_module(name):
    assert hasattr(settings_module, name)
