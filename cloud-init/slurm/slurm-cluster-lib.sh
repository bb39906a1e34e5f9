#!/usr/bin/env bash
# Sourced by cloud-init/slurm/*: cluster.env (rendered by src/slurm/slurm-config.ts), logging,
# console lines, apt, and the nodes.conf composition.
set -euo pipefail

# The node runner's library (cloud-init/node/lib/gpu-node-common.sh), for slurm_fail's GPU-NODE-FAILED line.
: "${SLURM_CLUSTER_NODE_LIB:=/opt/gpu-node/lib/gpu-node-common.sh}"
# The node contract next to that library: GPU_CLUSTER_REQUIRED_VARS, the console markers
# (GPU_CLUSTER_MARK_*), the metadata prefixes, the paths; and its check of the required variables.
# Without them no line of this library means anything: stop, naming where they were looked for.
slurm_no_contract() { printf '%s\n' "${0##*/}: no node contract next to SLURM_CLUSTER_NODE_LIB=$SLURM_CLUSTER_NODE_LIB" >&2; exit 1; }
# shellcheck source=../node/lib/gpu-node-contract.sh
. "$(dirname "$SLURM_CLUSTER_NODE_LIB")/gpu-node-contract.sh" || slurm_no_contract
# shellcheck source=../node/lib/gpu-node-vars.sh
. "$(dirname "$SLURM_CLUSTER_NODE_LIB")/gpu-node-vars.sh" || slurm_no_contract
# The server metadata and the clouds.yaml of an application credential, as the nodes' idle shelve reads them.
# shellcheck source=../node/lib/gpu-node-openstack.sh
. "$(dirname "$SLURM_CLUSTER_NODE_LIB")/gpu-node-openstack.sh" || slurm_no_contract

SLURM_CLUSTER_ENV="${SLURM_CLUSTER_ENV:-$GPU_CLUSTER_ENV_FILE}"
# shellcheck source=/dev/null
if [ -r "$SLURM_CLUSTER_ENV" ]; then . "$SLURM_CLUSTER_ENV"; fi
# cluster.env's own variables (GPU_CLUSTER_REQUIRED_VARS) have no defaults: checked below, after
# slurm_fail. Defaults only for the scripts' paths (overridable so tests run unprivileged in a temp
# dir) and tunables.
: "${SLURM_CLUSTER_POLL:=10}" "${SLURM_CLUSTER_SRUN_TIMEOUT:=300}"
: "${SLURM_CLUSTER_CONSOLE:=/dev/console}" "${SLURM_CLUSTER_LOG:=/var/log/gpu-cluster.log}"
: "${SLURM_CLUSTER_ROOT:=}" "${SLURM_CLUSTER_APT_RETRIES:=5}" "${SLURM_CLUSTER_APT_RETRY_SLEEP:=10}"
# Where the server's metadata is read: cloud-init's copy (metadata service or config drive), else the service.
: "${SLURM_CLUSTER_INSTANCE_DATA:=/run/cloud-init/instance-data.json}"
: "${SLURM_CLUSTER_METADATA_URL:=http://169.254.169.254/openstack/latest/meta_data.json}"

slurm_log() {
  local line
  line="$(date -u +%Y-%m-%dT%H:%M:%SZ) [${0##*/}] $*"
  # slurmctld starts SuspendProgram/ResumeProgram with stderr closed: a failed write must not end them.
  # (>&2 first, then 2>/dev/null: the line goes to the old stderr, a failure's message nowhere.)
  printf '%s\n' "$line" >&2 2>/dev/null || true
  { printf '%s\n' "$line" >>"$SLURM_CLUSTER_LOG"; } 2>/dev/null || true
}
# Operators watch the serial console (and `cdktf deploy` waits for the line there).
slurm_console() {
  printf '%s\n' "$1"
  if [ -w "$SLURM_CLUSTER_CONSOLE" ] && ! [ /dev/stdout -ef "$SLURM_CLUSTER_CONSOLE" ]; then
    printf '%s\n' "$1" >>"$SLURM_CLUSTER_CONSOLE" 2>/dev/null || true
  fi
  { printf '%s\n' "$1" >>"$SLURM_CLUSTER_LOG"; } 2>/dev/null || true
}

