#!/usr/bin/env bash
# Deploy the NHS teledermatology backend with the Azure CLI and Azure Functions Core Tools.
#
#   scripts/deploy.sh              provision (Bicep), publish the code, wire the Event Grid blob
#                                  trigger (infra/upload-trigger.bicep), smoke test
#   scripts/deploy.sh post-deploy  only the last two steps (the azd postdeploy hook runs this)
#
# Needs: az (logged in: `az login`, subscription selected), func (Core Tools v4), python3, curl.
# Under azd too: the postdeploy hook runs this script, which uses az, and `azd auth login` does not
# sign az in (docs/operations.md).
# The deploying identity needs Owner (or Contributor + Role Based Access Control Administrator +
# Resource Policy Contributor) on the subscription: the template assigns roles and policies.
#
# Configuration comes from the environment (the same names azd uses; see docs/operations.md):
#   AZURE_ENV_NAME     environment name, e.g. prod          (required)
#   AZURE_LOCATION     uksouth (default) or ukwest           (nothing else is accepted)
#   PATIENT_ISSUER PATIENT_JWKS_URI PATIENT_AUDIENCE         (required)
#   WORKFORCE_ISSUER WORKFORCE_JWKS_URI WORKFORCE_AUDIENCE   (required)
#   GRAPH_TENANT_ID GRAPH_CLIENT_ID GRAPH_SENDER_ADDRESS     (required)
#   PORTAL_BASE_URL                                          (required)
#   ALERT_EMAIL_ADDRESS  operations mailbox for the alerts   (required)
#   PUBLIC_BASE_URL    optional; defaults to https://<function app host name>
#   UPLOAD_CORS_ORIGINS  optional; comma-separated https origins (e.g. the portal's) allowed to PUT
#                      uploads to blob storage from a browser; empty for none
#   AZURE_KEY_VAULT_CREATE_MODE  optional; default or recover. Left unset, the script looks for a
#                      soft-deleted Key Vault of this environment (a redeploy after a teardown)
#                      and recovers it
# No secret is passed here: the Graph client secret is set in Key Vault by operations
# (`az keyvault secret set`, docs/operations.md).
set -euo pipefail

cd "$(dirname "$0")/.."

FUNCTION_NAME="process_incoming_upload"       # the Event Grid blob trigger (source=EventGrid)
INCOMING_CONTAINER_DEFAULT="incoming"
UPLOAD_TRIGGER_TEMPLATE="infra/upload-trigger.bicep"  # the Event Grid subscription (data.api filter)

log() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'deploy.sh: %s\n' "$*" >&2; exit 1; }

need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed"; }

# Render infra/main.parameters.json: ${NAME} and ${NAME=default} placeholders (the azd syntax) are
# filled from the environment, so the one parameters file serves both azd and this script.
render_parameters() {
  python3 - "$1" <<'PY'
import json, os, re, sys

text = open(sys.argv[1], encoding="utf-8").read()
missing = []

def fill(match):
    name, default = match.group(1), match.group(3)
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            missing.append(name)
            return ""
        value = default
    return json.dumps(value)[1:-1]  # JSON-escape inside the existing quotes

rendered = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(=([^}]*))?\}", fill, text)
if missing:
    sys.exit("deploy.sh: set these environment variables first: " + ", ".join(sorted(set(missing))))
json.loads(rendered)
sys.stdout.write(rendered)
PY
}

output() { # output NAME: one value from the subscription deployment's outputs
  # ARM does not keep the case of output names (AZURE_RESOURCE_GROUP may come back as
  # azurE_RESOURCE_GROUP), so match names case-insensitively.
  python3 - "$OUTPUTS_FILE" "$1" <<'PY'
import json, sys

path, wanted = sys.argv[1], sys.argv[2]
outputs = json.load(open(path, encoding="utf-8")) or {}
found = [entry for name, entry in outputs.items() if name.lower() == wanted.lower()]
if len(found) != 1:
    sys.exit(f"deploy.sh: the deployment has {'no' if not found else 'more than one'} output named "
             f"{wanted} (case-insensitively); outputs: {', '.join(sorted(outputs)) or 'none'}")
entry = found[0]
if isinstance(entry, dict):
    entry = next((v for k, v in entry.items() if k.lower() == "value"), None)
if entry is None or entry == "":
    sys.exit(f"deploy.sh: the deployment output {wanted} is empty")
print(entry)
PY
}

# UPLOAD_CORS_ORIGINS, checked and normalised: comma-separated https origins, no path, no wildcard.
# (Blob storage compares origins exactly; '*' would let any web page use a leaked upload URL.)
normalise_cors_origins() {
  python3 - <<'PY'
import os, re, sys

origins = []
for raw in re.split(r"[,\s]+", os.environ.get("UPLOAD_CORS_ORIGINS", "")):
    if not raw:
        continue
    origin = raw.rstrip("/").lower()
    if not re.fullmatch(r"https://[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?", origin):
        sys.exit(f"deploy.sh: UPLOAD_CORS_ORIGINS: {raw!r} is not an https origin "
                 "(https://host[:port]: no path, no wildcard, no http)")
    if origin not in origins:
        origins.append(origin)
print(",".join(origins))
PY
}

