#!/usr/bin/env bash
# Deploy the NHS teledermatology backend with the Azure CLI and Azure Functions Core Tools.
#
#   scripts/deploy.sh              provision (Bicep), publish the code, wire the Event Grid blob
#                                  trigger, smoke test
#   scripts/deploy.sh post-deploy  only the last two steps (the azd postdeploy hook runs this)
#
# Needs: az (logged in: `az login`, subscription selected), func (Core Tools v4), python3, curl.
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
#   PUBLIC_BASE_URL    optional; defaults to https://<function app host name>
# No secret is passed here: the Graph client secret is set in Key Vault by operations
# (`az keyvault secret set`, docs/operations.md).
set -euo pipefail

cd "$(dirname "$0")/.."

FUNCTION_NAME="process_incoming_upload"       # the Event Grid blob trigger (source=EventGrid)
INCOMING_CONTAINER_DEFAULT="incoming"
EVENT_SUBSCRIPTION_NAME="incoming-blob-created"

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
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]["value"])' "$OUTPUTS_FILE" "$1"
}

provision() {
  local location="${AZURE_LOCATION:-uksouth}"
  case "$location" in
    uksouth|ukwest) ;;
    *) die "AZURE_LOCATION must be uksouth or ukwest (patient data stays in the UK), not '$location'" ;;
  esac
  [ -n "${AZURE_ENV_NAME:-}" ] || die "set AZURE_ENV_NAME (e.g. prod)"
  export AZURE_LOCATION="$location"

  local params
  params="$(mktemp)"
  if ! render_parameters infra/main.parameters.json >"$params"; then
    rm -f "$params"
    exit 1
  fi

  # The deployment's own metadata is stored in the location given here: UK too.
  log "Provisioning infra/main.bicep in $location (subscription $(az account show --query id -o tsv))"
  az deployment sub create \
    --name "telederm-${AZURE_ENV_NAME}" \
    --location "$location" \
    --template-file infra/main.bicep \
    --parameters @"$params" \
    --query properties.outputs \
    --output json >"$OUTPUTS_FILE"
  rm -f "$params"

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

  local container="${INCOMING_CONTAINER:-$INCOMING_CONTAINER_DEFAULT}"
  local endpoint="https://${AZURE_FUNCTION_APP_HOSTNAME}/runtime/webhooks/blobs?functionName=Host.Functions.${FUNCTION_NAME}&code=${key}"

  # Only "blob created" events in the upload container reach the function. Creating the
  # subscription is a PUT, so re-running this script updates it (e.g. after a key rotation).
  # The endpoint (with its key) is not echoed.
  log "Creating Event Grid subscription $EVENT_SUBSCRIPTION_NAME on $AZURE_EVENTGRID_SYSTEM_TOPIC_NAME"
  az eventgrid system-topic event-subscription create \
    --name "$EVENT_SUBSCRIPTION_NAME" \
    --resource-group "$AZURE_RESOURCE_GROUP" \
    --system-topic-name "$AZURE_EVENTGRID_SYSTEM_TOPIC_NAME" \
    --endpoint-type webhook \
    --endpoint "$endpoint" \
    --event-delivery-schema eventgridschema \
    --included-event-types Microsoft.Storage.BlobCreated \
    --subject-begins-with "/blobServices/default/containers/${container}/" \
    --output none
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
  case "${1:-all}" in
    all)
      need func
      OUTPUTS_FILE="$(mktemp)"
      trap 'rm -f "$OUTPUTS_FILE"' EXIT
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
