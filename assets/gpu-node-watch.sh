#!/usr/bin/env bash
# gpu-node-watch.sh ready|bake|power: watches a GPU node's console from the deploying
# machine (terraform_data local-exec; the OpenStack provider reads no console).
#   ready  waitForReady: wait for this boot's GPU-NODE-READY line of the
#          recipe; fail with the node's GPU-NODE-FAILED line or a timeout.
#   bake   SnapshotImage: wait for READY, let the builder seal and power off,
#          snapshot it and label the image with the recipe key.
#   why    after a failed deploy: what Nova recorded for the server (status,
#          flavor, fault, the last action's failed events) in one line.
#   power  PowerState.STOPPED/PAUSED: bring the server to POWER_WANT (shutoff or
#          paused) from whatever state it is in; a shelved server already is
#          "not running" and is left shelved (the cloud's weekly shelve).
# Env (defaults below): OS_CLOUD; ready: WATCH_SERVER_ID, WATCH_RECIPE_NAME
# required, WATCH_NODE, WATCH_EXPECT_STATE; bake: BAKE_SERVER_ID,
# BAKE_IMAGE_NAME, BAKE_RECIPE_KEY, BAKE_RECIPE_NAME required, BAKE_PROPERTIES
# key=value lines, BAKE_TAGS newline/comma list; both: WATCH_CONTRACT.
# Exit 0 ok, 1 the node failed (builder kept), 2 bad setup.
# Kept to bash 3.2 (macOS) and BSD/GNU tools.
set -euo pipefail

MODE=${1:-}
OS_CLOUD="${OS_CLOUD:-openstack}"
START=$SECONDS

elapsed() { local s=$((SECONDS - START)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }
log() { printf '%s: [%s] %s\n' "$TAG" "$(elapsed)" "$*"; }
die() { printf '%s: ERROR: %s\n' "$TAG" "$1" >&2; exit "${2:-1}"; }
os() { openstack --os-cloud "$OS_CLOUD" "$@"; }
trim() { local s=$1; s="${s#"${s%%[![:space:]]*}"}"; printf '%s' "${s%"${s##*[![:space:]]}"}"; }
whole_seconds() {
  local v
  for v in "$@"; do [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be whole seconds, got '${!v}'" 2; done
}

case $MODE in
  ready) TAG=wait-ready ;;
  bake) TAG=bake ;;
  power) TAG=power ;;
  why) TAG=why ;;
  *) TAG=gpu-node-watch; die "usage: gpu-node-watch.sh ready|bake|power|why (got '${MODE}')" 2 ;;
esac

# Markers, image tag and property prefix: the node's own contract file (watch-script.ts passes it;
# run by hand from the package, the one beside this script).
if [[ -z ${WATCH_CONTRACT:-} && -r "$(dirname "$0")/../cloud-init/node/lib/gpu-node-contract.sh" ]]; then
  WATCH_CONTRACT="$(dirname "$0")/../cloud-init/node/lib/gpu-node-contract.sh"
fi
[[ -r ${WATCH_CONTRACT:-} ]] || die "WATCH_CONTRACT must name cloud-init/node/lib/gpu-node-contract.sh, got '${WATCH_CONTRACT:-}'" 2
# shellcheck source=/dev/null  # an asset of its own at run time
. "$WATCH_CONTRACT"
M_READY=$GPU_NODE_MARK_READY M_FAILED=$GPU_NODE_MARK_FAILED M_SEALED=$GPU_NODE_MARK_SEALED P=$GPU_NODE_PROPERTY_PREFIX

# --- prerequisites (exit 2); shell builtins only until the CLI is found
command -v openstack >/dev/null 2>&1 || die "the OpenStack CLI 'openstack' is not on PATH of the machine that runs the deploy.
Install it with 'apt-get install python3-openstackclient' (Debian/Ubuntu) or 'pip install python-openstackclient'." 2

check_auth() {
  local err
  if ! err=$(os token issue -f value -c id 2>&1 >/dev/null); then
    die "clouds.yaml cloud '$OS_CLOUD' cannot authenticate (openstack token issue failed: $err).
Check OS_CLOUD and the clouds.yaml files searched: \$OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml" 2
  fi
}

