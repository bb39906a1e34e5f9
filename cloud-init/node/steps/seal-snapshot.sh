#!/usr/bin/env bash
# Snapshot builder: once READY, wipe per-instance state and power off so the
# disk can be saved as an image. Runs delayed so cloud-init can finish first.
set -euo pipefail
# shellcheck source=../lib/gpu-node-common.sh
. "$(dirname "$0")/../lib/gpu-node-common.sh"

if [ "${1:-}" != cleanup ]; then
  gpu_console "$GPU_NODE_MARK_SEALING recipe=$GPU_NODE_RECIPE_NAME"
  systemd-run --unit=gpu-node-seal --description="gpu-node: seal instance for snapshot" \
    --on-active="$GPU_NODE_SEAL_DELAY" /bin/bash "$(readlink -f "$0")" cleanup
  gpu_log "cleanup and poweroff scheduled in ${GPU_NODE_SEAL_DELAY}s"
  exit 0
fi

# Stop and report at the first failure: an unsealed disk must not power off.
trap 'gpu_fail "seal cleanup failed: $BASH_COMMAND"' ERR
cloud-init status --wait >/dev/null 2>&1 || true
r=$GPU_NODE_ROOT
# --machine-id needs cloud-init 22.3+; older images get the same by hand (an
# empty machine-id, so systemd makes a new one at the next boot).
if cloud-init clean --help 2>&1 | grep -q -- --machine-id; then
  cloud-init clean --logs --machine-id
else
  cloud-init clean --logs
  : >"$r/etc/machine-id"
  rm -f "$r/var/lib/dbus/machine-id"
fi
rm -f "$r"/etc/ssh/ssh_host_*
# The builder's SSH keys must not reach the image; cloud-init adds the node's.
for h in "$r/root" "$r"/home/*/ "$GPU_NODE_HOME"; do rm -f "$h/.bash_history" "$h/.ssh/authorized_keys"; done
find "$GPU_NODE_LOG_DIR" -type f ! -name status.json -exec truncate -s 0 {} +
# The image keeps what the install steps did (their markers, the driver's record, so a new
# kernel there gets a DKMS rebuild, and the CUDA repo's): a node booted from it installs
# nothing. Burn-in tests the builder's GPUs, not the next node's: it goes, like the checks.
for m in "$GPU_NODE_STATE_DIR"/done/*; do
  name=${m##*/}
  case $name in driver-installed | cuda-repo-*) continue ;; esac
  if [[ $name == step-* && " $GPU_NODE_IMAGE_STEPS " == *" ${name#step-} "* ]]; then continue; fi
  rm -f "$m"
done
rm -f "$GPU_NODE_STATE_DIR/failure-reported" "$GPU_NODE_STATE_DIR/reboots"
# Cache and lists are only space: apt's timers may hold the lock, so this may not fail the seal.
systemctl stop apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service || true
apt-get -o DPkg::Lock::Timeout=120 clean || gpu_log "apt-get clean failed; image keeps the apt cache"
rm -rf "$r"/var/lib/apt/lists/*
sync
# The bake script snapshots only after this line: SHUTOFF alone does not prove a seal.
gpu_console "$GPU_NODE_MARK_SEALED recipe=$GPU_NODE_RECIPE_NAME key=$GPU_NODE_RECIPE_KEY"
poweroff
