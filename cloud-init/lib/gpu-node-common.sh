#!/usr/bin/env bash
# Sourced by bin/* and steps/*: contract, config, defaults, logging, apt, markers, status.
set -euo pipefail

# The names both sides use: GPU_NODE_REQUIRED_VARS, the console markers, the step lists.
# shellcheck source=../lib/gpu-node-contract.sh
. "$(dirname "${BASH_SOURCE[0]}")/gpu-node-contract.sh"
GPU_NODE_CONFIG="${GPU_NODE_CONFIG:-/etc/gpu-node/recipe.env}"
# shellcheck source=/dev/null
if [ -r "$GPU_NODE_CONFIG" ]; then . "$GPU_NODE_CONFIG"; fi

# Defaults only for what the recipe does not write: the paths (overridable so tests run
# unprivileged in a temp dir) and tunables of the scripts themselves. The recipe's own
# variables (GPU_NODE_REQUIRED_VARS) have no defaults: gpu_require_vars below refuses to run without them.
: "${GPU_NODE_ROOT:=}" "${GPU_NODE_STATE_DIR:=/var/lib/gpu-node}" "${GPU_NODE_LOG_DIR:=/var/log/gpu-node}"
: "${GPU_NODE_CONSOLE:=/dev/console}" "${GPU_NODE_OS_RELEASE:=/etc/os-release}"
: "${GPU_NODE_STEPS_DIR:=/opt/gpu-node/steps}" "${GPU_NODE_BIN_DIR:=/opt/gpu-node/bin}"
: "${GPU_NODE_APT_RETRIES:=5}" "${GPU_NODE_APT_RETRY_SLEEP:=10}"
: "${GPU_NODE_CUDA_REPO_URL:=https://developer.download.nvidia.com/compute/cuda/repos}"
: "${GPU_NODE_CUDA_KEYRING_VERSION:=1.1-1}"
: "${GPU_NODE_CTK_REPO_URL:=https://nvidia.github.io/libnvidia-container}"
: "${GPU_NODE_GPU_BURN_REPO:=https://github.com/wilicc/gpu-burn}" "${GPU_NODE_GPU_BURN_DIR:=/opt/gpu-burn}"
: "${GPU_NODE_GPU_BURN_REF:=3ead140434da9473582b68452f7115967a7a0581}" "${GPU_NODE_SEAL_DELAY:=20}"
: "${GPU_NODE_MAX_REBOOTS:=2}"
: "${GPU_NODE_APT_LOCK_WAIT:=900}" "${GPU_NODE_APT_LOCK_SLEEP:=10}"
: "${GPU_NODE_DEVICE_QUERY:=$GPU_NODE_ROOT/opt/gpu-node/libexec/device-query}"

# gpu_require_vars: every variable of GPU_NODE_REQUIRED_VARS is set (it may be empty, e.g. no
# CUDA), or the script stops here with a console line naming the missing ones: a recipe.env
# from another library version, or a script run by hand without it, must not run on defaults.
gpu_require_vars() {
  local v missing='' line
  for v in $GPU_NODE_REQUIRED_VARS; do [ -n "${!v+set}" ] || missing+=" $v"; done
  [ -n "$missing" ] || return 0
  line="$GPU_NODE_MARK_FAILED recipe=${GPU_NODE_RECIPE_NAME:-unknown} step=${GPU_NODE_STEP:-$(basename "$0" .sh)} reason=\"$GPU_NODE_CONFIG lacks${missing} (written by the cdktf-openstack-gpu recipe; see GPU_NODE_REQUIRED_VARS in lib/gpu-node-contract.sh)\""
  printf '%s\n' "$line" >&2
  if [ -w "$GPU_NODE_CONSOLE" ]; then printf '%s\n' "$line" >>"$GPU_NODE_CONSOLE" 2>/dev/null || true; fi
  exit 2
}
gpu_require_vars
: "${GPU_NODE_HOME:=/home/$GPU_NODE_USER}"
GPU_NODE_REBOOT_FLAG="$GPU_NODE_STATE_DIR/reboot-requested"
GPU_NODE_STEP="${GPU_NODE_STEP:-$(basename "$0" .sh)}"

