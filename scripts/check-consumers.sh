#!/usr/bin/env bash
# Installs the packed tarball into fresh projects, as a user would, next to cdktf 0.21 and next to
# CDK Terrain through the npm alias (`cdktf@npm:cdktn@0.24.0`), and synthesizes a GPU node in each.
# Fails on an install warning (a refused peer, an install script) or a synth that goes wrong.
# Needs the npm registry. Usage: scripts/check-consumers.sh [TARBALL]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarball=${1:-}
if [ -z "$tarball" ]; then
  (cd "$root" && npm pack --silent --pack-destination "$work" >/dev/null)
  tarball=$(ls "$work"/cdktf-openstack-gpu-*.tgz)
fi

# shellcheck disable=SC2016  # JavaScript for node -e, not shell expansions
synth='
const { App, TerraformStack, Testing } = require("cdktf");
const gpu = require("cdktf-openstack-gpu");
const stack = new TerraformStack(new App(), "s");
new gpu.openstack.provider.OpenstackProvider(stack, "openstack", { cloud: "openstack" });
const network = gpu.GpuNetwork.fromName(stack, "Net", "alice-net");
new gpu.GpuNode(stack, "Node", { flavor: gpu.GpuFlavor.of(gpu.GpuModel.RTX_2080_TI, 1), network, sshFrom: [gpu.Peer.ipv4("10.0.0.0/8")] });
const json = JSON.parse(Testing.synth(stack));
const server = Object.values(json.resource.openstack_compute_instance_v2)[0];
const cdktf = require("cdktf/package.json");
console.log(`${cdktf.name}@${cdktf.version} ${server.flavor_name} ${server.user_data}`);
'

passed=0 failed=0
check() { # NAME EXPECTED_ENGINE PACKAGES...
  local name=$1 engine=$2 dir out
  shift 2
  dir="$work/$name"
  mkdir -p "$dir"
  (cd "$dir" && npm init -y >/dev/null)
  if ! (cd "$dir" && npm install --no-audit --no-fund "$tarball" "$@") >"$dir/install.log" 2>&1; then
    echo "FAIL $name: npm install failed"; sed 's/^/  /' "$dir/install.log" | tail -n 20; failed=$((failed + 1)); return
  fi
  if grep -qi 'warn' "$dir/install.log"; then
    echo "FAIL $name: npm install warned"; grep -i warn "$dir/install.log" | sed 's/^/  /'; failed=$((failed + 1)); return
  fi
  if out=$(cd "$dir" && node -e "$synth" 2>&1) && [[ $out =~ ^$engine@[0-9.]+\ g1-1x2080\.medium\ \$\{base64gzip\(local\.user_data_[0-9a-f]{16}\)\}$ ]]; then
    echo "ok   $name: $out"; passed=$((passed + 1))
  else
    echo "FAIL $name: synth printed: $out"; failed=$((failed + 1))
  fi
}

check cdktf-0.21 cdktf cdktf@0.21.0 'constructs@^10.4.2'

# The README's TypeScript set-up: its dev dependencies and tsconfig.json, and an app run by ts-node.
ts_setup() {
  local dir="$work/typescript" out
  mkdir -p "$dir"
  (cd "$dir" && npm init -y >/dev/null)
  awk '/^```json$/ {on = 1; next} on && /^```$/ {exit} on' "$root/README.md" >"$dir/tsconfig.json"
  node -e 'const t = require(process.argv[1]); if (!t.compilerOptions) process.exit(1)' "$dir/tsconfig.json"
  printf '%s\n' "import { App, TerraformStack } from 'cdktf';" \
    "import { GpuFlavor, GpuModel, GpuNetwork, GpuNode, openstack, Peer } from 'cdktf-openstack-gpu';" \
    "const app = new App({ outdir: 'out' });" "const stack = new TerraformStack(app, 'ml');" \
    "new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });" \
    "new GpuNode(stack, 'Node', { flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network: GpuNetwork.fromName(stack, 'Net', 'alice-net'), sshFrom: [Peer.ipv4('10.0.0.0/8')] });" \
    "app.synth();" >"$dir/main.ts"
  local devdeps
  devdeps=$(grep -o 'npm install -D [^#]*' "$root/README.md" | head -n 1 | sed 's/^npm install -D //')
  # shellcheck disable=SC2086  # the README's package list, word-split on purpose
  # (cdktf-cli's own dependencies have install scripts that npm warns about; only our install must be quiet.)
  if (cd "$dir" && npm install --no-audit --no-fund "$tarball" cdktf@0.21.0 'constructs@^10.4.2') >"$dir/install.log" 2>&1 &&
    ! grep -qi warn "$dir/install.log" && (cd "$dir" && npm install --no-audit --no-fund -D $devdeps) >>"$dir/install.log" 2>&1 &&
    out=$(cd "$dir" && npx ts-node main.ts 2>&1) && [ -f "$dir/out/stacks/ml/cdk.tf.json" ]; then
    echo "ok   typescript: README dev dependencies ($devdeps) and tsconfig.json run a ts-node app"; passed=$((passed + 1))
  else
    echo "FAIL typescript: README set-up did not synthesize"; tail -n 20 "$dir/install.log" | sed 's/^/  /'; printf '%s\n' "${out:-}" | sed 's/^/  /'
    failed=$((failed + 1))
  fi
}
ts_setup
# cdktn 0.24.0 asks for constructs >=10.6.0 <10.8.0.
check cdk-terrain cdktn 'cdktf@npm:cdktn@0.24.0' 'constructs@~10.7.0'
echo "consumers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
