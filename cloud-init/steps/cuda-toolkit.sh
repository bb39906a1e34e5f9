#!/usr/bin/env bash
# Install the pinned CUDA toolkit (nvcc, libraries) and put it on PATH.
set -euo pipefail
# shellcheck source=../lib/gpu-node-common.sh
. "$(dirname "$0")/../lib/gpu-node-common.sh"

v=$GPU_NODE_CUDA_VERSION
if [ -z "$v" ]; then
  gpu_log "GPU_NODE_CUDA_VERSION is empty; skipping the CUDA toolkit"
  exit 0
fi
[[ $v =~ ^[0-9]+\.[0-9]+$ ]] || gpu_fail "GPU_NODE_CUDA_VERSION must look like 12.8, got '$v'"

home=$(gpu_cuda_home)
if [ -x "$home/bin/nvcc" ]; then
  gpu_log "$home/bin/nvcc exists; skipping install"
else
  gpu_cuda_repo
  gpu_apt_install "cuda-toolkit-${v//./-}"
fi

# Login shells get this toolkit (not whatever /usr/local/cuda points to).
profile="$GPU_NODE_ROOT/etc/profile.d/cuda.sh"
mkdir -p "${profile%/*}"
cat >"$profile" <<PROFILE
# Written by gpu-node (cuda-toolkit step): CUDA $v for login shells.
export CUDA_HOME=/usr/local/cuda-$v
case ":\$PATH:" in *":\$CUDA_HOME/bin:"*) ;; *) export PATH="\$CUDA_HOME/bin:\$PATH" ;; esac
export LD_LIBRARY_PATH="\$CUDA_HOME/lib64\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
PROFILE
gpu_log "wrote $profile"