# scan TEXT: the verdict lines, as the node's scripts print them (cloud-init/README.md, "Console
# lines"). Only lines of the last boot count: the kernel prints its 'Linux version' banner at
# every boot, and the console log of a server that was rebooted, stopped and started or
# unshelved holds the earlier boots too. Without a banner in TEXT, TEXT is all after the last
# one. Within the boot, the latest verdict wins (the runner prints one at every boot).
# Sets READY_LINE, FAILED_LINE (only the latest of the two is set) and SEALED_LINE.
READY_LINE="" FAILED_LINE="" SEALED_LINE=""
scan() {
  local line recipe=$1 key=$2
  READY_LINE="" FAILED_LINE="" SEALED_LINE=""
  while IFS= read -r line; do
    line=${line//$'\r'/} # serial consoles add CRs
    if [[ $line == *"Linux version "[0-9]* ]]; then
      READY_LINE="" FAILED_LINE="" SEALED_LINE=""
      continue
    fi
    # Whole fields: recipe=gpu must not match recipe=gpu-base, nor key=ab key=abc.
    [[ " $line " == *" recipe=$recipe "* ]] || continue
    if [[ -n $key && $line != *"$M_FAILED"* && " $line " != *" key=$key "* ]]; then continue; fi
    case $line in
      *"$M_FAILED"*) FAILED_LINE=$line READY_LINE="" ;;
      *"$M_READY"*) READY_LINE=$line FAILED_LINE="" ;;
      *"$M_SEALED"*) SEALED_LINE=$line ;;
    esac
  done <<<"$3"
}
server_status() { os server show -f value -c status "$SRV" 2>/dev/null || echo UNKNOWN; }
console_tail() { os console log show --lines "$1" "$SRV" 2>/dev/null || true; }

if [[ $MODE == ready ]]; then
  WATCH_TIMEOUT="${WATCH_TIMEOUT:-2700}"
  WATCH_POLL_INTERVAL="${WATCH_POLL_INTERVAL:-20}"
  WATCH_SHUTOFF_GRACE="${WATCH_SHUTOFF_GRACE:-300}"
  WATCH_EXPECT_STATE="${WATCH_EXPECT_STATE:-active}"
  for v in WATCH_SERVER_ID WATCH_RECIPE_NAME; do [[ -n "${!v:-}" ]] || die "$v is required" 2; done
  whole_seconds WATCH_TIMEOUT WATCH_POLL_INTERVAL WATCH_SHUTOFF_GRACE
  SRV=$WATCH_SERVER_ID RECIPE=$WATCH_RECIPE_NAME NODE=${WATCH_NODE:-$WATCH_SERVER_ID}
  if [[ $WATCH_EXPECT_STATE != active ]]; then
    log "$NODE is deployed as '$WATCH_EXPECT_STATE'; not waiting for GPUs"
    exit 0
  fi
  check_auth
  log "waiting up to ${WATCH_TIMEOUT}s for '$M_READY recipe=$RECIPE' of this boot on $NODE (server $SRV)"
  off_since=""
  while :; do
    status=$(server_status)
    console=$(console_tail 1000)
    scan "$RECIPE" "" "$console"
    if [[ -n $READY_LINE ]]; then
      log "$NODE is ready: $READY_LINE"
      exit 0
    fi
    [[ -z $FAILED_LINE ]] || die "$NODE reported a failure: $FAILED_LINE
Its log is /var/log/gpu-node/ on the node; the whole console: openstack --os-cloud $OS_CLOUD console log show $SRV" 1
    case $status in
      ERROR) die "$NODE (server $SRV) went to status ERROR; see: openstack --os-cloud $OS_CLOUD server show $SRV" 1 ;;
      SHUTOFF | SHELVED | SHELVED_OFFLOADED | PAUSED | SUSPENDED)
        # Some clouds show no console for a stopped server, so an empty console proves
        # nothing here; a node that stays off never becomes ready, though.
        off_since=${off_since:-$SECONDS}
        if ((SECONDS - off_since >= WATCH_SHUTOFF_GRACE)); then
          die "$NODE (server $SRV) is $status, not running, and printed no $M_READY line while it ran (waited ${WATCH_SHUTOFF_GRACE}s for it to come back); start it with PowerState.RUNNING" 1
        fi ;;
      *) off_since="" ;;
    esac
    if ((SECONDS - START >= WATCH_TIMEOUT)); then
      die "timed out after $(elapsed) (WATCH_TIMEOUT=${WATCH_TIMEOUT}s) waiting for '$M_READY recipe=$RECIPE' on $NODE; server status $status. Last 20 console lines:
$(printf '%s\n' "$console" | tr -d '\r' | tail -n 20)
Inspect the full console with: openstack --os-cloud $OS_CLOUD console log show $SRV" 1
    fi
    log "waiting (server status $status)"
    sleep "$WATCH_POLL_INTERVAL"
  done
fi

