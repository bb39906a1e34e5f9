#!/usr/bin/env bash
# Docker plus the NVIDIA container toolkit, so `docker run --gpus all` works.
set -euo pipefail
# shellcheck source=../lib/gpu-node-common.sh
. "$(dirname "$0")/../lib/gpu-node-common.sh"

daemon="$GPU_NODE_ROOT/etc/docker/daemon.json"
keyring=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg
list="$GPU_NODE_ROOT/etc/apt/sources.list.d/nvidia-container-toolkit.list"
if command -v nvidia-ctk >/dev/null && grep -q '"nvidia"' "$daemon" 2>/dev/null; then
  gpu_log "nvidia-ctk present and $daemon has the nvidia runtime; skipping install"
else
  gpu_apt_install docker.io gnupg
  # Repo and pins as in NVIDIA's container toolkit install guide (apt).
  tmp=$(mktemp -d)
  gpu_download "$GPU_NODE_CTK_REPO_URL/gpgkey" "$tmp/key"
  gpu_download "$GPU_NODE_CTK_REPO_URL/stable/deb/nvidia-container-toolkit.list" "$tmp/list"
  mkdir -p "$GPU_NODE_ROOT${keyring%/*}" "${list%/*}"
  gpg --batch --yes --dearmor -o "$GPU_NODE_ROOT$keyring" "$tmp/key"
  sed "s#deb https://#deb [signed-by=$keyring] https://#g" "$tmp/list" >"$list"
  rm -rf "$tmp"
  gpu_apt_update
  v=$GPU_NODE_CONTAINER_TOOLKIT_VERSION
  if [ -n "$v" ]; then
    gpu_apt_install "nvidia-container-toolkit=$v" "nvidia-container-toolkit-base=$v" \
      "libnvidia-container-tools=$v" "libnvidia-container1=$v"
    gpu_hold nvidia-container-toolkit nvidia-container-toolkit-base libnvidia-container-tools libnvidia-container1
  else
    gpu_apt_install nvidia-container-toolkit
  fi
  nvidia-ctk runtime configure --runtime=docker --config="$daemon"
  systemctl restart docker
fi
usermod -aG docker "$GPU_NODE_USER" # docker without sudo
gpu_log "docker has the nvidia runtime; $GPU_NODE_USER is in group docker"
