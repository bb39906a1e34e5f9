#!/usr/bin/env bash
# GpuNode idleShelve: the OpenStack CLI, a root-only clouds.yaml with the node's application credential
# (from the server metadata Terraform wrote), and gpu-node-idle.timer, which shelves the node once it
# has been idle for GPU_NODE_IDLE_SHELVE_HOURS (bin/gpu-node-idle). Runs until it succeeds once; a node
# booted from a baked image runs it again (the seal keeps no credential).
set -euo pipefail
# shellcheck source=../lib/gpu-node-common.sh
. "$(dirname "$0")/../lib/gpu-node-common.sh"
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

# The server's metadata (Nova's "meta"): cloud-init's copy, else the metadata service. cloud-init's
# persist_instance_data writes the OpenStack datasources' meta_data.json as ds.meta_data, keys unchanged.
pick='import json, sys
d = json.load(sys.stdin)
meta = d.get("ds", {}).get("meta_data", {}).get("meta") if "ds" in d else d.get("meta")
print(json.dumps(meta or {}))'
if ! meta=$(python3 -c "$pick" 2>/dev/null <"$GPU_NODE_INSTANCE_DATA"); then
  meta=$(curl -fsS --retry 10 --retry-delay 3 "$GPU_NODE_METADATA_URL" | python3 -c "$pick") ||
    gpu_fail "idle shelve: cannot read the server metadata ($GPU_NODE_INSTANCE_DATA, $GPU_NODE_METADATA_URL)"
fi
# A JSON string is a YAML string. Written 0600 (umask) to a temporary name, then moved.
problem=$( (umask 077 && mkdir -p "${GPU_NODE_OS_CONFIG%/*}" && python3 -c '
import json, sys
prefix, cloud, out = sys.argv[1:4]
meta = json.loads(sys.stdin.read())
missing = [prefix + k for k in ("auth_url", "credential_id", "credential_secret") if not meta.get(prefix + k)]
if missing:
    print("no " + ", ".join(missing) + " in the server metadata", end=""); sys.exit(1)
q = json.dumps
lines = ["# Written by steps/idle-shelve.sh (cdktf-openstack-gpu): this node'"'"'s idle-shelve credential.",
         "clouds:", "  " + cloud + ":", "    auth_type: v3applicationcredential", "    auth:",
         "      auth_url: " + q(meta[prefix + "auth_url"]),
         "      application_credential_id: " + q(meta[prefix + "credential_id"]),
         "      application_credential_secret: " + q(meta[prefix + "credential_secret"])]
if meta.get(prefix + "region"): lines.append("    region_name: " + q(meta[prefix + "region"]))
with open(out + ".tmp", "w") as f: f.write("\n".join(lines) + "\n")
' "$GPU_NODE_IDLE_METADATA_PREFIX" "$GPU_NODE_OS_CLOUD" "$GPU_NODE_OS_CONFIG" <<<"$meta") 2>&1) ||
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
