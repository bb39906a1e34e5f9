#!/usr/bin/env bash
# Sourced by cloud-init/slurm/*: cluster.env (rendered by src/private/slurm-config.ts), logging,
# console lines, apt, and the nodes.conf composition.
set -euo pipefail

SLURM_CLUSTER_ENV="${SLURM_CLUSTER_ENV:-/etc/gpu-cluster/cluster.env}"
# shellcheck source=/dev/null
if [ -r "$SLURM_CLUSTER_ENV" ]; then . "$SLURM_CLUSTER_ENV"; fi
# Overridable so tests run unprivileged in a temp dir.
: "${SLURM_CLUSTER_NAME:=gpu}" "${SLURM_CLUSTER_HEAD:=head}" "${SLURM_CLUSTER_HEAD_ADDRESS:=}"
: "${SLURM_CLUSTER_CONF_DIR:=/etc/slurm}" "${SLURM_CLUSTER_SHARE_DIR:=/srv/gpu-cluster}"
: "${SLURM_CLUSTER_SHARED_DIR:=/shared}" "${SLURM_CLUSTER_WORKERS:=}" "${SLURM_CLUSTER_PARTITIONS:=}"
: "${SLURM_CLUSTER_WORKER_ADDRESSES:=}" "${SLURM_CLUSTER_READY_TIMEOUT:=1800}"
: "${SLURM_CLUSTER_POLL:=10}" "${SLURM_CLUSTER_SRUN_TIMEOUT:=300}"
: "${SLURM_CLUSTER_CONSOLE:=/dev/console}" "${SLURM_CLUSTER_LOG:=/var/log/gpu-cluster.log}"
: "${SLURM_CLUSTER_ROOT:=}" "${SLURM_CLUSTER_APT_RETRIES:=5}" "${SLURM_CLUSTER_APT_RETRY_SLEEP:=10}"

slurm_log() {
  local line
  line="$(date -u +%Y-%m-%dT%H:%M:%SZ) [${0##*/}] $*"
  printf '%s\n' "$line" >&2
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
