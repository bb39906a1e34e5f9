#!/usr/bin/env bash
# The Python package, as the GPU cloud's users (who write Python) would use it: installs the wheel built by
# jsii-pacmak (dist/python) into a fresh virtual environment next to cdktf 0.21.0 from PyPI, synthesizes a
# GPU node and a snapshot pipeline from a Python app, and runs both offline checks on the JSON.
# Needs python3 with venv, the wheel (`npm run package:python`) and PyPI. Usage: scripts/check-python.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
wheel=$(find "$root/dist/python" -name "cdktf_openstack_gpu-*.whl" 2>/dev/null | head -n 1)
[ -n "$wheel" ] || { echo "check-python: no wheel in dist/python; run npm run package:python first" >&2; exit 1; }
command -v python3 >/dev/null || { echo "check-python: python3 is not installed (apt-get install python3 python3-venv)" >&2; exit 1; }
work=$(mktemp -d)
# CI's machine runs Node 20, past its end of life: silence the jsii runtime's banner for it here, as
# the README ("From Python") tells users on Node 20 to (Node 22 and 24 print none).
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
# constructs 10.4.2: the version cdktf 0.21.0 itself asks for.
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "$wheel" 'cdktf==0.21.0' 'constructs==10.4.2'

cat >"$work/app.py" <<'PY'
import json, os, sys
import jsii
from cdktf import App, TerraformStack
import cdktf_openstack_gpu as gpu


# An image source of the user's own, written in Python: INodeImage.bind is public API for this.
@jsii.implements(gpu.INodeImage)
class TeamImage:
    def bind(self, scope, profile):
        return gpu.NodeImageConfig(image_id="0f0e0d0c-0b0a-0908-0706-050403020100", base_image_key="id:team-image")

# Planned offline below against the stand-in provider: the README's "Planning offline" switch.
app = App(outdir=sys.argv[1], context={"cdktf-openstack-gpu:preflight": False})
ssh_from = [gpu.Peer.ipv4("192.0.2.0/24")]

# start-nvidia-openstack-instance.py as a stack: a new network, two RTX 2080 Ti and a data volume.
ml = TerraformStack(app, "ml")
gpu.openstack.provider.OpenstackProvider(ml, "openstack", cloud="openstack")
network = gpu.GpuNetwork(ml, "Net", ssh_from=ssh_from, ingress=[gpu.IngressRule(port=gpu.Port.JUPYTER)])
trainer = gpu.GpuNode(ml, "Trainer",
    flavor=gpu.GpuFlavor.of(gpu.GpuModel.RTX_2080_TI, 2),
    network=network,
    recipe=gpu.GpuRecipe(name="cuda-base", nvidia_driver=gpu.NvidiaDriver.R570_OPEN, cuda=gpu.CudaToolkit.V12_8),
    data_volume=gpu.DataVolumeOptions(size_gib=100),
    lifetime_hours=72,
)
gpu.GpuNode(ml, "Custom", flavor=gpu.GpuFlavor.of(gpu.GpuModel.RTX_2080_TI, 1), network=network, image=TeamImage(),
    key_pair=gpu.KeyPair.from_name(ml, "Key", "alice", private_key_hint="~/.ssh/id_ed25519"))

# The snapshot pipeline: bake a recipe once, boot workers from the newest bake.
bake = TerraformStack(app, "bake")
gpu.openstack.provider.OpenstackProvider(bake, "openstack", cloud="openstack")
recipe = gpu.GpuRecipe(name="pytorch-worker", cuda=gpu.CudaToolkit.V12_8, packages=["python3-venv"])
base = gpu.NodeImage.ubuntu(gpu.UbuntuRelease.NOBLE_24_04)
bake_net = gpu.GpuNetwork.from_name(bake, "Net", "alice-net")
gpu.SnapshotImage(bake, "PytorchImage", recipe=recipe, base_image=base,
    flavor=gpu.GpuFlavor.of(gpu.GpuModel.RTX_2060_SUPER, 1), network=bake_net, cloud="openstack")
gpu.GpuNode(bake, "Worker", flavor=gpu.GpuFlavor.of(gpu.GpuModel.RTX_2060_SUPER, 2), network=bake_net,
    image=gpu.NodeImage.from_recipe(recipe, base_image=base), recipe=recipe, ssh_from=ssh_from)
app.synth()
print("python app: synthesized", trainer.node_name, "with", trainer.flavor.flavor_name)
with open(os.path.join(sys.argv[1], "stacks", "ml", "cdk.tf.json")) as f:
    servers = json.load(f)["resource"]["openstack_compute_instance_v2"]
custom = [s for s in servers.values() if s["name"] == "ml-Custom"]
assert len(custom) == 1 and custom[0]["image_id"] == "0f0e0d0c-0b0a-0908-0706-050403020100" and custom[0]["key_pair"] == "alice", custom
print("python app: a Python INodeImage and KeyPair.from_name gave ml-Custom image", custom[0]["image_id"], "and key", custom[0]["key_pair"])
PY
out="$work/out"
"$work/venv/bin/python" "$work/app.py" "$out"

failed=0
for stack in ml bake; do
  json="$out/stacks/$stack/cdk.tf.json"
  # shellcheck disable=SC2016  # JavaScript for node -e, not shell expansions
  node -e '
    const j = require(process.argv[1]);
    const servers = Object.values(j.resource.openstack_compute_instance_v2 || {});
    if (servers.length === 0) { console.error("no server"); process.exit(1); }
    for (const s of servers) if (!/^\$\{base64gzip\(local\.user_data_[0-9a-f]{16}\)\}$/.test(s.user_data)) { console.error("user_data: " + s.user_data); process.exit(1); }
    console.log(`python ${process.argv[2]}: ${servers.length} server(s), flavors ${servers.map((s) => s.flavor_name).join(", ")}`);
  ' "$json" "$stack" || failed=1
  validate="$root/../shared/tools/tf-validate/validate.mjs"
  if [ -f "$validate" ]; then if node "$validate" "$json"; then echo "python $stack: validate.mjs ok"; else failed=1; fi; else echo "skipped validate.mjs on $stack: $validate not found"; fi
  tf_check="$root/../shared/tools/tf-stub/tf-check.sh"
  if [ ! -f "$tf_check" ]; then echo "skipped terraform plan on $stack: $tf_check not found"
  elif ! command -v terraform >/dev/null; then echo "skipped terraform plan on $stack: terraform is not on PATH"
  else
    if bash "$tf_check" --schema "$root/../shared/openstack-provider/schema-3.4.0.json" "$out/stacks/$stack" plan >"$work/plan-$stack.log" 2>&1; then
      echo "python $stack: terraform plan ok ($(grep -o 'Plan: .*' "$work/plan-$stack.log" | head -n 1))"
    else
      echo "FAIL python $stack: terraform plan"; tail -n 30 "$work/plan-$stack.log"; failed=1
    fi
  fi
done
[ "$failed" -eq 0 ] && echo "check-python: ok"
exit "$failed"