# slurm_fail REASON: one GPU-CLUSTER-FAILED console line, and exit 1. Run by the node's runner
# (bin/gpu-node-run exports GPU_NODE_FAIL_FLAG), it also reports REASON as the step's failure
# (GPU-NODE-FAILED ... reason="GPU-CLUSTER-FAILED ...: REASON"), the line that `waitForReady`
# (assets/gpu-node-watch.sh) puts into the deploy's error; the runner then prints no line of its own.
slurm_fail() {
  local reason=${1//\"/\'} cluster=${SLURM_CLUSTER_NAME:-unknown}
  slurm_console "$GPU_CLUSTER_MARK_FAILED cluster=$cluster reason=\"$reason\""
  if [ -n "${GPU_NODE_FAIL_FLAG:-}" ] && [ -r "$SLURM_CLUSTER_NODE_LIB" ]; then
    # shellcheck source=/dev/null
    (. "$SLURM_CLUSTER_NODE_LIB" && gpu_fail "$GPU_CLUSTER_MARK_FAILED cluster=$cluster: $reason") || true
  fi
  exit 1
}

# Every variable of GPU_CLUSTER_REQUIRED_VARS is set (it may be empty), or the script fails here, loudly.
if ! problem=$(gpu_require_vars GPU_CLUSTER_REQUIRED_VARS "$SLURM_CLUSTER_ENV"); then slurm_fail "$problem"; fi
unset problem

slurm_apt_install() {
  local try=1
  until DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "$@"; do
    [ "$try" -lt "$SLURM_CLUSTER_APT_RETRIES" ] || { slurm_log "apt-get install $* failed $try times"; return 1; }
    sleep "$SLURM_CLUSTER_APT_RETRY_SLEEP"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update || true
    try=$((try + 1))
  done
}

# The hardware fields of the NodeName line that `slurmd -C` prints (on stdin).
slurm_hw_fields() {
  awk 'NR == 1 && $1 ~ /^NodeName=/ {
    out = ""
    for (i = 2; i <= NF; i++)
      if ($i ~ /^(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore|RealMemory)=[0-9]+$/)
        out = out (out == "" ? "" : " ") $i
    print out
  }'
}

# slurm_compose_nodes TEMPLATE REPORT_DIR OUT: nodes.conf from nodes.conf.in, with each worker's
# `slurmd -C` report (REPORT_DIR/<name>.hw) inserted after its NodeName. A worker without a report
# keeps Slurm's defaults (1 CPU), so it can still register; its missing report is logged.
slurm_compose_nodes() {
  local template=$1 reports=$2 out=$3 line name rest hw
  : >"$out.tmp"
  while IFS= read -r line || [ -n "$line" ]; do
    case $line in
      NodeName=*)
        name=${line%% *}; name=${name#NodeName=}; rest=${line#* }
        hw=''
        if [ -s "$reports/$name.hw" ]; then hw=$(slurm_hw_fields <"$reports/$name.hw"); fi
        if [ -n "$hw" ]; then
          printf 'NodeName=%s %s %s\n' "$name" "$hw" "$rest" >>"$out.tmp"
        else
          slurm_log "no hardware report from $name; it keeps Slurm's defaults until the head runs again"
          printf '%s\n' "$line" >>"$out.tmp"
        fi
        ;;
      *) printf '%s\n' "$line" >>"$out.tmp" ;;
    esac
  done <"$template"
  mv "$out.tmp" "$out"
}

# The worker names in SLURM_CLUSTER_WORKERS ("name=gres name=gres").
slurm_worker_names() {
  local w
  for w in $SLURM_CLUSTER_WORKERS; do printf '%s\n' "${w%%=*}"; done
}

# The server's metadata (Nova's "meta"), as key=value lines: from cloud-init's instance-data.json, else
# from the metadata service's meta_data.json. cloud-init's DataSource.persist_instance_data
# (cloudinit/sources/__init__.py) writes the OpenStack and ConfigDrive datasources' meta_data.json as
# ds.meta_data, keys unchanged (it rewrites '-' to '_' only for jinja templates).
slurm_metadata() {
  gpu_server_metadata "$SLURM_CLUSTER_INSTANCE_DATA" "$SLURM_CLUSTER_METADATA_URL" |
    python3 -c 'import json, sys; [print(f"{k}={v}") for k, v in json.load(sys.stdin).items()]'
}

