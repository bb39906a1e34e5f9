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
  gpu_hold "cuda-toolkit-${v//./-}"
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

# A tiny device query that ready-check runs at every boot: CUDA initialises on each GPU.
q=$GPU_NODE_DEVICE_QUERY
if [ -x "$q" ]; then
  gpu_log "$q exists"
elif [ ! -x "$home/bin/nvcc" ]; then
  gpu_log "no $home/bin/nvcc; ready-check runs without the CUDA device query"
else
  src=$(mktemp --suffix=.cu)
  cat >"$src" <<'CU'
#include <cstdio>
#include <cuda_runtime.h>
int main() {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) { std::printf("cudaGetDeviceCount: %s\n", cudaGetErrorString(e)); return 1; }
  for (int i = 0; i < n; i++) {
    cudaDeviceProp p;
    if ((e = cudaSetDevice(i)) != cudaSuccess || (e = cudaFree(0)) != cudaSuccess ||
        (e = cudaGetDeviceProperties(&p, i)) != cudaSuccess) {
      std::printf("device %d: %s\n", i, cudaGetErrorString(e)); return 1;
    }
    std::printf("device %d %s sm_%d%d\n", i, p.name, p.major, p.minor);
  }
  return 0;
}
CU
  mkdir -p "${q%/*}"
  if ! "$home/bin/nvcc" -o "$q" "$src" || [ ! -x "$q" ]; then
    gpu_fail "could not build the CUDA device query with $home/bin/nvcc"
  fi
  rm -f "$src"
  gpu_log "built $q"
fi
