#!/usr/bin/env bash
# Bake a GPU node image from a builder server (terraform_data local-exec: the
# OpenStack provider cannot snapshot a server). Waits for the builder's
# GPU-NODE-READY console line, lets it seal and power off, snapshots it and
# labels the image with the recipe key so later deploys reuse it.
# Env: defaults below; BAKE_SERVER_ID, BAKE_IMAGE_NAME, BAKE_RECIPE_KEY and
# BAKE_RECIPE_NAME required; BAKE_PROPERTIES key=value lines; BAKE_TAGS
# newline/comma list. Exit 0 ok, 1 bake failed (builder kept), 2 bad setup.
# Kept to bash 3.2 (macOS) and BSD/GNU tools.
set -euo pipefail

OS_CLOUD="${OS_CLOUD:-openstack}"
BAKE_TIMEOUT="${BAKE_TIMEOUT:-3600}"
BAKE_SHUTOFF_TIMEOUT="${BAKE_SHUTOFF_TIMEOUT:-600}"
BAKE_POLL_INTERVAL="${BAKE_POLL_INTERVAL:-30}"
BAKE_DELETE_BUILDER="${BAKE_DELETE_BUILDER:-true}"
BAKE_VISIBILITY="${BAKE_VISIBILITY:-private}"
BAKE_PROPERTIES="${BAKE_PROPERTIES:-}" BAKE_TAGS="${BAKE_TAGS:-}"
START=$SECONDS

elapsed() { local s=$((SECONDS - START)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }
log() { printf 'bake: [%s] %s\n' "$(elapsed)" "$*"; }
die() { printf 'bake: ERROR: %s\n' "$1" >&2; exit "${2:-1}"; }
# Failures keep the builder so its console and disk can be inspected.
bake_fail() {
  die "$1
bake: builder server $SRV kept for debugging; delete it with: openstack --os-cloud $OS_CLOUD server delete $SRV" 1
}
os() { openstack --os-cloud "$OS_CLOUD" "$@"; }
trim() { local s=$1; s="${s#"${s%%[![:space:]]*}"}"; printf '%s' "${s%"${s##*[![:space:]]}"}"; }

# --- prerequisites (exit 2); shell builtins only until the CLI is found
command -v openstack >/dev/null 2>&1 || die "the OpenStack CLI 'openstack' is not on PATH.
Install it with 'apt-get install python3-openstackclient' (Debian/Ubuntu) or 'pip install python-openstackclient'." 2
for v in BAKE_SERVER_ID BAKE_IMAGE_NAME BAKE_RECIPE_KEY BAKE_RECIPE_NAME; do
  [[ -n "${!v:-}" ]] || die "$v is required" 2
done
SRV=$BAKE_SERVER_ID KEY=$BAKE_RECIPE_KEY
for v in BAKE_TIMEOUT BAKE_SHUTOFF_TIMEOUT BAKE_POLL_INTERVAL; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be whole seconds, got '${!v}'" 2
done
case $BAKE_VISIBILITY in private | shared | community | public) ;;
  *) die "BAKE_VISIBILITY must be private|shared|community|public, got '$BAKE_VISIBILITY'" 2 ;;
esac
case $BAKE_DELETE_BUILDER in true | false) ;;
  *) die "BAKE_DELETE_BUILDER must be true or false, got '$BAKE_DELETE_BUILDER'" 2 ;;
esac

# Parse properties and tags now, so a typo fails before an hour-long wait.
SET_ARGS=()
while IFS= read -r p; do
  p=$(trim "$p")
  if [[ -z $p ]]; then continue; fi
  [[ $p == ?*=* ]] || die "BAKE_PROPERTIES line '$p' is not key=value" 2
  # The recipe labels always come from BAKE_RECIPE_* (set below), never twice.
  case ${p%%=*} in gpu_node_recipe_key | gpu_node_recipe_name | gpu_node_baked_at) continue ;; esac
  SET_ARGS+=(--property "$p")
done <<<"$BAKE_PROPERTIES"
while IFS= read -r t; do
  t=$(trim "$t")
  if [[ -n $t ]]; then SET_ARGS+=(--tag "$t"); fi
done <<<"${BAKE_TAGS//,/$'\n'}"

if ! auth_err=$(os token issue -f value -c id 2>&1 >/dev/null); then
  die "clouds.yaml cloud '$OS_CLOUD' cannot authenticate (openstack token issue failed: $auth_err).
Check OS_CLOUD and the clouds.yaml files searched: \$OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml" 2
fi

delete_builder() {
  if [[ $BAKE_DELETE_BUILDER != true ]]; then
    log "keeping builder server $SRV (BAKE_DELETE_BUILDER=false)"
    return 0
  fi
  log "deleting builder server $SRV"
  # The image is good already; a failed delete only leaves a server behind.
  os server delete --wait "$SRV" || log "WARNING: could not delete builder $SRV" >&2
}

# Bakes are found by this tag, not by the gpu_node_recipe_key property: Nova copies an image's
# properties into every snapshot of a node booted from it (also the one the cloud makes when it
# shelves a node), but not its tags.
KEY_TAG="gpu-node-recipe-$KEY"

# --- idempotence: a re-run (or a second stack) reuses the image for this recipe key
existing=$(os image list --tag "$KEY_TAG" --status active -f value -c ID -c Name) ||
  bake_fail "could not list images"
