#!/usr/bin/env bash
# Stress every GPU with gpu-burn; a GPU that computes wrong results fails the node.
set -euo pipefail
# shellcheck source=../lib/gpu-node-common.sh
. "$(dirname "$0")/../lib/gpu-node-common.sh"

secs=${GPU_NODE_BURN_SECONDS:-0}
if [ "$secs" = 0 ]; then
  gpu_log "GPU_NODE_BURN_SECONDS is 0; skipping burn-in"
  exit 0
fi
gpu_is_uint "$secs" || gpu_fail "GPU_NODE_BURN_SECONDS must be a number of seconds, got '$secs'"
if gpu_done burn-in; then
  gpu_log "burn-in already passed; skipping"
  exit 0
fi

dir="$GPU_NODE_ROOT$GPU_NODE_GPU_BURN_DIR"
cuda=$(gpu_cuda_home)
[ -d "$cuda" ] || cuda="$GPU_NODE_ROOT/usr/local/cuda"
export PATH="$cuda/bin:$PATH"
if [ ! -x "$dir/gpu_burn" ]; then
  command -v nvcc >/dev/null || gpu_fail "gpu-burn needs the CUDA toolkit (nvcc); set GPU_NODE_CUDA_VERSION"
  gpu_log "building gpu-burn $GPU_NODE_GPU_BURN_REF in $dir"
  gpu_apt_install git make g++
  rm -rf "$dir"
  git clone --quiet "$GPU_NODE_GPU_BURN_REPO" "$dir"
  git -C "$dir" checkout --quiet --detach "$GPU_NODE_GPU_BURN_REF"
  # gpu-burn's Makefile builds for COMPUTE (default 75): older GPUs (V100 is 7.0)
  # cannot run that, so build for the GPU the catalog names.
  cc=${GPU_NODE_COMPUTE_CAPABILITY//./}
  make -C "$dir" CUDAPATH="$cuda" ${cc:+COMPUTE="$cc"}
fi

out="$GPU_NODE_HOME/gpu-burn-$(date -u +%Y%m%dT%H%M%SZ).log"
gpu_log "running gpu_burn $secs; output in $out"
rc=0
# Run in its dir (compare kernel). Usage: gpu_burn [OPTIONS] SECS; -d = doubles.
(cd "$dir" && ./gpu_burn "$secs") >"$out" 2>&1 || rc=$?
chown "$GPU_NODE_USER:" "$out" || true
grep -E 'GPU [0-9]+: ' "$out" | tail -n 16 || true
! grep -q FAULTY "$out" || gpu_fail "gpu-burn reports a FAULTY GPU; see $out"
# A worker that died (CUDA error, GPU fell off the bus) tests nothing.
! grep -q DIED "$out" || gpu_fail "a gpu-burn worker DIED; see $out"
[ "$rc" -eq 0 ] || gpu_fail "gpu_burn exited $rc; see $out"
gpu_mark_done burn-in
gpu_log "burn-in passed"
