# shellcheck shell=bash
# gpu_require_vars LIST FILE: every variable the contract's LIST names is set (empty counts), else
# print what FILE lacks and return 1 (lib/gpu-node-common.sh, slurm/slurm-cluster-lib.sh).
gpu_require_vars() {
  local v missing=''
  for v in ${!1}; do [ -n "${!v+set}" ] || missing+=" $v"; done
  [ -z "$missing" ] || { printf '%s lacks%s (written by cdktf-openstack-gpu; see %s in lib/gpu-node-contract.sh)' "$2" "$missing" "$1"; return 1; }
}
