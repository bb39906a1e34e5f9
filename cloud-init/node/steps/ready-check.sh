#!/usr/bin/env bash
# Every boot: the driver sees exactly the expected GPUs (and model), CUDA
# initialises on each, and the verdict of this boot goes to status.json and the console.
set -euo pipefail
# shellcheck source=../lib/gpu-node-common.sh
. "$(dirname "$0")/../lib/gpu-node-common.sh"

boot="boot_id=$(gpu_boot_id)"
want=$GPU_NODE_EXPECTED_GPUS
gpu_is_uint "$want" || gpu_fail "GPU_NODE_EXPECTED_GPUS must be an integer, got '$want'" "$boot"
gpu_check_smi || gpu_fail "$gpu_reason" "$boot"
gpu_log "nvidia-smi lists: $(printf '%s' "$gpu_smi" | tr '\n' ';')"
n=$gpu_n model=$gpu_model driver=$gpu_driver

# Keeps the driver initialised between jobs; a failure here is not a verdict.
nvidia-smi -pm 1 >/dev/null 2>&1 || gpu_log "could not enable persistence mode"
# NVSwitch boards: CUDA initialises only once Fabric Manager has set up the fabric.
if [ "$GPU_NODE_FABRIC_MANAGER" = 1 ] && ! systemctl is-active --quiet nvidia-fabricmanager.service; then
  gpu_fail "nvidia-fabricmanager.service is not active; NVSwitch GPUs need it (journalctl -u nvidia-fabricmanager)" "$boot"
fi
# CUDA initialisation on each GPU, with the device query the cuda-toolkit step built.
query=$GPU_NODE_DEVICE_QUERY
if [ -x "$query" ]; then
  q=$("$query" 2>&1) || gpu_fail "CUDA does not initialise: $(printf '%s\n' "$q" | gpu_first_line)" "$boot"
  seen=$(printf '%s\n' "$q" | grep -c '^device ' || true)
  [ "$seen" -eq "$want" ] || gpu_fail "CUDA sees $seen GPUs, expected $want" "$boot"
fi
# Containers reach the GPUs (lib: gpu_check_containers).
gpu_check_containers || gpu_fail "$gpu_reason" "$boot"
# Xid lines: the driver's own report of GPU faults since this boot.
xids=$(gpu_xid_codes | grep -c . || true)
gpu_write_status ready gpus="$n" model="$model" driver="$driver" cuda="$(gpu_cuda_installed)" xid_errors="$xids" "$boot" checked_at="$(gpu_now)"
gpu_console "$GPU_NODE_MARK_READY recipe=$GPU_NODE_RECIPE_NAME key=$GPU_NODE_RECIPE_KEY gpus=$n model=\"$model\" driver=$driver"