gpu_now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
# The first non-empty line of stdin, cut to 160 characters. It reads all of its input: a reader
# that exits early (grep -m1, head) can kill the writer with SIGPIPE, which pipefail makes fatal.
gpu_first_line() { awk 'NF && !n++ { print substr($0, 1, 160) }'; }
gpu_boot_time() { printf '%s\n' "${GPU_NODE_BOOT_TIME:-$(awk '/^btime/ {print $2}' /proc/stat)}"; }
# Changes at every boot: status.json records which boot its verdict is about.
gpu_boot_id() { printf '%s\n' "${GPU_NODE_BOOT_ID:-$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)}"; }
gpu_is_uint() { [[ ${1:-} =~ ^[0-9]+$ ]]; }
# Appends to recipe.log; a log that cannot be written must not fail a step.
gpu_logfile() { { mkdir -p "$GPU_NODE_LOG_DIR" && printf '%s\n' "$1" >>"$GPU_NODE_LOG_DIR/recipe.log"; } 2>/dev/null || true; }
gpu_log() {
  local line
  line="$(gpu_now) [$GPU_NODE_STEP] $*"
  printf '%s\n' "$line"
  gpu_logfile "$line"
}
# Operators watch the serial console, so also write there unless stdout is it.
gpu_console() {
  printf '%s\n' "$1"
  if [ -w "$GPU_NODE_CONSOLE" ] && ! [ /dev/stdout -ef "$GPU_NODE_CONSOLE" ]; then
    printf '%s\n' "$1" >>"$GPU_NODE_CONSOLE" 2>/dev/null || true
  fi
  gpu_logfile "$(gpu_now) $1"
}

# On first boot apt-daily and unattended-upgrades hold apt's locks; mirrors flake.
# DPkg::Lock::Timeout covers only the dpkg lock: `apt-get update` fails at once on
# /var/lib/apt/lists/lock, so a lock error is waited out (bounded) without using a retry.
gpu_apt() {
  local try=1 waited=0 err lock
  err=$(mktemp)
  until DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 "$@" 2>"$err"; do
    cat "$err" >&2
    if grep -q 'Could not get lock' "$err"; then
      if [ "$waited" -ge "$GPU_NODE_APT_LOCK_WAIT" ]; then
        lock=$(grep -m1 -o '/[^ ]*lock[a-z-]*' "$err" || echo 'an apt lock')
        rm -f "$err"
        gpu_fail "$lock still held after ${waited}s (apt-daily or unattended-upgrades?); gave up waiting"
      fi
      gpu_log "apt-get $1: an apt lock is held; waiting (${waited}s of ${GPU_NODE_APT_LOCK_WAIT}s)"
      sleep "$GPU_NODE_APT_LOCK_SLEEP"
      waited=$((waited + (GPU_NODE_APT_LOCK_SLEEP > 0 ? GPU_NODE_APT_LOCK_SLEEP : 1)))
      continue
    fi
    [ "$try" -lt "$GPU_NODE_APT_RETRIES" ] || { rm -f "$err"; gpu_log "apt-get $* failed $try times"; return 1; }
    gpu_log "apt-get $* failed (try $try/$GPU_NODE_APT_RETRIES); retrying in ${GPU_NODE_APT_RETRY_SLEEP}s"
    sleep "$GPU_NODE_APT_RETRY_SLEEP"
    try=$((try + 1))
  done
  rm -f "$err"
}
# Cloud images have empty or stale apt lists, and seal-snapshot deletes them:
# update before the first install of each run (gpu-node-run clears the marker).
gpu_apt_update() { gpu_apt update && gpu_mark_done apt-updated; }
gpu_apt_install() {
  gpu_done apt-updated || gpu_apt_update || return
  gpu_apt install -y "$@"
}

# gpu_hold PKG...: pinned packages stay as installed; unattended-upgrades also skips
# every NVIDIA/CUDA package, so a security upgrade never mixes driver and userspace versions.
gpu_hold() {
  local conf="$GPU_NODE_ROOT/etc/apt/apt.conf.d/51gpu-node-hold-nvidia"
  apt-mark hold "$@" >/dev/null
  mkdir -p "${conf%/*}"
  printf '%s\n' '// Written by gpu-node: driver, CUDA and container toolkit move only with the recipe.' \
    'Unattended-Upgrade::Package-Blacklist { "nvidia-"; "libnvidia-"; "cuda-"; };' >"$conf"
  gpu_log "held $*; unattended-upgrades skips nvidia-*, libnvidia-*, cuda-*"
}

gpu_done() { [ -e "$GPU_NODE_STATE_DIR/done/$1" ]; }
# gpu_mark_done NAME [NOTE]: the marker holds the time (and NOTE, e.g. key=<recipe key>).
gpu_mark_done() { mkdir -p "$GPU_NODE_STATE_DIR/done" && printf '%s\n' "$(gpu_now)${2:+ $2}" >"$GPU_NODE_STATE_DIR/done/$1"; }

