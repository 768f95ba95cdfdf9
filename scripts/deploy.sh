#!/usr/bin/env bash
# Deploy the NHS teledermatology backend with the Azure CLI and Azure Functions Core Tools.
#
#   scripts/deploy.sh              provision (Bicep), publish the code, wire the Event Grid blob
#                                  trigger (infra/upload-trigger.bicep), smoke test
#   scripts/deploy.sh post-deploy  only the last two steps (the azd postdeploy hook runs this)
#
# Needs: az (logged in: `az login`, subscription selected), func (Core Tools v4), python3, curl
# (7.55 or later: the smoke test's token goes to curl in a header file).
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
#   APP_LINK_BASE_URL  where a patient's mail opens the app (deep-link base)  (required)
#   WORKFORCE_TENANTS PDS_BASE_URL PDS_TOKEN_URL PDS_API_KEY PDS_KEY_ID PDS_PRIVATE_KEY_SECRET_NAME
#                      optional; empty is unset (no tenant list beyond WORKFORCE_ISSUER's, no trace)
#   DECISION_SUPPORT_URL DECISION_SUPPORT_SCOPE DECISION_SUPPORT_API_KEY_SECRET_NAME
#                      optional; empty is unset (no AI decision support for referrals: nothing is sent)
#   ALERT_EMAIL_ADDRESS  operations mailbox for the alerts   (required)
#   PUBLIC_BASE_URL    optional; defaults to https://<function app host name>
#   UPLOAD_CORS_ORIGINS  optional; comma-separated https origins (e.g. the portal's) allowed to PUT
#                      uploads to blob storage from a browser; empty for none
#   AZURE_KEY_VAULT_CREATE_MODE  optional; default or recover. Left unset, the script looks for a
#                      soft-deleted Key Vault of this environment (a redeploy after a teardown)
#                      and recovers it
#   SKIP_DEEP_SMOKE_TEST=1  optional; the smoke test then only proves routing. Otherwise it calls
#                      GET /api/health?deep=1 with the operator's own token for WORKFORCE_AUDIENCE
#                      (`az account get-access-token`), which needs the platform_admin app role,
#                      and fails, naming it, unless every dependency reports ok
#   DEEP_SMOKE_TEST_ATTEMPTS  optional; tries of the deep check (default 10, 30 s apart: new role
#                      assignments can take minutes to reach the data planes)
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
  # So is a missing platform_admin role: better now than after twenty minutes of deployment.
  preflight_deep_smoke_test

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

# --- The deep smoke test: GET /api/health?deep=1 as a platform_admin ---------------------------
ROLE_HELP="The deep smoke test calls GET /api/health?deep=1 with your own Entra token for WORKFORCE_AUDIENCE, which must carry the platform_admin app role: have an Entra administrator assign it to you (Enterprise applications > the API > Users and groups > Add user/group > role platform_admin; just-in-time with PIM where you can), sign in again (az login), and re-run. To deploy without it, set SKIP_DEEP_SMOKE_TEST=1 (the smoke test then only proves routing). See docs/operations.md, 'The deep smoke test'."

skip_deep_smoke_test() {
  case "${SKIP_DEEP_SMOKE_TEST:-}" in
    1) return 0 ;;
    ""|0) return 1 ;;
    *) die "SKIP_DEEP_SMOKE_TEST must be 1 (skip the deep check) or unset, not '$SKIP_DEEP_SMOKE_TEST'" ;;
  esac
}

# platform_token FILE: an access token for WORKFORCE_AUDIENCE, written to FILE (mode 600) as an
# HTTP header for `curl --header @FILE`. The token never reaches a command line, a log or stdout:
# az prints it into a command substitution, printf is a shell builtin, curl reads the file.
platform_token() {
  local header_file="$1" token err="$WORK_DIR/get-access-token.err"
  [ -n "${WORKFORCE_AUDIENCE:-}" ] \
    || die "set WORKFORCE_AUDIENCE (the deep smoke test asks az for a token for it), or SKIP_DEEP_SMOKE_TEST=1"
  if ! token="$(az account get-access-token --resource "$WORKFORCE_AUDIENCE" --query accessToken -o tsv 2>"$err")" \
      || [ -z "$token" ]; then
    printf 'deploy.sh: could not get a token for %s from az:\n' "$WORKFORCE_AUDIENCE" >&2
    sed 's/^/    /' "$err" >&2 || true
    die "$ROLE_HELP"
  fi
  (umask 077; printf 'Authorization: Bearer %s\n' "$token" >"$header_file")
  # The roles claim, read (unverified) from the token so that a missing role is named now; the
  # service checks the signature. The token goes to python on stdin, never as an argument.
  local roles
  roles="$(printf '%s' "$token" | python3 -c '
import base64, json, sys
try:
    payload = sys.stdin.read().strip().split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    print(" ".join(r for r in claims.get("roles") or [] if isinstance(r, str)) or "-")
except Exception:
    print("?")  # not a JWT we can read: let the service decide
')"
  unset token
  case " $roles " in
    *" platform_admin "*|" ? ") ;;
    *) rm -f "$header_file"
       die "your token for $WORKFORCE_AUDIENCE has no platform_admin role (roles: ${roles/#-/none}). $ROLE_HELP" ;;
  esac
}

