#!/usr/bin/env bash
# GpuNode idleShelve: the OpenStack CLI, a root-only clouds.yaml with the node's application credential
# (from the server metadata Terraform wrote), and gpu-node-idle.timer, which shelves the node once it
# has been idle for GPU_NODE_IDLE_SHELVE_HOURS (bin/gpu-node-idle). Runs until it succeeds once; a node
# booted from a baked image runs it again (the seal keeps no credential).
set -euo pipefail
# shellcheck source=../lib/gpu-node-common.sh
. "$(dirname "$0")/../lib/gpu-node-common.sh"
# shellcheck source=../lib/gpu-node-openstack.sh
. "$(dirname "$0")/../lib/gpu-node-openstack.sh"
: "${GPU_NODE_INSTANCE_DATA:=$GPU_NODE_ROOT/run/cloud-init/instance-data.json}"
: "${GPU_NODE_METADATA_URL:=http://169.254.169.254/openstack/latest/meta_data.json}"

hours=$GPU_NODE_IDLE_SHELVE_HOURS
{ gpu_is_uint "$hours" && [ "$hours" -gt 0 ]; } || gpu_fail "GPU_NODE_IDLE_SHELVE_HOURS must be a whole number of hours above 0, got '$hours'"
id=$(cat "$GPU_NODE_ROOT/var/lib/cloud/data/instance-id" 2>/dev/null || true)
[[ $id =~ ^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$ ]] ||
  gpu_fail "idle shelve: cloud-init's instance id '$id' (/var/lib/cloud/data/instance-id) is no Nova server id"

if ! command -v openstack >/dev/null; then
  gpu_log "installing python3-openstackclient (the node shelves itself with it)"
  gpu_apt_install python3-openstackclient || gpu_fail "apt-get could not install python3-openstackclient; see $GPU_NODE_LOG_DIR/idle-shelve.log"
fi

meta=$(gpu_server_metadata "$GPU_NODE_INSTANCE_DATA" "$GPU_NODE_METADATA_URL") ||
  gpu_fail "idle shelve: cannot read the server metadata ($GPU_NODE_INSTANCE_DATA, $GPU_NODE_METADATA_URL)"
problem=$(gpu_write_clouds_yaml "$GPU_NODE_OS_CONFIG" "$GPU_NODE_IDLE_METADATA_PREFIX" "$GPU_NODE_OS_CLOUD" steps/idle-shelve.sh <<<"$meta" 2>&1) ||
  gpu_fail "idle shelve: ${problem:-cannot write $GPU_NODE_OS_CONFIG}"
mv -f "$GPU_NODE_OS_CONFIG.tmp" "$GPU_NODE_OS_CONFIG"
gpu_log "wrote $GPU_NODE_OS_CONFIG (cloud $GPU_NODE_OS_CLOUD, mode 0600)"

# A credential the cloud refuses (no access rules, keystonemiddleware without service_type: 401) is
# said now, in the log; the timer tries anyway, as the cloud may be down only for now.
if out=$(OS_CLIENT_CONFIG_FILE=$GPU_NODE_OS_CONFIG openstack --os-cloud "$GPU_NODE_OS_CLOUD" server show -f value -c status "$id" 2>&1); then
  gpu_log "the credential can read server $id (status $(gpu_first_line <<<"$out"))"
else
  gpu_log "WARNING: the idle-shelve credential cannot read server $id: $(gpu_first_line <<<"$out"); the node cannot shelve itself until it can"
fi

systemctl daemon-reload
systemctl enable --now --no-block gpu-node-idle.timer || gpu_fail "idle shelve: systemctl could not enable gpu-node-idle.timer"
gpu_log "gpu-node-idle.timer enabled: shelves server $id after ${hours}h idle"