# slurm_resolve_addresses FILE...: on an existing network the rendered files hold @<prefix><node>@
# placeholders for the nodes' addresses (src/slurm/slurm-config.ts addressPlaceholder); replace them,
# in place, with the server metadata <prefix><node> (Terraform's reference to that node's port).
# Prints the first placeholder left without an address and returns 1; idempotent.
slurm_resolve_addresses() {
  local f meta key value left
  grep -qs "@$GPU_CLUSTER_ADDRESS_METADATA_PREFIX" "$@" || return 0
  meta=$(slurm_metadata) || { printf '%s' "cannot read the server metadata (the nodes' addresses)"; return 1; }
  while IFS= read -r key; do
    value=${key#*=} key=${key%%=*}
    case $key in "$GPU_CLUSTER_ADDRESS_METADATA_PREFIX"*) ;; *) continue ;; esac
    [[ $value =~ ^[0-9A-Fa-f.:]+$ ]] || { printf 'metadata %s is not an IP address: %s' "$key" "$value"; return 1; }
    for f in "$@"; do
      if grep -qsF "@$key@" "$f"; then sed -i "s|@$key@|$value|g" "$f"; fi
    done
  done <<<"$meta"
  left=$(grep -hso "@${GPU_CLUSTER_ADDRESS_METADATA_PREFIX}[^@ ]*@" "$@" | head -n 1 || true)
  if [ -n "$left" ]; then printf 'no address for %s in the server metadata' "${left//@/}"; return 1; fi
}

# Power saving (slurm-suspend, slurm-resume): the OpenStack CLI with the cluster's application
# credential (clouds.yaml written by slurm-head-setup), and each node's state as Slurm sees it.
slurm_os() { OS_CLIENT_CONFIG_FILE=$SLURM_CLUSTER_OS_CONFIG openstack --os-cloud "$SLURM_CLUSTER_OS_CLOUD" "$@"; }

# slurm_server_state NAME: "<status> <task_state>" of the server (task_state "none" when Nova runs no
# task on it), or the CLI's first error line and 1.
slurm_server_state() {
  local out pick='import json, sys
d = json.load(sys.stdin)
print(d.get("status") or "UNKNOWN", d.get("OS-EXT-STS:task_state") or "none")'
  if ! out=$(slurm_os server show -f json -c status -c OS-EXT-STS:task_state "$1" 2>&1); then
    printf '%s' "$(printf '%s\n' "$out" | head -n 1 | cut -c 1-160)"
    return 1
  fi
  printf '%s\n' "$out" | python3 -c "$pick"
}

# slurm_last_action NAME: "<action> <message>" of the server's newest instance action (the message is
# "Error" when Nova recorded it as failed), or nothing.
slurm_last_action() {
  local last request
  last=$(slurm_os server event list -f value -c "Request ID" -c Action "$1" 2>/dev/null | head -n 1 || true)
  [ -n "$last" ] || return 0
  request=${last%% *}
  printf '%s %s\n' "${last#* }" "$(slurm_os server event show -f value -c message "$1" "$request" 2>/dev/null | head -n 1 || true)"
}

# slurm_node_down NAME REASON: the node DOWN with REASON (`sinfo -R`); Slurm requeues its jobs.
slurm_node_down() {
  local reason=${2//\"/\'}
  slurm_log "$1: down: $reason"
  scontrol update nodename="$1" state=down reason="${reason:0:200}" || slurm_log "$1: scontrol could not set it down"
}

# slurm_node_state NAME: "<State> <reason>" of the node (e.g. "IDLE+DRAIN+POWERING_DOWN maintenance"; the reason
# without scontrol's [user@time], as gpu_slurm_state of the node library reads it), or 1.
slurm_node_state() {
  local out st
  out=$(timeout 10 scontrol show node "$1" 2>/dev/null) || return 1
  st=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^State=/) { print substr($i, 7); exit } }' <<<"$out")
  [ -n "$st" ] || return 1
  printf '%s %s\n' "$st" "$(sed -n 's/^ *Reason=\(.*\) \[[^]]*\]$/\1/p' <<<"$out")"
}

# slurm_write_clouds_yaml FILE OWNER: the OpenStack CLI's clouds.yaml for the application credential
# that Terraform put into the head's server metadata (<prefix>auth_url, region, credential_id,
# credential_secret), readable by OWNER only (SlurmUser runs the programs). Prints what is missing and
# returns 1.
slurm_write_clouds_yaml() {
  local file=$1 owner=$2 meta
  meta=$(gpu_server_metadata "$SLURM_CLUSTER_INSTANCE_DATA" "$SLURM_CLUSTER_METADATA_URL") ||
    { printf '%s' "cannot read the server metadata (the application credential)"; return 1; }
  gpu_write_clouds_yaml "$file" "$GPU_CLUSTER_OS_METADATA_PREFIX" "$SLURM_CLUSTER_OS_CLOUD" slurm-head-setup <<<"$meta" || return 1
  chown "$owner" "$file.tmp" 2>/dev/null || slurm_log "no user $owner to own $file"
  mv "$file.tmp" "$file"
}