if [[ $MODE == why ]]; then
  # The provider reports a server that Nova could not place only as "context deadline exceeded"
  # (an unshelve: the conductor logs NoValidHost and leaves it SHELVED_OFFLOADED) or "unexpected state
  # 'ERROR' ... last error: %!s(<nil>)" (a create); Nova's instance actions say why.
  SRV=${2:-${WATCH_SERVER_ID:-}}
  [[ -n $SRV ]] || die "usage: gpu-node-watch.sh why <server id or name>" 2
  check_auth
  show=$(os server show -f shell -c id -c name -c status -c flavor -c fault "$SRV" 2>&1) || die "no server '$SRV': $show" 1
  field() { printf '%s\n' "$show" | sed -n "s/^$1=\"\(.*\)\"$/\1/p"; }
  id=$(field id) name=$(field name) status=$(field status) flavor=$(field flavor) fault=$(field fault)
  flavor=${flavor%% (*}
  # The newest action and whether Nova recorded it as failed (its message: Error).
  last=$(os server event list -f value -c "Request ID" -c Action "$id" 2>/dev/null | head -n 1 || true)
  request=${last%% *} action=${last#* } result=""
  if [[ -n $last ]]; then result=$(os server event show -f value -c message "$id" "$request" 2>/dev/null || true); fi
  cause="Nova recorded no failure"
  if [[ -n $fault && $fault != "None" ]]; then
    fault_message=$(printf '%s' "$fault" | sed -n "s/.*'message': '\([^']*\)'.*/\1/p")
    cause="Nova's fault: ${fault_message:-$fault}"
  elif [[ $action == unshelve && $result == Error && $status == SHELVED_OFFLOADED ]]; then
    cause="the unshelve failed and the server is still shelved: Nova found no host with a free GPU of flavor $flavor (NoValidHost); deploy again when GPUs are free"
  elif [[ $result == Error ]]; then cause="Nova recorded the $action as failed (openstack server event show $id $request)"; fi
  printf 'why: %s (server %s, flavor %s) is %s; last action: %s %s; %s\n' "$name" "$id" "$flavor" "$status" "${action:-none}" "${result:-ok}" "$cause"
  exit 0
fi

if [[ $MODE == power ]]; then
  POWER_TIMEOUT="${POWER_TIMEOUT:-900}"
  WATCH_POLL_INTERVAL="${WATCH_POLL_INTERVAL:-3}"
  for v in WATCH_SERVER_ID POWER_WANT; do [[ -n "${!v:-}" ]] || die "$v is required" 2; done
  whole_seconds POWER_TIMEOUT WATCH_POLL_INTERVAL
  case $POWER_WANT in shutoff | paused) ;; *) die "POWER_WANT must be shutoff or paused, got '$POWER_WANT'" 2 ;; esac
  SRV=$WATCH_SERVER_ID NODE=${WATCH_NODE:-$WATCH_SERVER_ID}
  WANT=$(printf '%s' "$POWER_WANT" | tr '[:lower:]' '[:upper:]')
  check_auth
  # until STATUS: wait for the server to reach STATUS (or a state that is no better: ERROR fails).
  until_status() {
    local want=$1 s
    while :; do
      s=$(server_status)
      [[ $s == "$want" ]] && return 0
      [[ $s == ERROR ]] && die "$NODE (server $SRV) went to status ERROR on the way to $want; see: openstack --os-cloud $OS_CLOUD server show $SRV" 1
      ((SECONDS - START >= POWER_TIMEOUT)) && die "$NODE (server $SRV) did not reach $want within ${POWER_TIMEOUT}s (status $s)" 1
      sleep "$WATCH_POLL_INTERVAL"
    done
  }
  # Nova stops only ACTIVE (or ERROR) servers and pauses only ACTIVE ones (nova/compute/api.py
  # API.stop, API.pause: check_instance_state); a transition between two states that are not
  # running goes through nothing else: no start just to stop again.
  while :; do
    status=$(server_status)
    case $status in
      BUILD | REBOOT | HARD_REBOOT | RESIZE | MIGRATING | VERIFY_RESIZE)
        ((SECONDS - START >= POWER_TIMEOUT)) && die "$NODE (server $SRV) stayed $status for ${POWER_TIMEOUT}s" 1
        sleep "$WATCH_POLL_INTERVAL"; continue ;;
    esac
    break
  done
  case $status:$WANT in
    SHUTOFF:SHUTOFF | PAUSED:PAUSED)
      log "$NODE is $status already" ;;
    SHELVED_OFFLOADED:* | SHELVED:*)
      log "$NODE is $status (shelved by the cloud's lifetime or by hand): its GPUs are free, which is all $WANT asks of a node that is not running; it stays shelved. Deploy PowerState.RUNNING to unshelve it" ;;
    SHUTOFF:PAUSED)
      log "$NODE is SHUTOFF: Nova pauses only a running server, and a stopped one is not running either; it stays SHUTOFF. Deploy PowerState.RUNNING, then PAUSED, to pause it while it runs" ;;
    ACTIVE:SHUTOFF)
      log "stopping $NODE (server $SRV)"
      os server stop "$SRV" || die "'openstack server stop $SRV' failed" 1
      until_status SHUTOFF; log "$NODE is SHUTOFF" ;;
    PAUSED:SHUTOFF)
      log "unpausing $NODE (server $SRV) to stop it"
      os server unpause "$SRV" || die "'openstack server unpause $SRV' failed" 1
      until_status ACTIVE
      os server stop "$SRV" || die "'openstack server stop $SRV' failed" 1
      until_status SHUTOFF; log "$NODE is SHUTOFF" ;;
    ACTIVE:PAUSED)
      log "pausing $NODE (server $SRV)"
      os server pause "$SRV" || die "'openstack server pause $SRV' failed" 1
      until_status PAUSED; log "$NODE is PAUSED" ;;
    *) die "$NODE (server $SRV) is $status; cannot make it $WANT. See: openstack --os-cloud $OS_CLOUD server show $SRV" 1 ;;
  esac
  exit 0
