#!/usr/bin/env bash
# Every boot: a loaded nvidia module for the running kernel. The first time it
# installs the pinned driver branch from NVIDIA's CUDA apt repo; later boots
# rebuild the module (DKMS) when a kernel update left none for this kernel.
set -euo pipefail
# shellcheck source=../lib/gpu-node-common.sh
. "$(dirname "$0")/../lib/gpu-node-common.sh"

kernel=$(uname -r)
# Also an image snapshotted after an earlier install: nothing to do.
if nvidia-smi >/dev/null 2>&1; then
  gpu_log "nvidia-smi works on kernel $kernel; nothing to do"
  exit 0
fi
# No GPU passed through: no install or reboot would help, say so at once.
gpu_nvidia_on_pci || gpu_fail "no NVIDIA device on the PCI bus (lspci -d 10de: lists none); the hypervisor passed no GPU to this instance"
branch=$GPU_NODE_DRIVER_BRANCH
gpu_is_uint "$branch" || gpu_fail "GPU_NODE_DRIVER_BRANCH must be a number like 570, got '$branch'"
case $GPU_NODE_DRIVER_FLAVOR in
  open) meta=nvidia-open ;;
  proprietary) meta=cuda-drivers ;;
  *) gpu_fail "GPU_NODE_DRIVER_FLAVOR must be open or proprietary, got '$GPU_NODE_DRIVER_FLAVOR'" ;;
esac

if ! gpu_done driver-installed; then
  # Before the install, so the initramfs it rebuilds keeps nouveau off the GPU.
  bl="$GPU_NODE_ROOT/etc/modprobe.d/gpu-node-blacklist-nouveau.conf"
  mkdir -p "${bl%/*}"
  printf 'blacklist nouveau\noptions nouveau modeset=0\n' >"$bl"
  gpu_cuda_repo # also the first apt-get update
  # DKMS builds the module for every kernel with headers: this one's first, and the
  # flavour's metapackage (linux-headers-generic, -nvidia, ...) brings them for
  # each kernel a security upgrade installs later.
  gpu_apt_install "linux-headers-$kernel"
  flavour_headers="linux-headers-${kernel##*-}"
  if apt-cache show "$flavour_headers" >/dev/null 2>&1; then
    gpu_apt_install "$flavour_headers"
  else
    gpu_log "no $flavour_headers in the apt lists; a new kernel gets its headers at boot"
  fi
  # NVIDIA's Ubuntu guide: up to 580 the meta packages carry the branch; from
  # 590 on nvidia-driver-pinning-<branch>, installed first, holds it.
  gpu_log "installing driver branch $branch ($GPU_NODE_DRIVER_FLAVOR kernel modules)"
  if [ "$branch" -lt 590 ]; then
    gpu_apt_install "$meta-$branch"
    gpu_hold "$meta-$branch"
  else
    gpu_apt_install "nvidia-driver-pinning-$branch"
    gpu_apt_install "$meta"
    gpu_hold "nvidia-driver-pinning-$branch" "$meta"
  fi
  gpu_mark_done driver-installed
elif ! modinfo -k "$kernel" nvidia >/dev/null 2>&1; then
  # Installed on an earlier boot, but this kernel (a security upgrade) has no module.
  gpu_log "no nvidia module for kernel $kernel; rebuilding it with DKMS"
  [ -d "$GPU_NODE_ROOT/usr/src/linux-headers-$kernel" ] || gpu_apt_install "linux-headers-$kernel" ||
    gpu_fail "no nvidia module for kernel $kernel, and its headers (linux-headers-$kernel) do not install"
  dkms autoinstall -k "$kernel" ||
    gpu_fail "no nvidia module for kernel $kernel, and the DKMS rebuild failed (see /var/lib/dkms/nvidia/*/build/make.log)"
fi

# Fails e.g. while nouveau holds the GPU: unload it and retry once.
if modprobe nvidia || { modprobe -r nouveau && modprobe nvidia; }; then
  gpu_log "nvidia module loaded on kernel $kernel"
  exit 0
fi
# Secure Boot refuses an unsigned module; a reboot would not change that.
if mokutil --sb-state 2>/dev/null | grep -qi 'SecureBoot enabled'; then
  gpu_fail "Secure Boot is enabled and refuses the unsigned nvidia module (mokutil --sb-state); enroll the DKMS signing key (MOK) or boot the image without Secure Boot"
fi
gpu_reboot "driver $branch installed but the nvidia module does not load on kernel $kernel"