if [[ -n $existing ]]; then
  read -r image_id image_name <<<"$existing"
  log "active image $image_id ($image_name) already has tag $KEY_TAG; not baking again"
  delete_builder
  printf 'bake: image %s %s ready for recipe key %s\n' "$image_id" "$image_name" "$KEY"
  exit 0
fi

# --- wait for the node's verdict on the console
READY_LINE="" FAILED_LINE="" SEALED_LINE=""
scan() { # sets READY_LINE/FAILED_LINE/SEALED_LINE; serial consoles add CRs
  local line
  while IFS= read -r line; do
    line=${line//$'\r'/}
    if [[ $line == *GPU-NODE-FAILED* ]]; then FAILED_LINE=$line
    # Ready lines of other recipe keys must not count.
    elif [[ $line == *GPU-NODE-READY* && " $line " == *" key=$KEY "* ]]; then READY_LINE=$line
    elif [[ $line == *GPU-NODE-SEALED* && " $line " == *" key=$KEY "* ]]; then SEALED_LINE=$line
    fi
  done <<<"$1"
}
check_verdict() {
  [[ -z $FAILED_LINE ]] || bake_fail "the builder node reported a failure: $FAILED_LINE"
  [[ -n $READY_LINE ]]
}
server_status() { os server show -f value -c status "$SRV" 2>/dev/null || echo UNKNOWN; }

log "waiting up to ${BAKE_TIMEOUT}s for 'GPU-NODE-READY key=$KEY' on builder $SRV's console"
while :; do
  console=$(os console log show --lines 200 "$SRV" 2>/dev/null) || console=""
  scan "$console"
  check_verdict && break
  status=$(server_status)
  case $status in
    ERROR) bake_fail "builder server $SRV went to status ERROR (see: openstack server show $SRV)" ;;
    SHUTOFF)
      # Powered off between polls: shutdown noise may have pushed the ready
      # line out of the last 200 lines, so read the whole log once.
      scan "$(os console log show "$SRV" 2>/dev/null || true)"
      check_verdict && break
      bake_fail "builder server $SRV powered off without printing 'GPU-NODE-READY key=$KEY'" ;;
  esac
  if ((SECONDS - START >= BAKE_TIMEOUT)); then
    bake_fail "timed out after $(elapsed) (BAKE_TIMEOUT=${BAKE_TIMEOUT}s) waiting for 'GPU-NODE-READY key=$KEY'; server status $status. Last 20 console lines:
$(printf '%s\n' "$console" | tr -d '\r' | tail -n 20)
Inspect the full console with: openstack --os-cloud $OS_CLOUD console log show $SRV"
  fi
  log "waiting (server status $status)"
  sleep "$BAKE_POLL_INTERVAL"
done
log "node ready: $READY_LINE"

# --- the node seals itself and powers off
# (keys, machine-id, logs). Without that no image is made: an unsealed disk would carry the
# builder's SSH keys into every node.
log "waiting up to ${BAKE_SHUTOFF_TIMEOUT}s for the builder to seal and power off"
deadline=$((SECONDS + BAKE_SHUTOFF_TIMEOUT))
while :; do
  s=$(server_status)
  [[ $s == SHUTOFF ]] && break
  [[ $s == ERROR ]] && bake_fail "builder server $SRV went to status ERROR while sealing"
  FAILED_LINE=""
  scan "$(os console log show --lines 200 "$SRV" 2>/dev/null || true)"
  [[ -z $FAILED_LINE ]] || bake_fail "the builder could not seal itself for the snapshot: $FAILED_LINE"
  ((SECONDS >= deadline)) && bake_fail "builder server $SRV did not seal itself and power off within ${BAKE_SHUTOFF_TIMEOUT}s (status $s); no image was made from an unsealed disk"
  sleep "$BAKE_POLL_INTERVAL"
done
# SHUTOFF alone does not prove the seal ran to its end; its last line does.
[[ -n $SEALED_LINE ]] || scan "$(os console log show "$SRV" 2>/dev/null || true)"
[[ -n $SEALED_LINE ]] || bake_fail "builder server $SRV powered off without 'GPU-NODE-SEALED key=$KEY' on its console; no image was made from a disk that may not be sealed"

# --- snapshot and label
log "creating image '$BAKE_IMAGE_NAME' from builder $SRV"
out=$(os server image create --name "$BAKE_IMAGE_NAME" --wait -f value -c id "$SRV") ||
  bake_fail "'openstack server image create' failed"
# --wait writes '\rProgress: N' to stdout ahead of the value, so take the last line.
image_id=$(printf '%s\n' "$out" | tr '\r' '\n' | sed '/^[[:space:]]*$/d' | tail -n 1)
[[ -n $image_id ]] || bake_fail "'openstack server image create' printed no image id"

SET_ARGS+=(--tag "$KEY_TAG" --property "gpu_node_recipe_key=$KEY"
  --property "gpu_node_recipe_name=$BAKE_RECIPE_NAME"
  --property "gpu_node_baked_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  "--$BAKE_VISIBILITY")
os image set "${SET_ARGS[@]}" "$image_id" ||
  bake_fail "image $image_id created but 'openstack image set' failed; it will not be reused"
image_status=$(os image show -f value -c status "$image_id") || image_status=UNKNOWN
[[ $image_status == active ]] || bake_fail "image $image_id is '$image_status', expected 'active'"

delete_builder
printf 'bake: image %s %s ready for recipe key %s\n' "$image_id" "$BAKE_IMAGE_NAME" "$KEY"
