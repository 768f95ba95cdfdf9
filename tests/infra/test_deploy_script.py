"""scripts/deploy.sh, run against stub `az`, `func` and `curl` that record their arguments: the
order of the steps, the UK location, the Event Grid subscription and the smoke test (liveness, then
the deep check as platform_admin, the token never on a command line or in the output), outputs read
whatever their case, Key Vault recovery, upload CORS origins and the alert mailbox."""
from __future__ import annotations

import base64
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
  "az account get-access-token"*)
    if [ -f "$STUB_DIR/no-token" ]; then echo "ERROR: AADSTS65001: consent required" >&2; exit 1; fi
    cat "$STUB_DIR/token" ;;
  "sleep "*) ;;
esac
"""

# curl: liveness answers 200; the deep check (?deep=1) answers from deep-responses.json (a list of
# [status, body], taken in turn, the last one repeating), writes the body to --output, and records
# the header file it was given (its text and mode).
CURL_STUB = r"""#!/usr/bin/env python3
import json, os, stat, sys
from pathlib import Path

args = sys.argv[1:]
stub = Path(os.environ["STUB_DIR"])
with open(os.environ["STUB_LOG"], "a") as log:
    log.write("curl " + " ".join(args) + "\n")
url = args[-1]
if "deep=1" not in url:
    sys.stdout.write("200")
    sys.exit(0)
output = headers = None
for i, arg in enumerate(args):
    if arg in ("--output", "-o"):
        output = args[i + 1]
    if arg in ("--header", "-H") and args[i + 1].startswith("@"):
        headers = args[i + 1][1:]
if headers:
    with open(stub / "deep-headers.txt", "a") as seen:
        seen.write(Path(headers).read_text())
    (stub / "deep-headers.mode").write_text(oct(stat.S_IMODE(os.stat(headers).st_mode))[2:])
responses = json.loads((stub / "deep-responses.json").read_text())
count_file = stub / "deep-count"
count = int(count_file.read_text()) if count_file.exists() else 0
count_file.write_text(str(count + 1))
status, body = responses[min(count, len(responses) - 1)]
if output:
    Path(output).write_text(body if isinstance(body, str) else json.dumps(body))
