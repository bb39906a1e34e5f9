#!/usr/bin/env bash
# Install the pinned NVIDIA driver branch from NVIDIA's CUDA apt repo.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/gpu-node-common.sh
. "$(dirname "$0")/../lib/gpu-node-common.sh"

# An image snapshotted after an earlier install already has a working driver.
if nvidia-smi >/dev/null 2>&1; then
  gpu_log "nvidia-smi works; skipping driver install"
  exit 0
fi
branch=$GPU_NODE_DRIVER_BRANCH
gpu_is_uint "$branch" || gpu_fail "GPU_NODE_DRIVER_BRANCH must be a number like 570, got '$branch'"
case $GPU_NODE_DRIVER_FLAVOR in
  open) meta=nvidia-open ;;
  proprietary) meta=cuda-drivers ;;
  *) gpu_fail "GPU_NODE_DRIVER_FLAVOR must be open or proprietary, got '$GPU_NODE_DRIVER_FLAVOR'" ;;
esac

# DKMS builds the module for the running kernel, so its headers come first.
gpu_apt install -y "linux-headers-$(uname -r)"
gpu_cuda_repo
# Per NVIDIA's driver installation guide (Ubuntu): up to 580 the meta packages
# carry the branch; from 590 on they do not, and nvidia-driver-pinning-<branch>,
# installed first, holds the branch.
gpu_log "installing driver branch $branch ($GPU_NODE_DRIVER_FLAVOR kernel modules)"
if [ "$branch" -lt 590 ]; then
  gpu_apt install -y "$meta-$branch"
else
  gpu_apt install -y "nvidia-driver-pinning-$branch"
  gpu_apt install -y "$meta"
fi
# Fails e.g. while nouveau holds the GPU; NVIDIA's packages blacklist it from
# the next boot on.
modprobe nvidia || gpu_fail "driver $branch installed but the nvidia module does not load; reboot required"
gpu_log "nvidia module loaded"
