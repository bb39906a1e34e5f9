#!/usr/bin/env bash
# Sourced by bin/* and steps/*: contract, config, defaults, logging, apt, markers, status.
set -euo pipefail

# The names both sides use: GPU_NODE_REQUIRED_VARS, the console markers, the step lists, the paths.
# shellcheck source=../lib/gpu-node-contract.sh
. "$(dirname "${BASH_SOURCE[0]}")/gpu-node-contract.sh"
# shellcheck source=../lib/gpu-node-vars.sh
. "$(dirname "${BASH_SOURCE[0]}")/gpu-node-vars.sh"
GPU_NODE_CONFIG="${GPU_NODE_CONFIG:-$GPU_NODE_CONFIG_FILE}"
# shellcheck source=/dev/null
if [ -r "$GPU_NODE_CONFIG" ]; then . "$GPU_NODE_CONFIG"; fi

# Defaults only for what the recipe does not write: the paths (overridable so tests run
# unprivileged in a temp dir) and tunables of the scripts themselves. The recipe's own
# variables (GPU_NODE_REQUIRED_VARS) have no defaults: gpu_require_vars refuses to run without them.
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
: "${GPU_NODE_PCI_DIR:=/sys/bus/pci/devices}"
: "${GPU_NODE_NET_WAIT:=900}" "${GPU_NODE_NET_RETRY_SLEEP:=10}" "${GPU_NODE_NET_RETRY_MAX_SLEEP:=120}"
: "${GPU_NODE_DEVICE_QUERY:=$GPU_NODE_ROOT/opt/gpu-node/libexec/device-query}"
# The idle shelve's credential (steps/idle-shelve.sh, bin/gpu-node-idle).
: "${GPU_NODE_OS_CONFIG:=$GPU_NODE_ROOT/etc/gpu-node/clouds.yaml}" "${GPU_NODE_OS_CLOUD:=gpu-node-idle}"

# Every variable of GPU_NODE_REQUIRED_VARS is set (it may be empty), or the script stops here
# (exit 2) with a console line naming the missing ones (gpu_require_vars, lib/gpu-node-vars.sh).
gpu_require_recipe_env() {
  local problem line
  problem=$(gpu_require_vars GPU_NODE_REQUIRED_VARS "$GPU_NODE_CONFIG") && return 0
  line="$GPU_NODE_MARK_FAILED recipe=${GPU_NODE_RECIPE_NAME:-unknown} step=${GPU_NODE_STEP:-$(basename "$0" .sh)} reason=\"$problem\""
  printf '%s\n' "$line" >&2
  if [ -w "$GPU_NODE_CONSOLE" ]; then printf '%s\n' "$line" >>"$GPU_NODE_CONSOLE" 2>/dev/null || true; fi
  exit 2
}
gpu_require_recipe_env
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

# Free space where apt and dpkg write, for a "disk full" reason.
gpu_disk_free() { df -Pm "${GPU_NODE_ROOT:-/}/" 2>/dev/null | awk 'NR == 2 { print $4 " MiB free on " $6 }'; }

# gpu_net_backoff HOST DETAIL: a network failure is retried after GPU_NODE_NET_RETRY_SLEEP (10 s),
# doubling up to GPU_NODE_NET_RETRY_MAX_SLEEP (120 s), for GPU_NODE_NET_WAIT (900 s) in all; then
# FAILED naming the host. Uses the caller's net_waited and net_pause (bash's dynamic scope).
gpu_net_backoff() {
  if [ "$net_waited" -ge "$GPU_NODE_NET_WAIT" ]; then
    gpu_fail "network: cannot reach $1 ($2); retried for ${net_waited}s; a later boot with the network resumes"
  fi
  gpu_log "network: cannot reach $1 ($2); retrying in ${net_pause}s (${net_waited}s of ${GPU_NODE_NET_WAIT}s)"
  sleep "$net_pause"
  net_waited=$((net_waited + (net_pause > 0 ? net_pause : 1)))
  net_pause=$((net_pause * 2 < GPU_NODE_NET_RETRY_MAX_SLEEP ? net_pause * 2 : GPU_NODE_NET_RETRY_MAX_SLEEP))
}