preflight_deep_smoke_test() {
  skip_deep_smoke_test && return 0
  [ -n "${DEEP_SMOKE_PREFLIGHT_DONE:-}" ] && return 0
  platform_token "$WORK_DIR/preflight-header"
  rm -f "$WORK_DIR/preflight-header"
  DEEP_SMOKE_PREFLIGHT_DONE=1
}

# deep_health_verdict STATUS BODY_FILE: prints one line: "ok", or what is wrong (naming each
# failing dependency); exit status 0 only for ok.
deep_health_verdict() {
  python3 - "$1" "$2" <<'PY'
import json, sys

status, path = sys.argv[1], sys.argv[2]
try:
    body = json.load(open(path, encoding="utf-8"))
except (OSError, ValueError):
    body = None
checks = body.get("checks") if isinstance(body, dict) else None
if status not in ("200", "503") or not isinstance(checks, dict):
    print(f"GET /api/health?deep=1 answered {status or 'nothing'} without a dependency report")
    sys.exit(1)
if not checks:
    print("the deep check reported no dependency at all")
    sys.exit(1)
failing = {name: (c.get("status") if isinstance(c, dict) else c) for name, c in sorted(checks.items())
           if not (isinstance(c, dict) and c.get("status") == "ok")}
if failing:
    print("dependency failing: " + "; ".join(f"{name}: {state}" for name, state in failing.items()))
    sys.exit(1)
if status != "200" or body.get("status") != "ok":
    print(f"GET /api/health?deep=1 answered {status} ({body.get('status')!r}) although every check is ok")
    sys.exit(1)
print("ok: " + ", ".join(sorted(checks)))
PY
}

deep_smoke_test() {
  local url="https://${AZURE_FUNCTION_APP_HOSTNAME}/api/health?deep=1"
  local header="$WORK_DIR/deep-health-header" body="$WORK_DIR/deep-health.json"
  local attempts="${DEEP_SMOKE_TEST_ATTEMPTS:-10}" attempt status verdict
  case "$attempts" in ''|*[!0-9]*|0) die "DEEP_SMOKE_TEST_ATTEMPTS must be a positive whole number" ;; esac
  log "Deep smoke test: GET $url (as platform_admin)"
  platform_token "$header"
  for attempt in $(seq 1 "$attempts"); do
    rm -f "$body"
    status="$(curl --silent --output "$body" --write-out '%{http_code}' --max-time 60 \
      --header @"$header" "$url" || true)"
    case "$status" in
      401) rm -f "$header"
           die "GET /api/health?deep=1 answered 401: the service refused your token (WORKFORCE_AUDIENCE, WORKFORCE_ISSUER or WORKFORCE_TENANTS do not match it)" ;;
      403) rm -f "$header"; die "GET /api/health?deep=1 answered 403 (role-required). $ROLE_HELP" ;;
    esac
    if verdict="$(deep_health_verdict "$status" "$body")"; then
      rm -f "$header" "$body"
      log "OK: every dependency reports ok (${verdict#ok: })"
      return 0
    fi
    [ "$attempt" -lt "$attempts" ] || break
    log "deep check not yet healthy (attempt $attempt of $attempts: $verdict); retrying in 30 s"
    sleep 30
  done
  rm -f "$header" "$body"
  die "deep smoke test failed: $verdict"
}

smoke_test() {
  log "Smoke test: GET https://${AZURE_FUNCTION_APP_HOSTNAME}/api/health"
  local status
  if ! status="$(wait_for_health)"; then
    die "health check did not return 200 (last status: ${status:-none})"
  fi
  log "OK: https://${AZURE_FUNCTION_APP_HOSTNAME}/api/health returned 200"
  if skip_deep_smoke_test; then
    log "SKIP_DEEP_SMOKE_TEST=1: the dependencies were NOT checked (only routing was)"
    return 0
  fi
  deep_smoke_test
}

post_deploy() {
  # Under azd the outputs arrive as environment variables; standalone, provision() set them.
  : "${AZURE_RESOURCE_GROUP:?set AZURE_RESOURCE_GROUP}"
  : "${AZURE_FUNCTION_APP_NAME:?set AZURE_FUNCTION_APP_NAME}"
  : "${AZURE_FUNCTION_APP_HOSTNAME:?set AZURE_FUNCTION_APP_HOSTNAME}"
  : "${AZURE_EVENTGRID_SYSTEM_TOPIC_NAME:?set AZURE_EVENTGRID_SYSTEM_TOPIC_NAME}"
  preflight_deep_smoke_test
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
