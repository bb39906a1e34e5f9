#!/usr/bin/env bash
# Every boot: the driver sees exactly the expected GPUs (and model), CUDA
# initialises on each, and the verdict of this boot goes to status.json and the console.
set -euo pipefail
# shellcheck source=../lib/gpu-node-common.sh
. "$(dirname "$0")/../lib/gpu-node-common.sh"

boot="boot_id=$(gpu_boot_id)"
want=$GPU_NODE_EXPECTED_GPUS
gpu_is_uint "$want" || gpu_fail "GPU_NODE_EXPECTED_GPUS must be an integer, got '$want'" "$boot"
command -v nvidia-smi >/dev/null || gpu_fail "nvidia-smi not found; is the NVIDIA driver installed?" "$boot"
# stdout only: a warning on stderr must never be counted as a GPU row.
err=$(mktemp)
if ! out=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>"$err"); then
  msg=$( (printf '%s\n' "$out"; cat "$err") | gpu_first_line)
  rm -f "$err"
  gpu_fail "nvidia-smi failed: $msg" "$boot"
fi
[ ! -s "$err" ] || gpu_log "nvidia-smi stderr: $(tr '\n' ' ' <"$err" | cut -c 1-200)"
rm -f "$err"
gpu_log "nvidia-smi lists: $(printf '%s' "$out" | tr '\n' ';')"

n=0 model='' driver=''
while IFS= read -r row; do
  [ -n "${row//[[:space:]]/}" ] || continue
  name=${row%,*}; name=${name#"${name%%[![:space:]]*}"}
  ver=${row##*,}; ver=${ver//[[:space:]]/}
  m=$GPU_NODE_EXPECTED_MODEL # a whole word of the name: A10 must not match A100, nor L4 L40S
  if [ -n "$m" ] && [[ " $name " != *" $m "* && " $name" != *" $m-"* ]]; then
    gpu_fail "expected model '$m', GPU $n is '$name'" "$boot"
  fi
  [ -n "$model" ] || { model=$name; driver=$ver; }
  n=$((n + 1))
done <<<"$out"
[ "$n" -eq "$want" ] || gpu_fail "expected $want GPUs, nvidia-smi lists $n" "$boot"

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
# Containers reach the GPUs: what the runtime hook does for `docker run --gpus all`, without
# pulling an image. libnvidia-container loads the modules (nvidia-uvm too) and lists the GPUs
# a container gets, one "index,minor,model,..." row each after the header (--csv).
if [ "$GPU_NODE_CONTAINER_TOOLKIT" = 1 ]; then
  command -v nvidia-container-cli >/dev/null ||
    gpu_fail "nvidia-container-cli not found; is the NVIDIA container toolkit installed?" "$boot"
  err=$(mktemp)
  if ! c=$(nvidia-container-cli --load-kmods info --csv 2>"$err"); then
    msg=$( (cat "$err"; printf '%s\n' "$c") | gpu_first_line)
    rm -f "$err"
    gpu_fail "containers cannot reach the GPUs: $msg" "$boot"
  fi
  rm -f "$err"
  seen=$(printf '%s\n' "$c" | grep -cE '^[0-9]+,[0-9]+,' || true)
  [ "$seen" -eq "$want" ] || gpu_fail "containers see $seen GPUs (nvidia-container-cli info), expected $want" "$boot"
fi
# Xid lines: the driver's own report of GPU faults since this boot.
xids=$(dmesg 2>/dev/null | grep -c 'NVRM: Xid' || true)

cuda=''
if [ -n "$GPU_NODE_CUDA_VERSION" ] && [ -x "$(gpu_cuda_home)/bin/nvcc" ]; then cuda=$GPU_NODE_CUDA_VERSION; fi
gpu_write_status ready gpus="$n" model="$model" driver="$driver" cuda="$cuda" xid_errors="$xids" "$boot" checked_at="$(gpu_now)"
gpu_console "$GPU_NODE_MARK_READY recipe=$GPU_NODE_RECIPE_NAME key=$GPU_NODE_RECIPE_KEY gpus=$n model=\"$model\" driver=$driver"