sys.stdout.write(str(status))
"""


def _jwt(claims: dict) -> str:
    part = lambda value: base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'RS256', 'kid': 'k'})}.{part(claims)}.c2lnbmF0dXJlLXNlY3JldA"


TOKEN = _jwt({"aud": "api://workforce", "roles": ["platform_admin"], "sub": "operator"})
HEALTHY = {"status": "ok", "checks": {name: {"status": "ok", "ms": 3.2} for name in ("documents", "blobs", "queue", "keys")}}

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
    "APP_LINK_BASE_URL": "https://app.example.nhs.uk/open",
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
    for tool, text in (("az", STUB), ("func", STUB), ("sleep", STUB), ("curl", CURL_STUB)):
        path = bin_dir / tool
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "outputs.json").write_text(json.dumps(OUTPUTS))
    (tmp_path / "token").write_text(TOKEN + "\n")
    _answer(tmp_path, (200, HEALTHY))
    return tmp_path


def _answer(stubs: Path, *responses) -> None:
    """What the deep check answers, in turn (the last answer repeats)."""
    (stubs / "deep-responses.json").write_text(json.dumps([list(r) for r in responses]))


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
    curls = [c for c in calls if c.startswith("curl")]
    assert curls[-2].endswith("https://func-telederm-abc.azurewebsites.net/api/health")  # liveness first
    assert calls[-1].endswith("https://func-telederm-abc.azurewebsites.net/api/health?deep=1")
    assert "system-key-123" not in proc.stdout + proc.stderr  # the key is never printed
    assert "every dependency reports ok" in proc.stderr

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
    assert calls[-1].endswith("https://func-telederm-abc.azurewebsites.net/api/health?deep=1")


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
    proc, calls = _run(stubs, "post-deploy", **outputs, WORKFORCE_AUDIENCE="api://workforce")
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


# --- The smoke test exercises every dependency through the deep check (issue 10, section 3) ---

def test_the_deep_check_asks_az_for_a_token_for_the_workforce_audience_and_sends_it_in_a_header_file(stubs):
    proc, calls = _run(stubs, **ENV)
    assert proc.returncode == 0, proc.stderr
    tokens = [c for c in calls if c.startswith("az account get-access-token")]
    # Once before anything is deployed (a missing role is found early), once fresh for the check.
    assert tokens and all(c == "az account get-access-token --resource api://workforce --query accessToken -o tsv"
                          for c in tokens)
    assert calls.index(tokens[0]) < calls.index(next(c for c in calls if c.startswith("az deployment sub create")))
    deep = [c for c in calls if c.startswith("curl") and "deep=1" in c]
    assert len(deep) == 1 and "--header @" in deep[0]
    assert (stubs / "deep-headers.txt").read_text() == f"Authorization: Bearer {TOKEN}\n"
    assert (stubs / "deep-headers.mode").read_text() == "600"


def test_the_token_is_never_printed_nor_on_a_command_line(stubs):
    _answer(stubs, (503, {"status": "degraded", "checks": {**HEALTHY["checks"], "keys": {"status": "failing (HttpResponseError)", "ms": 1}}}))
    proc, calls = _run(stubs, **ENV, DEEP_SMOKE_TEST_ATTEMPTS="2")
    assert proc.returncode != 0
    assert len([c for c in calls if "deep=1" in c]) == 2
    for secret in (TOKEN, TOKEN.split(".")[2]):
        assert secret not in proc.stdout + proc.stderr
        assert not [c for c in calls if secret in c]


@pytest.mark.parametrize("failing", ["documents", "keys"])
def test_a_failing_dependency_fails_the_deploy_and_is_named(stubs, failing):
    checks = {**HEALTHY["checks"], failing: {"status": "failing (ServiceRequestError)", "ms": 5000.0}}
    _answer(stubs, (503, {"status": "degraded", "checks": checks}))
    proc, calls = _run(stubs, **ENV, DEEP_SMOKE_TEST_ATTEMPTS="1")
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert "deep smoke test failed" in last and f"{failing}: failing (ServiceRequestError)" in last
    others = {"documents", "blobs", "queue", "keys"} - {failing}
    assert not [name for name in others if f"{name}:" in last]


def test_the_deep_check_is_retried_while_new_roles_propagate(stubs):
    degraded = {"status": "degraded", "checks": {**HEALTHY["checks"], "documents": {"status": "failing (CosmosHttpResponseError)", "ms": 9}}}
    _answer(stubs, (503, degraded), (503, degraded), (200, HEALTHY))
    proc, calls = _run(stubs, **ENV)
    assert proc.returncode == 0, proc.stderr
    assert len([c for c in calls if c.startswith("curl") and "deep=1" in c]) == 3
    assert "documents: failing (CosmosHttpResponseError)" in proc.stderr  # said while waiting


def test_a_dependency_that_keeps_failing_fails_after_the_attempts(stubs):
    _answer(stubs, (503, {"status": "degraded", "checks": {**HEALTHY["checks"], "queue": {"status": "failing (X)", "ms": 1}}}))
    proc, calls = _run(stubs, **ENV, DEEP_SMOKE_TEST_ATTEMPTS="3")
    assert proc.returncode != 0 and "queue: failing (X)" in proc.stderr.splitlines()[-1]
    assert len([c for c in calls if c.startswith("curl") and "deep=1" in c]) == 3


@pytest.mark.parametrize("answer", [
    (200, {"status": "ok"}),                     # no report: only liveness answered
    (200, {"status": "ok", "checks": {}}),       # nothing checked
    (200, "<html>gateway</html>"),
    (502, ""),
    (200, {"status": "ok", "checks": {**HEALTHY["checks"], "blobs": {"status": "failing (Y)", "ms": 1}}}),
])
def test_only_a_report_in_which_every_dependency_is_ok_passes(stubs, answer):
    _answer(stubs, answer)
    proc, _ = _run(stubs, **ENV, DEEP_SMOKE_TEST_ATTEMPTS="1")
    assert proc.returncode != 0
    assert "deep smoke test failed" in proc.stderr


def test_without_a_token_the_deploy_stops_before_deploying_and_says_how_to_get_the_role(stubs):
    (stubs / "no-token").write_text("")
    proc, calls = _run(stubs, **ENV)
    assert proc.returncode != 0
    assert "platform_admin" in proc.stderr and "SKIP_DEEP_SMOKE_TEST=1" in proc.stderr
    assert "AADSTS65001" in proc.stderr  # az's own reason is shown too
    assert not [c for c in calls if c.startswith(("az deployment", "func "))]


def test_a_token_without_the_platform_admin_role_stops_before_deploying(stubs):
    (stubs / "token").write_text(_jwt({"aud": "api://workforce", "roles": ["clinician"], "sub": "x"}))
    proc, calls = _run(stubs, **ENV)
    assert proc.returncode != 0
    assert "no platform_admin role" in proc.stderr and "clinician" in proc.stderr
    assert not [c for c in calls if c.startswith(("az deployment", "func "))]


@pytest.mark.parametrize("status, words", [(403, "platform_admin"), (401, "WORKFORCE_AUDIENCE")])
def test_a_refused_token_fails_the_smoke_test_without_retrying(stubs, status, words):
    _answer(stubs, (status, {"type": "about:blank", "status": status}))
    proc, calls = _run(stubs, **ENV)
    assert proc.returncode != 0
    assert str(status) in proc.stderr and words in proc.stderr
    assert len([c for c in calls if c.startswith("curl") and "deep=1" in c]) == 1


def test_skip_deep_smoke_test_checks_liveness_only_and_needs_no_token(stubs):
    (stubs / "no-token").write_text("")
    proc, calls = _run(stubs, **ENV, SKIP_DEEP_SMOKE_TEST="1")
    assert proc.returncode == 0, proc.stderr
    assert not [c for c in calls if c.startswith("az account get-access-token")]
    assert not [c for c in calls if "deep=1" in c]
    assert calls[-1].endswith("/api/health")
    assert "NOT checked" in proc.stderr


def test_skip_deep_smoke_test_accepts_only_1(stubs):
    proc, calls = _run(stubs, **ENV, SKIP_DEEP_SMOKE_TEST="yes")
    assert proc.returncode != 0 and "SKIP_DEEP_SMOKE_TEST" in proc.stderr
    assert not [c for c in calls if c.startswith("az deployment")]


def test_post_deploy_without_the_workforce_audience_says_so_before_wiring(stubs):
    outputs = {name: value["value"] for name, value in OUTPUTS.items()}
    proc, calls = _run(stubs, "post-deploy", **outputs)
    assert proc.returncode != 0
    assert "WORKFORCE_AUDIENCE" in proc.stderr and "SKIP_DEEP_SMOKE_TEST=1" in proc.stderr
    assert not [c for c in calls if c.startswith("az deployment group create")]


def test_app_link_base_url_is_required_and_reaches_the_parameters(stubs):
    env = {k: v for k, v in ENV.items() if k != "APP_LINK_BASE_URL"}
    proc, calls = _run(stubs, **env)
    assert proc.returncode != 0 and "APP_LINK_BASE_URL" in proc.stderr
    assert not [c for c in calls if c.startswith("az deployment")]

    proc, _ = _run(stubs, **ENV, PDS_BASE_URL="https://int.api.service.nhs.uk/personal-demographics/FHIR/R4")
    assert proc.returncode == 0, proc.stderr
    parameters = _parameters(stubs)
    assert parameters["appLinkBaseUrl"] == "https://app.example.nhs.uk/open"
    assert parameters["pdsBaseUrl"] == "https://int.api.service.nhs.uk/personal-demographics/FHIR/R4"
    assert parameters["workforceTenants"] == parameters["pdsApiKey"] == parameters["pdsPrivateKeyName"] == ""
