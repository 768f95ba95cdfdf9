"""The Key Vault name is derived, fits Key Vault's 24 characters, and a redeploy after a teardown
(purge protection holds a deleted vault's name for 90 days) recovers the vault instead of failing."""
from __future__ import annotations

import json

from tests.infra.bicep import INFRA, Param, config, decorators, doc, leaves, one, resolve

MODES = ["default", "recover"]


def _vault_name_expression() -> str:
    return doc("modules/resources.bicep")["modules"]["keyVault"]["config"]["params"]["name"]


def test_the_vault_name_derives_from_the_unique_resource_token_and_fits_24_characters():
    name = _vault_name_expression()
    assert isinstance(name, str) and name.startswith("kv-telederm-${take(resourceToken, "), name
    prefix, _, rest = name.partition("${take(resourceToken, ")
    taken = int(rest.split(")", 1)[0])
    assert len(prefix) + taken <= 24, f"{name}: up to {len(prefix) + taken} characters"
    # The token is uniqueString over subscription, environment and region.
    token = doc("main.bicep")["variables"]["resourceToken"]["value"]
    assert token["function"]["type"] == "to_lower"
    assert token["function"]["parameters"]["string_to_change"]["function"]["type"] == "unique_string"
    used = {v for v in leaves(token) if isinstance(v, str)}
    assert {"environmentName", "location"} <= used


def test_the_vault_accepts_a_recover_create_mode():
    d = doc("modules/keyvault.bicep")
    param = d["parameters"]["createMode"]
    assert sorted(decorators(param)["allowed"]) == MODES
    assert param["default"] == "default"
    vault = config(one(d, "Microsoft.KeyVault/vaults"))
    assert resolve(d, vault["properties"]["createMode"]) == Param("createMode")
    # Recovery only makes sense because deleted vaults are kept: soft delete and purge protection.
    assert vault["properties"]["enableSoftDelete"] is True and vault["properties"]["enablePurgeProtection"] is True


def test_the_create_mode_is_a_deployment_parameter_all_the_way_down():
    main = doc("main.bicep")
    assert sorted(decorators(main["parameters"]["keyVaultCreateMode"])["allowed"]) == MODES
    assert main["parameters"]["keyVaultCreateMode"]["default"] == "default"
    assert main["modules"]["resources"]["config"]["params"]["keyVaultCreateMode"] == "keyVaultCreateMode"
    resources = doc("modules/resources.bicep")
    assert sorted(decorators(resources["parameters"]["keyVaultCreateMode"])["allowed"]) == MODES
    assert resources["modules"]["keyVault"]["config"]["params"]["createMode"] == "keyVaultCreateMode"
    values = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert values["keyVaultCreateMode"]["value"] == "${AZURE_KEY_VAULT_CREATE_MODE=default}"
