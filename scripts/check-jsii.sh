#!/usr/bin/env bash
# The library as a jsii library: compiles with jsii with no warning or error in our own sources (the
# generated provider bindings under .gen/ carry the generator's Go reserved-word warnings, which do not
# affect the Python target), documents every public member, keeps API.md fresh, builds the Python
# package with jsii-pacmak and runs the Python consumer test (scripts/check-python.sh).
# Needs python3 with venv and PyPI for the last two steps. Usage: scripts/check-jsii.sh
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent gen

out=$(npx jsii --generate-tsconfig tsconfig.jsii.json 2>&1) || { printf '%s\n' "$out"; echo "check-jsii: jsii failed" >&2; exit 1; }
own=$(printf '%s\n' "$out" | grep -E '(warning|error) JSII[0-9]+' | grep -v '^\.gen/' || true)
if [ -n "$own" ]; then printf '%s\n' "$own"; echo "check-jsii: jsii warned about our own sources" >&2; exit 1; fi
# shellcheck disable=SC2016  # JavaScript for node -e, not shell expansions
node -e 'const a = JSON.parse(require("fs").readFileSync(".jsii", "utf8")); const root = Object.values(a.types).filter((t) => !(t.namespace || "").startsWith("openstack")); console.log(`jsii: ${a.name}@${a.version}, ${root.length} types of our own, ${Object.keys(a.types).length - root.length} in the openstack bindings, no warnings in src/`)'

node scripts/check-api-docs.mjs

npx jsii-docgen -o .api-fresh.md --submodule root
if ! cmp -s API.md .api-fresh.md; then
  diff -u API.md .api-fresh.md | head -n 40 || true
  rm -f .api-fresh.md
  echo "check-jsii: API.md is stale; run npm run docs:api and commit it" >&2
  exit 1
fi
rm -f .api-fresh.md
echo "api-docs: API.md is up to date"

started=$SECONDS
npx jsii-pacmak --targets python --no-npmignore 2>&1 | grep -v '^!!' | grep -E 'INFO\] (Packaged|python)' || true
ls dist/python/*.whl >/dev/null
echo "jsii-pacmak: $(basename dist/python/*.whl) in $((SECONDS - started)) s"
bash scripts/check-python.sh
