#!/usr/bin/env bash
# The API compatibility gate: jsii-diff between the last release's assembly and the current one.
# The last release is the newest CHANGELOG.md release whose "Release commit:" has a jsii build
# (0.1.0 had none). Its tree is taken from git (git archive, so the clone needs that commit: CI's
# full clone has it), built with this checkout's node_modules, and compared with ./.jsii
# (built here when missing; CI's `npm run test:jsii` builds it just before).
# A breaking change (jsii-diff "err" line) fails unless the changelog's [Unreleased] "### Breaking"
# names the element, e.g. `GpuNetwork.securityGroup`. Usage: scripts/check-api.sh
# API_BASELINE_COMMIT=<commit> compares against another commit (for trying the gate).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

baseline=${API_BASELINE_COMMIT:-}
version=${API_BASELINE_COMMIT:+"(API_BASELINE_COMMIT)"}
if [ -z "$baseline" ]; then
  while read -r v commit; do
    if ! git cat-file -e "$commit^{commit}" 2>/dev/null; then
      echo "check-api: release $v's commit $commit is not in this clone; fetch the full history (git fetch --unshallow)" >&2
      exit 1
    fi
    if git show "$commit:package.json" | node -e 'process.exit(JSON.parse(require("fs").readFileSync(0, "utf8")).jsii ? 0 : 1)'; then
      baseline=$commit; version=$v; break
    fi
    echo "check-api: release $v ($commit) has no jsii assembly; not a baseline"
  done < <(node scripts/changelog.mjs releases)
fi
if [ -z "$baseline" ]; then
  echo "check-api: no release in CHANGELOG.md records a commit with a jsii build yet; nothing to compare"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git archive "$baseline" | tar -x -C "$work"
# The baseline builds with this checkout's dependencies (a worktree's node_modules may be a link).
ln -s "$(readlink -f node_modules)" "$work/node_modules"
echo "check-api: building $version $baseline"
(cd "$work" && npm run --silent build >"$work/.build.log" 2>&1) || { tail -30 "$work/.build.log"; echo "check-api: the baseline did not build" >&2; exit 1; }
[ -f .jsii ] || npm run --silent build >/dev/null

# Unmarked APIs count as stable: every change to them is judged.
set +e
out=$(npx jsii-diff --keys --default-stability stable --error-on prod "$work" "$repo" 2>&1)
rc=$?
set -e
printf '%s\n' "$out"
if [ "$rc" = 0 ]; then
  echo "check-api: no breaking change against $version"
  exit 0
fi
errors=$(printf '%s\n' "$out" | grep -E '^err ' || true)
if [ -z "$errors" ]; then echo "check-api: jsii-diff failed (rc $rc)" >&2; exit 1; fi

listed=$(node scripts/changelog.mjs breaking)
unlisted=0
while IFS= read -r line; do
  # "err  - PROP cdktf-openstack-gpu.GpuNetwork.securityGroup: has been removed [removed:...]"
  element=$(printf '%s\n' "$line" | sed -E 's/^err +- +[A-Z]+ +[^.]+\.([^: ]+):.*/\1/')
  # named in backticks, alone or with a call or member after it: `GpuNetwork.securityGroup`, `KeyPair.fromName(...)`
  if ! grep -qE "\`${element//./\\.}[\`(]" <<<"$listed"; then
    echo "check-api: UNLISTED breaking change to $element" >&2
    unlisted=$((unlisted + 1))
  fi
done <<<"$errors"
if [ "$unlisted" -gt 0 ]; then
  echo "check-api: $unlisted breaking change(s) not listed in CHANGELOG.md's [Unreleased] '### Breaking';" \
    "list each element (e.g. \`GpuNetwork.securityGroup\`) with its migration, or keep the API compatible" >&2
  exit 1
fi
echo "check-api: every breaking change against $version is listed under [Unreleased] ### Breaking"
