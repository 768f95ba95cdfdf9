"""scripts/deploy.sh, run against stub `az`, `func` and `curl` that record their arguments: the
order of the steps, the UK location, the Event Grid subscription and the smoke test, outputs read
whatever their case, Key Vault recovery, upload CORS origins and the alert mailbox."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.infra.bicep import REPO

OUTPUTS = {
    "AZURE_RESOURCE_GROUP": {"value": "rg-test"},
    "AZURE_FUNCTION_APP_NAME": {"value": "func-telederm-abc"},
    "AZURE_FUNCTION_APP_HOSTNAME": {"value": "func-telederm-abc.azurewebsites.net"},
    "AZURE_EVENTGRID_SYSTEM_TOPIC_NAME": {"value": "evgt-telederm-abc"},
    "INCOMING_CONTAINER": {"value": "incoming"},
}

STUB = r"""#!/usr/bin/env bash
set -euo pipefail
printf '%s\n' "$(basename "$0") $*" >>"$STUB_LOG"
case "$(basename "$0") $*" in
  "az account show"*) echo "00000000-0000-0000-0000-000000000000" ;;
  "az keyvault list-deleted"*)
    if [ -f "$STUB_DIR/deleted-vaults.json" ]; then cat "$STUB_DIR/deleted-vaults.json"; else echo "[]"; fi ;;
  "az deployment sub create"*)
    for arg in "$@"; do case "$arg" in @*) cp "${arg#@}" "$STUB_DIR/parameters.json" ;; esac; done
    cat "$STUB_DIR/outputs.json" ;;
  "az deployment group create"*)
    for arg in "$@"; do case "$arg" in
      @*) cp "${arg#@}" "$STUB_DIR/upload-trigger-parameters.json"
          stat -c '%a' "${arg#@}" >"$STUB_DIR/upload-trigger-parameters.mode"
          echo "${arg#@}" >"$STUB_DIR/upload-trigger-parameters.path" ;;
    esac; done ;;
  "az functionapp keys list"*) echo "system-key-123" ;;
  "curl "*) printf '200' ;;