# 'recover' when this environment's Key Vault is soft-deleted (a redeploy after a teardown: purge
# protection holds the name for 90 days, and the patient KEK inside must come back, not be replaced).
# The vault is recognised by the tags the template puts on it and by its region; the name derives
# from subscription, environment and region, so that is the vault the template will ask for.
key_vault_create_mode() {
  local location="$1" deleted="$WORK_DIR/deleted-vaults.json"
  az keyvault list-deleted --resource-type vault --output json >"$deleted" \
    || { printf 'deploy.sh: could not list soft-deleted Key Vaults (set AZURE_KEY_VAULT_CREATE_MODE to skip)\n' >&2; return 1; }
  python3 - "$deleted" "$AZURE_ENV_NAME" "$location" <<'PY'
import json, sys

path, env, location = sys.argv[1:]
vaults = json.load(open(path, encoding="utf-8")) or []
norm = lambda value: (value or "").replace(" ", "").lower()
ours = []
for vault in vaults:
    props = vault.get("properties") or {}
    tags = props.get("tags") or {}
    if (tags.get("azd-env-name") == env and tags.get("service") == "nhs-teledermatology"
            and norm(props.get("location")) == norm(location)):
        ours.append(vault.get("name"))
if ours:
    print(f"deploy.sh: recovering soft-deleted Key Vault {', '.join(ours)}", file=sys.stderr)
print("recover" if ours else "default")
PY
}

provision() {
  local location="${AZURE_LOCATION:-uksouth}"
  case "$location" in
    uksouth|ukwest) ;;
    *) die "AZURE_LOCATION must be uksouth or ukwest (patient data stays in the UK), not '$location'" ;;
  esac
  [ -n "${AZURE_ENV_NAME:-}" ] || die "set AZURE_ENV_NAME (e.g. prod)"
  export AZURE_LOCATION="$location"

  UPLOAD_CORS_ORIGINS="$(normalise_cors_origins)" || exit 1
  export UPLOAD_CORS_ORIGINS

  # Missing configuration is reported before anything is asked of Azure.
  render_parameters infra/main.parameters.json >/dev/null || exit 1

  case "${AZURE_KEY_VAULT_CREATE_MODE:-}" in
    "") AZURE_KEY_VAULT_CREATE_MODE="$(key_vault_create_mode "$location")" ;;
    default|recover) ;;
    *) die "AZURE_KEY_VAULT_CREATE_MODE must be default or recover, not '$AZURE_KEY_VAULT_CREATE_MODE'" ;;
  esac
  export AZURE_KEY_VAULT_CREATE_MODE
  local params="$WORK_DIR/main.parameters.json"
  render_parameters infra/main.parameters.json >"$params" || exit 1

  # The deployment's own metadata is stored in the location given here: UK too.
  log "Provisioning infra/main.bicep in $location (subscription $(az account show --query id -o tsv))"
  az deployment sub create \
    --name "telederm-${AZURE_ENV_NAME}" \
    --location "$location" \
    --template-file infra/main.bicep \
    --parameters @"$params" \
    --query properties.outputs \
    --output json >"$OUTPUTS_FILE"

  AZURE_RESOURCE_GROUP="$(output AZURE_RESOURCE_GROUP)"
  AZURE_FUNCTION_APP_NAME="$(output AZURE_FUNCTION_APP_NAME)"
  AZURE_FUNCTION_APP_HOSTNAME="$(output AZURE_FUNCTION_APP_HOSTNAME)"
  AZURE_EVENTGRID_SYSTEM_TOPIC_NAME="$(output AZURE_EVENTGRID_SYSTEM_TOPIC_NAME)"
  INCOMING_CONTAINER="$(output INCOMING_CONTAINER)"
  export AZURE_RESOURCE_GROUP AZURE_FUNCTION_APP_NAME AZURE_FUNCTION_APP_HOSTNAME \
    AZURE_EVENTGRID_SYSTEM_TOPIC_NAME INCOMING_CONTAINER
}

publish() {
  # Flex Consumption only accepts "one deploy" (the package goes to the deployment blob container
  # configured in functionAppConfig); classic zip deploy, WEBSITE_RUN_FROM_PACKAGE and FTP are not
  # available. Core Tools detects a Flex app and uses one deploy with a remote build, which installs
  # requirements.txt on Linux for Python 3.11 (our wheels, e.g. cryptography and pillow-heif, are
  # native) and honours .funcignore. It authenticates with the signed-in Entra account, so it works
  # with basic publishing credentials disabled. (The equivalent Azure CLI route is
  # `az functionapp deployment source config-zip --build-remote true` with a zip we would have to
  # build ourselves.)
  log "Publishing the code to $AZURE_FUNCTION_APP_NAME"
  local attempt
  for attempt in 1 2 3; do
    # Role assignments made by the deployment can take a few minutes to reach storage.
    if func azure functionapp publish "$AZURE_FUNCTION_APP_NAME" --python; then
      return 0
    fi
    log "publish failed (attempt $attempt); retrying in 60 s"
    sleep 60
  done
  die "publishing failed"
}

