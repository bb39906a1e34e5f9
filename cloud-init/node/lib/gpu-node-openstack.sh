#!/usr/bin/env bash
# Sourced by steps/idle-shelve.sh and slurm/slurm-cluster-lib.sh: the server metadata, and a clouds.yaml
# for the application credential Terraform put there.
set -euo pipefail

# gpu_server_metadata INSTANCE_DATA URL: the server's metadata (Nova's "meta") as a JSON object, from
# cloud-init's copy (persist_instance_data keeps meta_data.json as ds.meta_data), else from URL.
gpu_server_metadata() {
  local pick='import json, sys
d = json.load(sys.stdin)
meta = d.get("ds", {}).get("meta_data", {}).get("meta") if "ds" in d else d.get("meta")
print(json.dumps(meta or {}))'
  if [ -r "$1" ] && python3 -c "$pick" <"$1" 2>/dev/null; then return 0; fi
  curl -fsS --retry 10 --retry-delay 3 "$2" | python3 -c "$pick"
}

# gpu_write_clouds_yaml FILE PREFIX CLOUD WRITER <<<METADATA: FILE.tmp (0600), cloud CLOUD with the credential
# in the metadata keys PREFIX{auth_url,credential_id,credential_secret,region}; the caller moves it into
# place. Prints what is missing and returns 1.
gpu_write_clouds_yaml() {
  (umask 077 && mkdir -p "${1%/*}" && python3 -c '
import json, sys
out, prefix, cloud, writer = sys.argv[1:5]
meta = json.loads(sys.stdin.read())
missing = [prefix + k for k in ("auth_url", "credential_id", "credential_secret") if not meta.get(prefix + k)]
if missing:
    print("no " + ", ".join(missing) + " in the server metadata", end=""); sys.exit(1)
q = json.dumps  # a JSON string is a YAML string
lines = ["# Written by " + writer + " (cdktf-openstack-gpu) from the server metadata.",
         "clouds:", "  " + cloud + ":", "    auth_type: v3applicationcredential", "    auth:",
         "      auth_url: " + q(meta[prefix + "auth_url"]),
         "      application_credential_id: " + q(meta[prefix + "credential_id"]),
         "      application_credential_secret: " + q(meta[prefix + "credential_secret"])]
if meta.get(prefix + "region"): lines.append("    region_name: " + q(meta[prefix + "region"]))
with open(out + ".tmp", "w") as f: f.write("\n".join(lines) + "\n")
' "$@")
}
