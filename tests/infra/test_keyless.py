"""(b) No key exists to steal: shared keys, account keys, local auth and publishing passwords are
off everywhere, Key Vault is hardened and the KEK is an HSM key."""
from __future__ import annotations

import json
import re

from tests.infra.bicep import INFRA, REPO, Param, all_docs, config, decorators, doc, one, resolve, resources


def _props(file: str, type_: str) -> dict:
    return config(one(doc(file), type_))["properties"]


def test_storage_accepts_entra_id_only_over_tls12_https():
    props = _props("modules/storage.bicep", "Microsoft.Storage/storageAccounts")
    assert props["allowSharedKeyAccess"] is False
    assert props["defaultToOAuthAuthentication"] is True
    assert props["allowBlobPublicAccess"] is False
    assert props["minimumTlsVersion"] == "TLS1_2"
    assert props["supportsHttpsTrafficOnly"] is True
    assert props["allowCrossTenantReplication"] is False
    assert props["isLocalUserEnabled"] is False and props["isSftpEnabled"] is False


def test_no_blob_container_is_public():
    for name, res in resources(doc("modules/storage.bicep"), "Microsoft.Storage/storageAccounts/blobServices/containers").items():
        assert config(res)["properties"]["publicAccess"] == "None", name


def test_cosmos_keys_are_disabled():
    props = _props("modules/cosmos.bicep", "Microsoft.DocumentDB/databaseAccounts")
    assert props["disableLocalAuth"] is True
    assert props["disableKeyBasedMetadataWriteAccess"] is True
    assert props["minimalTlsVersion"] == "Tls12"


def test_monitoring_local_auth_is_disabled():
    d = doc("modules/monitoring.bicep")
    assert config(one(d, "Microsoft.Insights/components"))["properties"]["DisableLocalAuth"] is True
    workspace = config(one(d, "Microsoft.OperationalInsights/workspaces"))["properties"]
    assert workspace["features"]["disableLocalAuth"] is True


def test_publishing_passwords_are_disabled():
    d = doc("modules/functionapp.bicep")
    policies = {
        config(res)["name"]: config(res)["properties"]["allow"]
        for res in resources(d, "Microsoft.Web/sites/basicPublishingCredentialsPolicies").values()
    }
    assert policies == {"ftp": False, "scm": False}


def test_no_key_is_listed_or_embedded_anywhere():
    files = [p for p in INFRA.rglob("*") if p.is_file()] + [REPO / "azure.yaml", REPO / "scripts" / "deploy.sh"]
    forbidden = re.compile(
        r"listKeys|listConnectionStrings|listAccountSas|listServiceSas|AccountKey\s*=|SharedAccessKey|"
        r"primaryMasterKey|InstrumentationKey\s*=|connectionStrings\s*:",
        re.IGNORECASE,
    )
    offenders = [
        f"{path.relative_to(REPO)}:{n}: {line.strip()}"
        for path in files
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if forbidden.search(line)
    ]
    assert not offenders, "\n".join(offenders)


def test_key_vault_is_rbac_only_with_purge_protection():
    props = _props("modules/keyvault.bicep", "Microsoft.KeyVault/vaults")
    assert props["enableRbacAuthorization"] is True
    assert props["enablePurgeProtection"] is True
    assert props["enableSoftDelete"] is True
    assert props["softDeleteRetentionInDays"] == 90
    assert props["sku"]["name"] == "premium"  # HSM-backed keys
    assert "accessPolicies" not in props
    assert props["enabledForTemplateDeployment"] is False


def test_the_kek_is_a_wrap_only_rsa_hsm_3072_key_with_a_rotation_policy():
    from shared_code.settings import Settings

    d = doc("modules/keyvault.bicep")
    kek = config(one(d, "Microsoft.KeyVault/vaults/keys"))
    assert resolve(d, kek["name"]) == "patient-kek" == Settings.model_fields['kek_name'].default
    props = kek["properties"]
    assert props["kty"] == "RSA-HSM"
    assert props["keySize"] == 3072
    assert sorted(props["keyOps"]) == ["unwrapKey", "wrapKey"]
    assert props["attributes"]["exp"], "the first version must expire"
    actions = {a["action"]["type"].lower(): a["trigger"] for a in props["rotationPolicy"]["lifetimeActions"]}
    assert "rotate" in actions and "notify" in actions
    assert props["rotationPolicy"]["attributes"]["expiryTime"]
    assert Settings.model_fields['kek_algorithm'].default == "RSA-OAEP-256"


def test_the_graph_secret_value_is_never_in_the_repository():
    from shared_code.settings import Settings

    d = doc("modules/keyvault.bicep")
    secret_res = one(d, "Microsoft.KeyVault/vaults/secrets")
    secret = config(secret_res)
    assert resolve(d, secret["name"]) == "graph-client-secret" == Settings.model_fields['graph_secret_name'].default
    value = resolve(d, secret["properties"]["value"])
    assert isinstance(value, Param), "the secret value must come from a parameter"
    param = d["parameters"][value.name]
    assert "secure" in decorators(param)
    assert param.get("default") in (None, ""), "a @secure() parameter must not have a default value"
    # Only written when given, so a redeploy never overwrites what operations set.
    assert secret_res["config"].get("condition") is not None
    assert secret["properties"]["contentType"] and secret["properties"]["attributes"]["exp"]


def test_every_secure_parameter_has_no_default_and_no_value_in_the_parameters_file():
    for file, d in all_docs().items():
        for name, param in (d.get("parameters") or {}).items():
            if "secure" in decorators(param):
                assert param.get("default") in (None, ""), f"{file}: {name}"
    values = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert not [name for name in values if "secret" in name.lower() or "password" in name.lower()]
    for name, entry in values.items():
        assert re.fullmatch(r"\$\{[A-Z_][A-Z0-9_]*(=[a-z]*)?\}", entry["value"]), (
            f"{name}: main.parameters.json holds only ${{ENV}} placeholders, not values"
        )
