#!/usr/bin/env bash
# Snapshot builder: once READY, wipe per-instance state and power off so the
# disk can be saved as an image. Runs delayed so cloud-init can finish first.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/gpu-node-common.sh
. "$(dirname "$0")/../lib/gpu-node-common.sh"

r=$GPU_NODE_ROOT
q() { printf '%q' "$1"; }
# Done markers go too: instances booted from the image redo (cheap) checks.
cleanup="cloud-init status --wait >/dev/null 2>&1 || true
cloud-init clean --logs --machine-id
rm -f $(q "$r/etc/ssh")/ssh_host_*
find $(q "$GPU_NODE_LOG_DIR") -type f ! -name status.json -exec truncate -s 0 {} +
rm -rf $(q "$GPU_NODE_STATE_DIR/done") $(q "$GPU_NODE_STATE_DIR/failure-reported")
rm -f $(q "$r/root/.bash_history") $(q "$GPU_NODE_HOME/.bash_history")
apt-get clean
rm -rf $(q "$r/var/lib/apt/lists")/*
sync
poweroff"

gpu_console "GPU-NODE-SEALING recipe=$GPU_NODE_RECIPE_NAME"
systemd-run --unit=gpu-node-seal --description="gpu-node: seal instance for snapshot" \
  --on-active="$GPU_NODE_SEAL_DELAY" /bin/bash -c "$cleanup"
gpu_log "cleanup and poweroff scheduled in ${GPU_NODE_SEAL_DELAY}s"
