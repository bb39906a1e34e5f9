#!/usr/bin/env bash
# NVSwitch boards (HGX A100/H100 8-GPU; the recipe includes this step from the GPU catalog):
# NVIDIA Fabric Manager of exactly the driver's version, enabled and started. Until it
# has set up the NVSwitch fabric, CUDA does not initialise on those GPUs.
set -euo pipefail
# shellcheck source=../lib/gpu-node-common.sh
. "$(dirname "$0")/../lib/gpu-node-common.sh"

branch=$GPU_NODE_DRIVER_BRANCH
gpu_is_uint "$branch" || gpu_fail "GPU_NODE_DRIVER_BRANCH must be a number like 570, got '$branch'"
# Fabric Manager refuses to start next to another driver version, so pin the one nvidia-smi reports.
# (awk reads all rows: head would end nvidia-smi with SIGPIPE on a board of 8.)
ver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | awk 'NR == 1 { gsub(/[[:space:]]/, ""); print }') || ver=''
[[ $ver =~ ^$branch\.[0-9]+(\.[0-9]+)?$ ]] ||
  gpu_fail "cannot read the driver $branch version from nvidia-smi (got '${ver:-nothing}'); Fabric Manager must match it"
# NVIDIA's CUDA repo names it nvidia-fabricmanager-<branch>_<driver version>-1 (NVIDIA's
# apt-packaging-fabric-manager); from 590 on the driver pinning package holds the branch.
if [ "$branch" -lt 590 ]; then pkg=nvidia-fabricmanager-$branch; else pkg=nvidia-fabricmanager; fi
gpu_cuda_repo
gpu_log "installing $pkg=$ver-1 for driver $ver"
gpu_apt_install "$pkg=$ver-1" || gpu_fail "could not install $pkg=$ver-1 (Fabric Manager for driver $ver) from NVIDIA's CUDA repo"
gpu_hold "$pkg"
systemctl enable --now nvidia-fabricmanager.service ||
  gpu_fail "nvidia-fabricmanager.service does not start; see journalctl -u nvidia-fabricmanager"
gpu_log "nvidia-fabricmanager.service enabled and started (driver $ver)"
