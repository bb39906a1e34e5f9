#!/usr/bin/env bash
# Tell users when the cloud will shelve this node: motd line + hourly wall warning.
set -euo pipefail
# shellcheck source=../lib/gpu-node-common.sh
. "$(dirname "$0")/../lib/gpu-node-common.sh"

hours=${GPU_NODE_LIFETIME_HOURS:-0}
if [ "$hours" = 0 ]; then
  gpu_log "GPU_NODE_LIFETIME_HOURS is 0; skipping"
  exit 0
fi
gpu_is_uint "$hours" || gpu_fail "GPU_NODE_LIFETIME_HOURS must be a number of hours, got '$hours'"

# Keep the first start time, unless this is a new instance (e.g. booted from a
# snapshot that carries the builder's state dir).
id=${GPU_NODE_INSTANCE_ID:-$(cat "$GPU_NODE_ROOT/var/lib/cloud/data/instance-id" 2>/dev/null || true)}
started="$GPU_NODE_STATE_DIR/started-at"
mkdir -p "$GPU_NODE_STATE_DIR"
if [ -s "$started" ] && [ "$(cat "$started.instance-id" 2>/dev/null)" = "$id" ]; then
  gpu_log "keeping start time $(cat "$started") for instance $id"
else
  # The cloud's clock starts at boot, 10-30 minutes before this step runs.
  gpu_boot_time >"$started"
  printf '%s\n' "$id" >"$started.instance-id"
  gpu_log "recorded start time $(cat "$started") for instance $id"
fi

tool="$GPU_NODE_BIN_DIR/gpu-node-lifetime"
motd="$GPU_NODE_ROOT/etc/update-motd.d/60-gpu-node-lifetime"
cron="$GPU_NODE_ROOT/etc/cron.d/gpu-node-lifetime"
mkdir -p "${motd%/*}" "${cron%/*}"
printf '#!/bin/sh\n# gpu-node lifetime step\n[ -x %s ] && exec %s motd\nexit 0\n' "$tool" "$tool" >"$motd"
# Hourly; the tool itself decides whether the warning window has started.
printf '# gpu-node lifetime step\n7 * * * * root %s warn >/dev/null 2>&1\n' "$tool" >"$cron"
chmod 755 "$motd" && chmod 644 "$cron"
gpu_log "installed $motd and $cron; $("$(dirname "$0")/../bin/gpu-node-lifetime" remaining)"
