#!/usr/bin/env bash
# Final verdict: the driver sees exactly the expected GPUs (and model).
set -euo pipefail
# shellcheck source=../lib/gpu-node-common.sh
. "$(dirname "$0")/../lib/gpu-node-common.sh"

want=$GPU_NODE_EXPECTED_GPUS
gpu_is_uint "$want" || gpu_fail "GPU_NODE_EXPECTED_GPUS must be an integer, got '$want'"
command -v nvidia-smi >/dev/null || gpu_fail "nvidia-smi not found; is the NVIDIA driver installed?"
if ! out=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1); then
  gpu_fail "nvidia-smi failed: $(printf '%s' "$out" | head -n 1 | cut -c 1-160)"
fi
gpu_log "nvidia-smi lists: $(printf '%s' "$out" | tr '\n' ';')"

n=0 model='' driver=''
while IFS= read -r row; do
  [ -n "${row//[[:space:]]/}" ] || continue
  name=${row%,*}; name=${name#"${name%%[![:space:]]*}"}
  ver=${row##*,}; ver=${ver//[[:space:]]/}
  m=$GPU_NODE_EXPECTED_MODEL # a whole word of the name: A10 must not match A100, nor L4 L40S
  if [ -n "$m" ] && [[ " $name " != *" $m "* && " $name" != *" $m-"* ]]; then
    gpu_fail "expected model '$m', GPU $n is '$name'"
  fi
  [ -n "$model" ] || { model=$name; driver=$ver; }
  n=$((n + 1))
done <<<"$out"
[ "$n" -eq "$want" ] || gpu_fail "expected $want GPUs, nvidia-smi lists $n"

cuda=''
if [ -n "$GPU_NODE_CUDA_VERSION" ] && [ -x "$(gpu_cuda_home)/bin/nvcc" ]; then cuda=$GPU_NODE_CUDA_VERSION; fi
gpu_write_status ready gpus="$n" model="$model" driver="$driver" cuda="$cuda"
gpu_console "GPU-NODE-READY recipe=$GPU_NODE_RECIPE_NAME key=$GPU_NODE_RECIPE_KEY gpus=$n model=\"$model\" driver=$driver"
