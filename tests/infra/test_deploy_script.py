"""scripts/deploy.sh, run against stub `az`, `func` and `curl` that record their arguments: the
order of the steps, the UK location, the Event Grid subscription and the smoke test."""
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
  "az deployment sub create"*)
    for arg in "$@"; do case "$arg" in @*) cp "${arg#@}" "$STUB_DIR/parameters.json" ;; esac; done
    cat "$STUB_DIR/outputs.json" ;;
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
}


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
    subscription = next(c for c in calls if c.startswith("az eventgrid system-topic event-subscription create"))
    assert calls.index(deploy) < calls.index(publish) < calls.index(keys) < calls.index(subscription)
    assert steps[-1].startswith("curl")

    assert "--location uksouth" in deploy
    assert "--template-file infra/main.bicep" in deploy
    assert publish == "func azure functionapp publish func-telederm-abc --python"
    assert "--name func-telederm-abc" in keys and "--query systemKeys.blobs_extension" in keys
    assert (
        "--endpoint https://func-telederm-abc.azurewebsites.net/runtime/webhooks/blobs"
        "?functionName=Host.Functions.process_incoming_upload&code=system-key-123"
    ) in subscription
    assert "--system-topic-name evgt-telederm-abc" in subscription
    assert "--included-event-types Microsoft.Storage.BlobCreated" in subscription
    assert "--subject-begins-with /blobServices/default/containers/incoming/" in subscription
    assert calls[-1].endswith("https://func-telederm-abc.azurewebsites.net/api/health")
    assert "system-key-123" not in proc.stdout + proc.stderr  # the key is never printed

    parameters = json.loads((stubs / "parameters.json").read_text())["parameters"]
    assert parameters["environmentName"]["value"] == "test"
    assert parameters["location"]["value"] == "uksouth"
    assert parameters["patientIssuer"]["value"] == "https://patients.example/"
    assert parameters["publicBaseUrl"]["value"] == ""


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
    assert not [c for c in calls if c.startswith(("az deployment", "func "))]
    assert any(c.startswith("az eventgrid system-topic event-subscription create") for c in calls)


def test_azure_yaml_deploys_this_directory_as_a_python_function_app():
    text = (REPO / "azure.yaml").read_text(encoding="utf-8")
    for line in ("  api:", "    project: .", "    language: python", "    host: function",
                 "  provider: bicep", "  path: infra", "    run: bash scripts/deploy.sh post-deploy"):
        assert line in text.splitlines(), line