fi

# ---------------------------------------------------------------- bake
BAKE_TIMEOUT="${BAKE_TIMEOUT:-3600}"
BAKE_SHUTOFF_TIMEOUT="${BAKE_SHUTOFF_TIMEOUT:-600}"
BAKE_POLL_INTERVAL="${BAKE_POLL_INTERVAL:-30}"
BAKE_SEAL_POLL_INTERVAL="${BAKE_SEAL_POLL_INTERVAL:-2}"
BAKE_DELETE_BUILDER="${BAKE_DELETE_BUILDER:-true}"
BAKE_VISIBILITY="${BAKE_VISIBILITY:-private}"
BAKE_PROPERTIES="${BAKE_PROPERTIES:-}" BAKE_TAGS="${BAKE_TAGS:-}"
# Failures keep the builder so its console and disk can be inspected.
bake_fail() {
  die "$1
bake: builder server $SRV kept for debugging; delete it with: openstack --os-cloud $OS_CLOUD server delete $SRV" 1
}
for v in BAKE_SERVER_ID BAKE_IMAGE_NAME BAKE_RECIPE_KEY BAKE_RECIPE_NAME; do
  [[ -n "${!v:-}" ]] || die "$v is required" 2
done
SRV=$BAKE_SERVER_ID KEY=$BAKE_RECIPE_KEY RECIPE=$BAKE_RECIPE_NAME
whole_seconds BAKE_TIMEOUT BAKE_SHUTOFF_TIMEOUT BAKE_POLL_INTERVAL BAKE_SEAL_POLL_INTERVAL
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
  case ${p%%=*} in "${P}recipe_key" | "${P}recipe_name" | "${P}baked_at") continue ;; esac
  SET_ARGS+=(--property "$p")
done <<<"$BAKE_PROPERTIES"
while IFS= read -r t; do
  t=$(trim "$t")
  if [[ -n $t ]]; then SET_ARGS+=(--tag "$t"); fi
done <<<"${BAKE_TAGS//,/$'\n'}"

check_auth

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
KEY_TAG="$GPU_NODE_IMAGE_TAG_PREFIX$KEY"

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

# --- wait for the node's verdict on the console (ready lines of other recipe keys do not count)
seen_sealed=""
remember_seal() { if [[ -n $SEALED_LINE ]]; then seen_sealed=$SEALED_LINE; fi; }
check_verdict() {
  [[ -z $FAILED_LINE ]] || bake_fail "the builder node reported a failure: $FAILED_LINE"
  [[ -n $READY_LINE ]]
}