wait_for_health() {
  local url="https://${AZURE_FUNCTION_APP_HOSTNAME}/api/health" status attempt
  for attempt in $(seq 1 30); do
    status="$(curl --silent --output /dev/null --write-out '%{http_code}' --max-time 30 "$url" || true)"
    if [ "$status" = "200" ]; then
      return 0
    fi
    sleep 10
  done
  printf '%s\n' "$status"
  return 1
}

wire_event_grid() {
  # The host creates the blobs_extension system key when it first loads a blob trigger; starting
  # the app (the health call) makes it do so.
  log "Waiting for the host to start"
  wait_for_health >/dev/null || true

  log "Reading the blobs_extension system key"
  local key="" attempt
  for attempt in $(seq 1 30); do
    key="$(az functionapp keys list \
      --resource-group "$AZURE_RESOURCE_GROUP" \
      --name "$AZURE_FUNCTION_APP_NAME" \
      --query 'systemKeys.blobs_extension' \
      --output tsv 2>/dev/null || true)"
    [ -n "$key" ] && break
    sleep 10
  done
  [ -n "$key" ] || die "no blobs_extension system key: is $FUNCTION_NAME deployed (blob trigger, source=EventGrid)?"

  # The subscription is infra/upload-trigger.bicep: BlobCreated events under the upload container,
  # only for operations that commit a whole blob (data.api). Deploying it is a PUT, so re-running
  # this script updates it (e.g. after a key rotation). The key goes to the deployment in a
  # parameters file readable by this user only (not on a command line, never echoed) as a
  # @secure() parameter, which the deployment history does not keep.
  local params="$WORK_DIR/upload-trigger.parameters.json"
  (
    umask 077
    BLOBS_EXTENSION_KEY="$key" \
    AZURE_EVENTGRID_SYSTEM_TOPIC_NAME="$AZURE_EVENTGRID_SYSTEM_TOPIC_NAME" \
    AZURE_FUNCTION_APP_HOSTNAME="$AZURE_FUNCTION_APP_HOSTNAME" \
    INCOMING_CONTAINER="${INCOMING_CONTAINER:-$INCOMING_CONTAINER_DEFAULT}" \
    python3 - >"$params" <<'PY'
import json, os

values = {
    "systemTopicName": os.environ["AZURE_EVENTGRID_SYSTEM_TOPIC_NAME"],
    "functionAppHostName": os.environ["AZURE_FUNCTION_APP_HOSTNAME"],
    "incomingContainerName": os.environ["INCOMING_CONTAINER"],
    "blobsExtensionKey": os.environ["BLOBS_EXTENSION_KEY"],
}
print(json.dumps({
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {name: {"value": value} for name, value in values.items()},
}))
PY
  )
  log "Deploying the Event Grid subscription ($UPLOAD_TRIGGER_TEMPLATE) on $AZURE_EVENTGRID_SYSTEM_TOPIC_NAME"
  az deployment group create \
    --name "telederm-upload-trigger" \
    --resource-group "$AZURE_RESOURCE_GROUP" \
    --template-file "$UPLOAD_TRIGGER_TEMPLATE" \
    --parameters @"$params" \
    --output none
  rm -f "$params"
}

smoke_test() {
  log "Smoke test: GET https://${AZURE_FUNCTION_APP_HOSTNAME}/api/health"
  local status
  if ! status="$(wait_for_health)"; then
    die "health check did not return 200 (last status: ${status:-none})"
  fi
  log "OK: https://${AZURE_FUNCTION_APP_HOSTNAME}/api/health returned 200"
}

post_deploy() {
  # Under azd the outputs arrive as environment variables; standalone, provision() set them.
  : "${AZURE_RESOURCE_GROUP:?set AZURE_RESOURCE_GROUP}"
  : "${AZURE_FUNCTION_APP_NAME:?set AZURE_FUNCTION_APP_NAME}"
  : "${AZURE_FUNCTION_APP_HOSTNAME:?set AZURE_FUNCTION_APP_HOSTNAME}"
  : "${AZURE_EVENTGRID_SYSTEM_TOPIC_NAME:?set AZURE_EVENTGRID_SYSTEM_TOPIC_NAME}"
  wire_event_grid
  smoke_test
}

main() {
  need az
  need python3
  need curl
  # Scratch files (rendered parameters, outputs, the upload trigger's key) live in a directory only
  # this user can read, removed on exit whatever happens.
  WORK_DIR="$(mktemp -d)"
  chmod 700 "$WORK_DIR"
  trap 'rm -rf "$WORK_DIR"' EXIT
  case "${1:-all}" in
    all)
      need func
      OUTPUTS_FILE="$WORK_DIR/outputs.json"
      provision
      publish
      post_deploy
      ;;
    post-deploy)
      post_deploy
      ;;
    *)
      die "usage: scripts/deploy.sh [all|post-deploy]"
      ;;
  esac
}

main "$@"