esac
"""

ENV = {
    "AZURE_ENV_NAME": "test",
    "PATIENT_ISSUER": "https://patients.example/",
    "PATIENT_JWKS_URI": "https://patients.example/jwks",
    "PATIENT_AUDIENCE": "api://patients",
    "WORKFORCE_ISSUER": "https://login.example/tenant/v2.0",
    "WORKFORCE_JWKS_URI": "https://login.example/tenant/keys",
    "WORKFORCE_AUDIENCE": "api://workforce",
    "GRAPH_TENANT_ID": "tenant",
    "GRAPH_CLIENT_ID": "client",
    "GRAPH_SENDER_ADDRESS": "noreply@example.nhs.uk",
    "PORTAL_BASE_URL": "https://portal.example.nhs.uk",
    "ALERT_EMAIL_ADDRESS": "telederm-ops@example.nhs.uk",
}


def _arm_case(name: str) -> str:
    """Output names as ARM may return them: it does not keep their case (AZURE_RESOURCE_GROUP has
    come back as azurE_RESOURCE_GROUP)."""
    head, sep, tail = name.partition("_")
    return (head[:-1].lower() + head[-1:] + sep + tail) if sep else name.lower()


@pytest.fixture()
def stubs(tmp_path):
    if shutil.which("bash") is None:
        pytest.fail("bash is needed to test scripts/deploy.sh")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("az", "func", "curl"):
        path = bin_dir / tool
        path.write_text(STUB)
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "outputs.json").write_text(json.dumps(OUTPUTS))
    return tmp_path


def _parameters(stubs: Path) -> dict:
    return {name: entry["value"] for name, entry in json.loads((stubs / "parameters.json").read_text())["parameters"].items()}


def _run(stubs: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    log = stubs / "calls.log"
    full_env = {
        "PATH": f"{stubs / 'bin'}:{os.environ['PATH']}",
        "HOME": str(stubs),
        "STUB_LOG": str(log),
        "STUB_DIR": str(stubs),
        **env,
    }
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "deploy.sh"), *args],
        env=full_env, capture_output=True, text=True, timeout=120,
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return proc, calls


def test_full_deploy_provisions_publishes_wires_event_grid_and_smoke_tests(stubs):
    proc, calls = _run(stubs, **ENV)
    assert proc.returncode == 0, proc.stderr
    steps = [c.split(" ")[0] + " " + c.split(" ")[1] for c in calls]
    deploy = next(c for c in calls if c.startswith("az deployment sub create"))
    publish = next(c for c in calls if c.startswith("func "))
    keys = next(c for c in calls if c.startswith("az functionapp keys list"))
    subscription = next(c for c in calls if c.startswith("az deployment group create"))
    assert calls.index(deploy) < calls.index(publish) < calls.index(keys) < calls.index(subscription)
    assert steps[-1].startswith("curl")

    assert "--location uksouth" in deploy
    assert "--template-file infra/main.bicep" in deploy
    assert publish == "func azure functionapp publish func-telederm-abc --python"
    assert "--name func-telederm-abc" in keys and "--query systemKeys.blobs_extension" in keys
    # The subscription (with its data.api filter, tests/infra/test_upload_trigger.py) is a Bicep
    # deployment into the resource group, fed from the outputs and the key.
    assert "--resource-group rg-test" in subscription
    assert "--template-file infra/upload-trigger.bicep" in subscription
    trigger = json.loads((stubs / "upload-trigger-parameters.json").read_text())["parameters"]
    assert {name: entry["value"] for name, entry in trigger.items()} == {
        "systemTopicName": "evgt-telederm-abc",
        "functionAppHostName": "func-telederm-abc.azurewebsites.net",
        "incomingContainerName": "incoming",
        "blobsExtensionKey": "system-key-123",
    }
    assert not [c for c in calls if c.startswith("az eventgrid")]
    assert calls[-1].endswith("https://func-telederm-abc.azurewebsites.net/api/health")
    assert "system-key-123" not in proc.stdout + proc.stderr  # the key is never printed

    parameters = _parameters(stubs)
    assert parameters["environmentName"] == "test"
    assert parameters["location"] == "uksouth"
    assert parameters["patientIssuer"] == "https://patients.example/"
    assert parameters["publicBaseUrl"] == ""
    assert parameters["alertEmailAddress"] == "telederm-ops@example.nhs.uk"
    assert parameters["uploadCorsOrigins"] == ""
    assert parameters["keyVaultCreateMode"] == "default"


# --- Outputs: ARM does not keep the case of output names (issue 10, section 3, high) ---

def test_outputs_are_read_whatever_case_arm_returns_them_in(stubs):
    mangled = {_arm_case(name): value for name, value in OUTPUTS.items()}
    assert "azurE_RESOURCE_GROUP" in mangled and "AZURE_RESOURCE_GROUP" not in mangled
    (stubs / "outputs.json").write_text(json.dumps(mangled))
    proc, calls = _run(stubs, **ENV)
    assert proc.returncode == 0, proc.stderr
    assert "func azure functionapp publish func-telederm-abc --python" in calls
    assert "--resource-group rg-test" in next(c for c in calls if c.startswith("az deployment group create"))
    assert calls[-1].endswith("https://func-telederm-abc.azurewebsites.net/api/health")


def test_outputs_in_any_mixed_case_are_found(stubs):
    mixed = {"".join(ch.lower() if i % 2 else ch for i, ch in enumerate(name)): value
             for name, value in OUTPUTS.items()}
    (stubs / "outputs.json").write_text(json.dumps(mixed))
    proc, calls = _run(stubs, **ENV)
    assert proc.returncode == 0, proc.stderr
    assert "func azure functionapp publish func-telederm-abc --python" in calls


def test_a_missing_output_stops_before_publishing_with_its_name(stubs):
    outputs = {name: value for name, value in OUTPUTS.items() if name != "AZURE_FUNCTION_APP_NAME"}
    (stubs / "outputs.json").write_text(json.dumps(outputs))
    proc, calls = _run(stubs, **ENV)
    assert proc.returncode != 0
    assert "AZURE_FUNCTION_APP_NAME" in proc.stderr
    assert not [c for c in calls if c.startswith("func ")]


# --- The upload trigger's key ---

def test_the_blobs_extension_key_is_never_on_a_command_line_and_its_file_is_private(stubs):
    proc, calls = _run(stubs, **ENV)
    assert proc.returncode == 0, proc.stderr
    assert not [c for c in calls if "system-key-123" in c]
    assert (stubs / "upload-trigger-parameters.mode").read_text().strip() == "600"
    # The scratch directory (rendered parameters, outputs, the key) is gone when the script ends.
    path = Path((stubs / "upload-trigger-parameters.path").read_text().strip())
    assert not path.exists() and not path.parent.exists()


# --- Key Vault: a soft-deleted vault of this environment is recovered, not re-created ---

def _deleted_vault(env: str = "test", location: str = "uksouth") -> dict:
    return {
        "id": f"/subscriptions/0/providers/Microsoft.KeyVault/locations/{location}/deletedVaults/kv-telederm-abcdefghij",
        "name": "kv-telederm-abcdefghij",
        "properties": {
            "location": location,
            "purgeProtectionEnabled": True,
            "tags": {"azd-env-name": env, "service": "nhs-teledermatology", "data-residency": "uk-only"},
            "vaultId": f"/subscriptions/0/resourceGroups/rg-{env}/providers/Microsoft.KeyVault/vaults/kv-telederm-abcdefghij",
        },
    }


def test_a_soft_deleted_vault_of_this_environment_is_recovered(stubs):
    (stubs / "deleted-vaults.json").write_text(json.dumps([_deleted_vault()]))
    proc, calls = _run(stubs, **ENV)
    assert proc.returncode == 0, proc.stderr
    listing = next(c for c in calls if c.startswith("az keyvault list-deleted"))
    assert calls.index(listing) < calls.index(next(c for c in calls if c.startswith("az deployment sub create")))
    assert _parameters(stubs)["keyVaultCreateMode"] == "recover"
    assert "kv-telederm-abcdefghij" in proc.stderr


@pytest.mark.parametrize("vault", [_deleted_vault(env="other"), _deleted_vault(location="ukwest")])
def test_a_deleted_vault_of_another_environment_or_region_is_left_alone(stubs, vault):
    (stubs / "deleted-vaults.json").write_text(json.dumps([vault, {"name": "kv-x", "properties": {"tags": None}}]))
    proc, _ = _run(stubs, **ENV)
    assert proc.returncode == 0, proc.stderr
    assert _parameters(stubs)["keyVaultCreateMode"] == "default"


def test_the_key_vault_create_mode_can_be_set_and_is_checked(stubs):
    (stubs / "deleted-vaults.json").write_text(json.dumps([_deleted_vault()]))
    proc, calls = _run(stubs, **ENV, AZURE_KEY_VAULT_CREATE_MODE="default")
    assert proc.returncode == 0, proc.stderr
    assert _parameters(stubs)["keyVaultCreateMode"] == "default"
    assert not [c for c in calls if c.startswith("az keyvault list-deleted")]

    proc, calls = _run(stubs, **ENV, AZURE_KEY_VAULT_CREATE_MODE="purge")
    assert proc.returncode != 0 and "AZURE_KEY_VAULT_CREATE_MODE" in proc.stderr


# --- Browser upload CORS origins ---

def test_upload_cors_origins_are_normalised_into_the_parameter(stubs):
    proc, _ = _run(stubs, **ENV, UPLOAD_CORS_ORIGINS=" https://Portal.example.nhs.uk/ , https://app.example.nhs.uk:8443,https://portal.example.nhs.uk")
    assert proc.returncode == 0, proc.stderr
    assert _parameters(stubs)["uploadCorsOrigins"] == "https://portal.example.nhs.uk,https://app.example.nhs.uk:8443"


@pytest.mark.parametrize("origin", ["*", "http://portal.example.nhs.uk", "https://portal.example.nhs.uk/app",
                                    "https://*.example.nhs.uk", "portal.example.nhs.uk"])
def test_an_upload_cors_origin_that_is_not_an_https_origin_is_refused_before_deploying(stubs, origin):
    proc, calls = _run(stubs, **ENV, UPLOAD_CORS_ORIGINS=f"https://portal.example.nhs.uk,{origin}")
    assert proc.returncode != 0
    assert "UPLOAD_CORS_ORIGINS" in proc.stderr
    assert not [c for c in calls if c.startswith("az deployment")]


# --- Alerts ---

def test_the_alert_mailbox_is_required(stubs):
    env = {k: v for k, v in ENV.items() if k != "ALERT_EMAIL_ADDRESS"}
    proc, calls = _run(stubs, **env)
    assert proc.returncode != 0
    assert "ALERT_EMAIL_ADDRESS" in proc.stderr
    assert not [c for c in calls if c.startswith("az deployment")]


@pytest.mark.parametrize("region", ["westeurope", "northeurope", "eastus"])
def test_a_non_uk_location_is_refused_before_anything_is_deployed(stubs, region):
    proc, calls = _run(stubs, **ENV, AZURE_LOCATION=region)
    assert proc.returncode != 0
    assert "uksouth or ukwest" in proc.stderr
    assert not [c for c in calls if c.startswith("az deployment")]


def test_ukwest_is_accepted(stubs):
    proc, calls = _run(stubs, **ENV, AZURE_LOCATION="ukwest")
    assert proc.returncode == 0, proc.stderr
    assert "--location ukwest" in next(c for c in calls if c.startswith("az deployment sub create"))


def test_missing_configuration_is_reported_by_name(stubs):
    env = {k: v for k, v in ENV.items() if k != "PATIENT_ISSUER"}
    proc, calls = _run(stubs, **env)
    assert proc.returncode != 0
    assert "PATIENT_ISSUER" in proc.stderr
    assert not [c for c in calls if c.startswith("az deployment")]


def test_post_deploy_alone_uses_the_azd_outputs(stubs):
    outputs = {name: value["value"] for name, value in OUTPUTS.items()}
    proc, calls = _run(stubs, "post-deploy", **outputs)
    assert proc.returncode == 0, proc.stderr
    assert not [c for c in calls if c.startswith(("az deployment sub", "az keyvault", "func "))]
    group = [c for c in calls if c.startswith("az deployment group create")]
    assert len(group) == 1 and "--template-file infra/upload-trigger.bicep" in group[0]
    assert json.loads((stubs / "upload-trigger-parameters.json").read_text())["parameters"]["blobsExtensionKey"] == {
        "value": "system-key-123"
    }


def test_azure_yaml_deploys_this_directory_as_a_python_function_app():
    text = (REPO / "azure.yaml").read_text(encoding="utf-8")
    for line in ("  api:", "    project: .", "    language: python", "    host: function",
                 "  provider: bicep", "  path: infra", "    run: bash scripts/deploy.sh post-deploy"):
        assert line in text.splitlines(), line