log "waiting up to ${BAKE_TIMEOUT}s for '$M_READY key=$KEY' on builder $SRV's console"
while :; do
  console=$(console_tail 200)
  scan "$RECIPE" "$KEY" "$console"
  remember_seal
  check_verdict && break
  status=$(server_status)
  case $status in
    ERROR) bake_fail "builder server $SRV went to status ERROR (see: openstack server show $SRV)" ;;
    SHUTOFF)
      # Powered off between polls: shutdown noise may have pushed the ready
      # line out of the last 200 lines, so read the whole log once.
      scan "$RECIPE" "$KEY" "$(os console log show "$SRV" 2>/dev/null || true)"
      remember_seal
      check_verdict && break
      bake_fail "builder server $SRV powered off without printing '$M_READY key=$KEY'" ;;
  esac
  if ((SECONDS - START >= BAKE_TIMEOUT)); then
    bake_fail "timed out after $(elapsed) (BAKE_TIMEOUT=${BAKE_TIMEOUT}s) waiting for '$M_READY key=$KEY'; server status $status. Last 20 console lines:
$(printf '%s\n' "$console" | tr -d '\r' | tail -n 20)
Inspect the full console with: openstack --os-cloud $OS_CLOUD console log show $SRV"
  fi
  log "waiting (server status $status)"
  sleep "$BAKE_POLL_INTERVAL"
done
log "node ready: $READY_LINE"

# --- the node seals itself (keys, machine-id, logs) and powers off. Without that no image is
# made: an unsealed disk would carry the builder's SSH keys into every node. The SEALED line is
# read while the server still runs, polling every BAKE_SEAL_POLL_INTERVAL s: some clouds show no
# console of a stopped server, and Nova reports SHUTOFF only some 15 s after the guest powered
# off (nova/virt/libvirt/host.py Host._event_emit_delayed delays stop events by
# _lifecycle_delay = 15 s), so the line is on the console for several polls before SHUTOFF.
log "waiting up to ${BAKE_SHUTOFF_TIMEOUT}s for the builder to seal and power off (console read every ${BAKE_SEAL_POLL_INTERVAL}s)"
deadline=$((SECONDS + BAKE_SHUTOFF_TIMEOUT))
while :; do
  if [[ -z $seen_sealed ]]; then
    scan "$RECIPE" "$KEY" "$(console_tail 200)"
    remember_seal
    [[ -z $FAILED_LINE ]] || bake_fail "the builder could not seal itself for the snapshot: $FAILED_LINE"
  fi
  s=$(server_status)
  [[ $s == SHUTOFF ]] && break
  [[ $s == ERROR ]] && bake_fail "builder server $SRV went to status ERROR while sealing"
  ((SECONDS >= deadline)) && bake_fail "builder server $SRV did not seal itself and power off within ${BAKE_SHUTOFF_TIMEOUT}s (status $s); no image was made from an unsealed disk"
  sleep "$BAKE_SEAL_POLL_INTERVAL"
done
# SHUTOFF alone does not prove the seal ran to its end; its last line does.
if [[ -z $seen_sealed ]]; then
  full=$(os console log show "$SRV" 2>/dev/null || true)
  scan "$RECIPE" "$KEY" "$full"
  remember_seal
  if [[ -z $seen_sealed && -z ${full//[[:space:]]/} ]]; then
    bake_fail "builder server $SRV powered off before '$M_SEALED key=$KEY' was seen, and the cloud shows no console log for the stopped server; no image was made from a disk that may not be sealed. Retry the bake (a shorter BAKE_SEAL_POLL_INTERVAL reads the console more often)"
  fi
fi
[[ -n $seen_sealed ]] || bake_fail "builder server $SRV powered off without '$M_SEALED key=$KEY' on its console; no image was made from a disk that may not be sealed"

# --- snapshot and label
log "creating image '$BAKE_IMAGE_NAME' from builder $SRV"
out=$(os server image create --name "$BAKE_IMAGE_NAME" --wait -f value -c id "$SRV") ||
  bake_fail "'openstack server image create' failed"
# --wait writes '\rProgress: N' to stdout ahead of the value, so take the last line.
image_id=$(printf '%s\n' "$out" | tr '\r' '\n' | sed '/^[[:space:]]*$/d' | tail -n 1)
[[ -n $image_id ]] || bake_fail "'openstack server image create' printed no image id"

SET_ARGS+=(--tag "$KEY_TAG" --property "${P}recipe_key=$KEY"
  --property "${P}recipe_name=$BAKE_RECIPE_NAME"
  --property "${P}baked_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  "--$BAKE_VISIBILITY")
os image set "${SET_ARGS[@]}" "$image_id" ||
  bake_fail "image $image_id created but 'openstack image set' failed; it will not be reused"
image_status=$(os image show -f value -c status "$image_id") || image_status=UNKNOWN
[[ $image_status == active ]] || bake_fail "image $image_id is '$image_status', expected 'active'"

delete_builder
printf 'bake: image %s %s ready for recipe key %s\n' "$image_id" "$BAKE_IMAGE_NAME" "$KEY"
