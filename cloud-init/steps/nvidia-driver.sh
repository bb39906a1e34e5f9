#!/usr/bin/env bash
# Install the pinned NVIDIA driver branch from NVIDIA's CUDA apt repo.
set -euo pipefail
# shellcheck source=../lib/gpu-node-common.sh
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

# Before the install, so the initramfs it rebuilds keeps nouveau off the GPU.
bl="$GPU_NODE_ROOT/etc/modprobe.d/gpu-node-blacklist-nouveau.conf"
mkdir -p "${bl%/*}"
printf 'blacklist nouveau\noptions nouveau modeset=0\n' >"$bl"
gpu_cuda_repo # also the first apt-get update
# DKMS builds the module for the running kernel, so its headers come first.
gpu_apt_install "linux-headers-$(uname -r)"
# NVIDIA's Ubuntu guide: up to 580 the meta packages carry the branch; from
# 590 on nvidia-driver-pinning-<branch>, installed first, holds it.
gpu_log "installing driver branch $branch ($GPU_NODE_DRIVER_FLAVOR kernel modules)"
if [ "$branch" -lt 590 ]; then
  gpu_apt_install "$meta-$branch"
else
  gpu_apt_install "nvidia-driver-pinning-$branch"
  gpu_apt_install "$meta"
fi
# Fails e.g. while nouveau holds the GPU: unload it and retry once.
modprobe nvidia || { modprobe -r nouveau && modprobe nvidia; } ||
  gpu_fail "driver $branch installed but the nvidia module does not load; reboot required"
gpu_log "nvidia module loaded"