# gpu_apt ARGS...: apt-get, with the failures a node meets told apart (the reasons are in the README's
# "The node's week"):
# - an apt lock held (apt-daily, unattended-upgrades at first boot): waited out, GPU_NODE_APT_LOCK_WAIT
#   (900 s) in all, without using a retry (DPkg::Lock::Timeout covers only the dpkg lock);
# - a host not reachable (DNS, connect, timeout): gpu_net_backoff;
# - disk full, a DKMS module build that failed: FAILED at once, naming the cause;
# - dpkg interrupted (power lost mid-unpack): `dpkg --configure -a`, then the same command again;
# - a broken download in apt's cache (hash or size mismatch, truncated .deb): `apt-get clean`, then again;
# - anything else: GPU_NODE_APT_RETRIES tries, then FAILED with apt's first error line.
# `update` fails when a fetch fails (APT::Update::Error-Mode=any): by default it exits 0 and the
# lists would count as fresh.
gpu_apt() {
  local try=1 waited=0 net_waited=0 net_pause=$GPU_NODE_NET_RETRY_SLEEP recovered=0 out rc lock line host opts=()
  [ "$1" != update ] || opts=(-o APT::Update::Error-Mode=any)
  out=$(mktemp)
  until rc=0; DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 "${opts[@]}" "$@" 2>&1 | tee "$out" || rc=${PIPESTATUS[0]}; [ "$rc" -eq 0 ]; do
    line=$(grep -E '^(E|W): |rror' "$out" | gpu_first_line)
    if grep -q 'Could not get lock' "$out"; then
      if [ "$waited" -ge "$GPU_NODE_APT_LOCK_WAIT" ]; then
        lock=$(grep -o '/[^ ]*lock[a-z-]*' "$out" | gpu_first_line)
        rm -f "$out"
        gpu_fail "${lock:-an apt lock} still held after ${waited}s (apt-daily or unattended-upgrades?); gave up waiting"
      fi
      gpu_log "apt-get $1: an apt lock is held; waiting (${waited}s of ${GPU_NODE_APT_LOCK_WAIT}s)"
      sleep "$GPU_NODE_APT_LOCK_SLEEP"
      waited=$((waited + (GPU_NODE_APT_LOCK_SLEEP > 0 ? GPU_NODE_APT_LOCK_SLEEP : 1)))
      continue
    fi
    if grep -qE "No space left on device|You don't have enough free space" "$out"; then
      rm -f "$out"
      gpu_fail "disk full: apt-get $1: $line ($(gpu_disk_free))"
    fi
    if grep -q 'Bad return status for module build on kernel' "$out"; then
      line=$(sed -n 's/.*Bad return status for module build on kernel: *\([^ (]*\).*/\1/p' "$out" | gpu_first_line)
      rm -f "$out"
      gpu_fail "the nvidia module build failed for kernel ${line:-$(uname -r)} (DKMS; see /var/lib/dkms/nvidia/*/build/make.log)"
    fi
    if grep -q 'dpkg was interrupted' "$out" && [ "$recovered" -lt 2 ]; then
      recovered=$((recovered + 1))
      gpu_log "dpkg was interrupted (a power loss during an install?); running dpkg --configure -a"
      if ! dpkg --configure -a >"$out" 2>&1; then
        cat "$out"
        line=$(gpu_first_line <"$out")
        if grep -q 'No space left on device' "$out"; then rm -f "$out"; gpu_fail "disk full: dpkg --configure -a: $line ($(gpu_disk_free))"; fi
        rm -f "$out"
        gpu_fail "dpkg was interrupted and 'dpkg --configure -a' failed: $line"
      fi
      continue
    fi
    host=$(sed -nE "s/.*(Temporary failure resolving|Could not resolve) '([^']+)'.*/\2/p; s/.*(Could not connect to|Unable to connect to) ([^: ]+).*/\2/p; s/.*(Network is unreachable|Connection timed out).*/?/p" "$out" | gpu_first_line)
    if [ -n "$host" ]; then
      [ "$host" != '?' ] || host=$(grep -oE '[a-z]+://[^/ ]+' "$out" | sed 's|.*://||' | gpu_first_line)
      gpu_net_backoff "${host:-the apt mirror}" "$line"
      continue
    fi
    if grep -qE 'Hash Sum mismatch|File has unexpected size|Size mismatch|unexpected end of file|corrupted filesystem tarfile' "$out" && [ "$recovered" -lt 2 ]; then
      recovered=$((recovered + 1))
      gpu_log "a broken download in apt's cache ($line); apt-get clean, then again"
      apt-get clean || true
      continue
    fi
    if [ "$try" -ge "$GPU_NODE_APT_RETRIES" ]; then
      rm -f "$out"
      gpu_log "apt-get $* failed $try times"
      gpu_fail "apt-get $* failed $try times: ${line:-exit $rc}"
    fi
    gpu_log "apt-get $* failed (try $try/$GPU_NODE_APT_RETRIES); retrying in ${GPU_NODE_APT_RETRY_SLEEP}s"
    sleep "$GPU_NODE_APT_RETRY_SLEEP"
    try=$((try + 1))
  done
  rm -f "$out"
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

# gpu_download URL DEST: a host not reachable is retried as apt's (gpu_net_backoff); any other curl
# error (HTTP 404, ...) fails at once, naming the URL and curl's exit code.
gpu_download() {
  local rc host=${1#*://} net_waited=0 net_pause=$GPU_NODE_NET_RETRY_SLEEP
  host=${host%%/*}
  until rc=0; curl -fsSL --retry 2 --retry-delay 3 -o "$2" "$1" || rc=$?; [ "$rc" -eq 0 ]; do
    case $rc in
      5 | 6) gpu_net_backoff "$host" "could not resolve host (curl exit $rc)" ;;
      7 | 28 | 35 | 52 | 56) gpu_net_backoff "$host" "could not connect or the connection broke (curl exit $rc)" ;;
      *) gpu_fail "could not download $1 (curl exit $rc)" ;;
    esac
  done
}

# NVIDIA's CUDA repo (driver + toolkit) via cuda-keyring, then a fresh package
# list. The repo name comes from VERSION_ID; sets GPU_NODE_CUDA_DISTRO.
gpu_cuda_repo() {
  local v deb
  # shellcheck source=/dev/null
  v=$(. "$GPU_NODE_OS_RELEASE" && printf '%s' "${VERSION_ID:-}") || v=
  case " $GPU_NODE_UBUNTU_RELEASES " in
    *" ${v:-none} "*) GPU_NODE_CUDA_DISTRO="ubuntu${v/./}" ;;
    *) gpu_fail "unsupported Ubuntu VERSION_ID '${v:-unknown}' in $GPU_NODE_OS_RELEASE (supported: ${GPU_NODE_UBUNTU_RELEASES// /, })" ;;
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

# An NVIDIA device (PCI vendor 0x10de, what `lspci -d 10de:` lists) is on the bus.
gpu_nvidia_on_pci() { grep -qsx 0x10de "$GPU_NODE_PCI_DIR"/*/vendor; }

gpu_cuda_home() { printf '%s/usr/local/cuda-%s' "$GPU_NODE_ROOT" "$GPU_NODE_CUDA_VERSION"; }

# Checks shared by ready-check and bin/gpu-node-health; each returns 1 with the cause in gpu_reason.
# gpu_check_smi: nvidia-smi lists the expected GPUs and model; sets gpu_n, gpu_model, gpu_driver, gpu_smi.
# shellcheck disable=SC2034 # the callers read gpu_driver
gpu_check_smi() {
  local err row name ver m=$GPU_NODE_EXPECTED_MODEL
  gpu_n=0 gpu_model='' gpu_driver='' gpu_reason='' gpu_smi=''
  command -v nvidia-smi >/dev/null || { gpu_reason="nvidia-smi not found; is the NVIDIA driver installed?"; return 1; }
  err=$(mktemp)
  # stdout only: a warning on stderr must never be counted as a GPU row.
  if ! gpu_smi=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>"$err"); then
    gpu_reason=$( (printf '%s
' "$gpu_smi"; cat "$err") | gpu_first_line)
    rm -f "$err"
    case $gpu_reason in
      *'Driver/library version mismatch'*) gpu_reason="driver/library version mismatch: the NVIDIA libraries changed under the loaded kernel module (a driver upgrade?); a reboot loads the matching module ($gpu_reason)" ;;
      *) gpu_reason="nvidia-smi failed: $gpu_reason" ;;
    esac
    return 1
  fi
  [ ! -s "$err" ] || gpu_log "nvidia-smi stderr: $(tr '\n' ' ' <"$err" | cut -c 1-200)"
  rm -f "$err"
  while IFS= read -r row; do
    [ -n "${row//[[:space:]]/}" ] || continue
    name=${row%,*}; name=${name#"${name%%[![:space:]]*}"}
    ver=${row##*,}; ver=${ver//[[:space:]]/}
    # A whole word of the name: A10 must not match A100, nor L4 L40S.
    if [ -n "$m" ] && [[ " $name " != *" $m "* && " $name" != *" $m-"* ]]; then
      gpu_reason="expected model '$m', GPU $gpu_n is '$name'"
      return 1
    fi
    [ -n "$gpu_model" ] || { gpu_model=$name; gpu_driver=$ver; }
    gpu_n=$((gpu_n + 1))
  done <<<"$gpu_smi"
  [ "$gpu_n" -eq "$GPU_NODE_EXPECTED_GPUS" ] || { gpu_reason="expected $GPU_NODE_EXPECTED_GPUS GPUs, nvidia-smi lists $gpu_n"; return 1; }
}

# gpu_check_containers: what `docker run --gpus all` gets, without an image: libnvidia-container loads the
# modules (nvidia-uvm too) and lists a container's GPUs, one "index,minor,model,..." row each (--csv).
gpu_check_containers() {
  local err c seen
  gpu_reason=''
  [ "$GPU_NODE_CONTAINER_TOOLKIT" = 1 ] || return 0
  command -v nvidia-container-cli >/dev/null ||
    { gpu_reason="nvidia-container-cli not found; is the NVIDIA container toolkit installed?"; return 1; }
  err=$(mktemp)
  if ! c=$(nvidia-container-cli --load-kmods info --csv 2>"$err"); then
    gpu_reason="containers cannot reach the GPUs: $( (cat "$err"; printf '%s\n' "$c") | gpu_first_line)"
    rm -f "$err"
    return 1
  fi
  rm -f "$err"
  seen=$(printf '%s\n' "$c" | grep -cE '^[0-9]+,[0-9]+,' || true)
  [ "$seen" -eq "$GPU_NODE_EXPECTED_GPUS" ] ||
    { gpu_reason="containers see $seen GPUs (nvidia-container-cli info), expected $GPU_NODE_EXPECTED_GPUS"; return 1; }
}

# The codes of the driver's Xid lines since this boot (`NVRM: Xid (PCI:0000:01:00): 79, ...`), one a line.
gpu_xid_codes() { dmesg 2>/dev/null | sed -n 's/.*NVRM: Xid ([^)]*): \([0-9]\{1,4\}\),.*/\1/p' || true; }
# The CUDA version when its toolkit is installed, else empty.
gpu_cuda_installed() { if [ -n "$GPU_NODE_CUDA_VERSION" ] && [ -x "$(gpu_cuda_home)/bin/nvcc" ]; then printf '%s' "$GPU_NODE_CUDA_VERSION"; fi; }

# A Slurm worker's drain by the health check (bin/gpu-node-health; its timer, and slurmd's HealthCheckProgram
# slurm/slurm-health-check). The reason prefix marks our drains: only those are resumed. scontrol is bounded:
# slurmd kills its HealthCheckProgram after 60 s.
: "${GPU_NODE_DRAIN_REASON:=$GPU_NODE_HEALTH_DRAIN_PREFIX}" "${GPU_NODE_SCONTROL_TIMEOUT:=10}"
# gpu_slurm_state NODE: sets slurm_state (e.g. IDLE+DRAIN) and slurm_reason (without scontrol's [user@time]).
gpu_slurm_state() {
  local out
  out=$(timeout "$GPU_NODE_SCONTROL_TIMEOUT" scontrol show node "$1" 2>/dev/null) || return 1
  slurm_state=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^State=/) { print substr($i, 7); exit } }' <<<"$out")
  slurm_reason=$(sed -n 's/^ *Reason=\(.*\) \[[^]]*\]$/\1/p' <<<"$out")
  [ -n "$slurm_state" ]
}
# gpu_slurm_drain NODE REASON: drains NODE with "<prefix>: REASON", unless already drained (an admin's reason
# stays) or DOWN/FAIL for another reason (power saving, the worker gate, an admin).
gpu_slurm_drain() {
  gpu_slurm_state "$1" || { gpu_log "Slurm node $1: scontrol show node failed; not drained ($2)"; return 0; }
  case $slurm_state in *DRAIN* | *DOWN* | *FAIL*) return 0 ;; esac
  if timeout "$GPU_NODE_SCONTROL_TIMEOUT" scontrol update NodeName="$1" State=DRAIN Reason="$GPU_NODE_DRAIN_REASON: ${2:0:200}"; then
    gpu_log "drained Slurm node $1: $2"
  else gpu_log "Slurm node $1: scontrol could not drain it ($2)"; fi
}
# gpu_slurm_reregister NODE: the node runs, but Slurm counts it powered down (its shelve failed). slurmctld never
# pings a powered-down node (22.05 ping_nodes.c), so restart slurmd: its registration clears that and the DOWN
# (node_mgr.c validate_node_specs, ReturnToService=2); the next idle spell shelves it again.
gpu_slurm_reregister() {
  gpu_slurm_state "$1" || return 0
  case $slurm_state in *POWERING_UP* | *POWERING_DOWN*) return 0 ;; *POWERED_DOWN*) ;; *) return 0 ;; esac
  gpu_log "Slurm counts node $1 powered down ($slurm_state${slurm_reason:+: $slurm_reason}) while it runs: restarting slurmd"
  systemctl restart slurmd || gpu_log "Slurm node $1: systemctl could not restart slurmd"
}
# gpu_slurm_resume NODE: resumes NODE from a drain (not DOWN/FAIL) whose reason is ours.
gpu_slurm_resume() {
  gpu_slurm_state "$1" && [[ $slurm_state == *DRAIN* && $slurm_state != *DOWN* && $slurm_state != *FAIL* ]] || return 0
  [[ $slurm_reason == "$GPU_NODE_DRAIN_REASON:"* ]] || return 0
  if timeout "$GPU_NODE_SCONTROL_TIMEOUT" scontrol update NodeName="$1" State=RESUME; then gpu_log "resumed Slurm node $1"; fi
}
