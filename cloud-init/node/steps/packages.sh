#!/usr/bin/env bash
# The recipe's extra Ubuntu packages (GPU_NODE_PACKAGES, `name`, `name:arch`, pinned `name=version`),
# installed once by the runner with the same apt lock wait as the other steps; its done
# marker skips it at later boots and on nodes booted from a baked image.
set -euo pipefail
# shellcheck source=../lib/gpu-node-common.sh
. "$(dirname "$0")/../lib/gpu-node-common.sh"

read -r -a pkgs <<<"$GPU_NODE_PACKAGES"
if [ ${#pkgs[@]} -eq 0 ]; then
  gpu_log "GPU_NODE_PACKAGES is empty; skipping"
  exit 0
fi
pinned=()
# The contract's pattern, which the recipe checks at synth too.
package_re="^(${GPU_NODE_PACKAGE_PATTERN})\$"
for p in "${pkgs[@]}"; do
  [[ $p =~ $package_re ]] || gpu_fail "GPU_NODE_PACKAGES: '$p' is not an apt package (name, name:arch or name=version)"
  [[ $p != *=* ]] || pinned+=("${p%%=*}")
done
gpu_log "installing ${pkgs[*]}"
gpu_apt_install "${pkgs[@]}" || gpu_fail "apt-get could not install ${pkgs[*]}; see $GPU_NODE_LOG_DIR/packages.log"
# A pinned version stays as asked when unattended-upgrades runs.
if [ ${#pinned[@]} -gt 0 ]; then apt-mark hold "${pinned[@]}" >/dev/null && gpu_log "held ${pinned[*]}"; fi
gpu_log "installed ${pkgs[*]}"