gpu_json_str() {
  local s=$1 out='' ch i
  s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\n'/\\n}; s=${s//$'\t'/\\t}
  for ((i = 0; i < ${#s}; i++)); do
    ch=${s:i:1}
    case $ch in [[:cntrl:]]) printf -v ch '\\u%04x' "'$ch" ;; esac
    out+=$ch
  done
  printf '"%s"' "$out"
}

# gpu_write_status STATE [name=value...]; integer values become JSON numbers.
gpu_write_status() {
  local json kv v tmp
  json="{\"state\":$(gpu_json_str "$1"),\"recipe\":$(gpu_json_str "$GPU_NODE_RECIPE_NAME"),\"key\":$(gpu_json_str "$GPU_NODE_RECIPE_KEY")"
  shift
  for kv in "$@"; do
    v=${kv#*=}
    [[ $v =~ ^-?(0|[1-9][0-9]{0,14})$ ]] || v=$(gpu_json_str "$v")
    json+=",$(gpu_json_str "${kv%%=*}"):$v"
  done
  mkdir -p "$GPU_NODE_STATE_DIR"
  tmp=$(mktemp "$GPU_NODE_STATE_DIR/.status.XXXXXX")
  printf '%s,"time":"%s"}\n' "$json" "$(gpu_now)" >"$tmp"
  chmod 644 "$tmp" && mv -f "$tmp" "$GPU_NODE_STATE_DIR/status.json"
}

# gpu_fail REASON [name=value...]: status "failed", one console line, exit 1.
# The flag file tells bin/gpu-node-run that the failure is already reported.
gpu_fail() {
  local reason=${1//\"/\'} kv boot=boot_id
  reason=${reason//$'\n'/ }
  shift
  # Every verdict names its boot (ready-check passes its own boot_id).
  for kv in "$@"; do [[ $kv != boot_id=* ]] || boot=''; done
  gpu_write_status failed step="$GPU_NODE_STEP" reason="$reason" ${boot:+"boot_id=$(gpu_boot_id)"} "$@"
  gpu_console "$GPU_NODE_MARK_FAILED recipe=$GPU_NODE_RECIPE_NAME step=$GPU_NODE_STEP reason=\"$reason\""
  if [ -n "${GPU_NODE_FAIL_FLAG:-}" ]; then : >"$GPU_NODE_FAIL_FLAG"; fi
  exit 1
}

# gpu_reboot REASON: reboot so the next boot resumes at this step, at most
# GPU_NODE_MAX_REBOOTS times per instance; then fail with REASON.
gpu_reboot() {
  local count
  count=$(cat "$GPU_NODE_STATE_DIR/reboots" 2>/dev/null || echo 0)
  gpu_is_uint "$count" || count=0
  [ "$count" -lt "$GPU_NODE_MAX_REBOOTS" ] || gpu_fail "$1; still so after $count reboots" reboots="$count"
  count=$((count + 1))
  printf '%s\n' "$count" >"$GPU_NODE_STATE_DIR/reboots"
  gpu_write_status rebooting step="$GPU_NODE_STEP" reason="$1" reboots="$count" boot_id="$(gpu_boot_id)"
  gpu_console "$GPU_NODE_MARK_REBOOTING recipe=$GPU_NODE_RECIPE_NAME step=$GPU_NODE_STEP reboot=$count/$GPU_NODE_MAX_REBOOTS reason=\"$1\""
  : >"$GPU_NODE_REBOOT_FLAG"
  # --no-block: the reboot job waits for this unit to finish instead of deadlocking on it.
  systemctl --no-block reboot
  exit 0
}

gpu_download() { curl -fsSL --retry 5 --retry-delay 3 -o "$2" "$1"; } # URL DEST

# NVIDIA's CUDA repo (driver + toolkit) via cuda-keyring, then a fresh package
# list. The repo name comes from VERSION_ID; sets GPU_NODE_CUDA_DISTRO.
gpu_cuda_repo() {
  local v deb
  # shellcheck source=/dev/null
  v=$(. "$GPU_NODE_OS_RELEASE" && printf '%s' "${VERSION_ID:-}") || v=
  case $v in
    22.04 | 24.04) GPU_NODE_CUDA_DISTRO="ubuntu${v/./}" ;;
    *) gpu_fail "unsupported Ubuntu VERSION_ID '${v:-unknown}' in $GPU_NODE_OS_RELEASE (supported: 22.04, 24.04)" ;;
  esac
  if ! gpu_done "cuda-repo-$GPU_NODE_CUDA_DISTRO"; then
    gpu_log "adding NVIDIA's CUDA apt repo for $GPU_NODE_CUDA_DISTRO"
    deb=$(mktemp --suffix=.deb)
    gpu_download "$GPU_NODE_CUDA_REPO_URL/$GPU_NODE_CUDA_DISTRO/x86_64/cuda-keyring_${GPU_NODE_CUDA_KEYRING_VERSION}_all.deb" "$deb"
    chmod 644 "$deb" # readable by apt's sandbox user
    gpu_apt install -y "$deb" # not dpkg -i: apt-get waits for the dpkg lock
    rm -f "$deb"
    gpu_mark_done "cuda-repo-$GPU_NODE_CUDA_DISTRO"
  fi
  gpu_apt_update
}

gpu_cuda_home() { printf '%s/usr/local/cuda-%s' "$GPU_NODE_ROOT" "$GPU_NODE_CUDA_VERSION"; }
