#!/usr/bin/env bash
# What the mini-cloud's tests need in it (see cloud-tier/py/gpu_cloud_tier/seed.py): one Python
# process with openstacksdk (python3-openstacksdk, a dependency of python3-openstackclient), each
# step finding before it creates. `seed.sh identity`: only what Keystone holds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state="$(dirname "$here")/.cloud-tier/cloud"
PYTHONPATH="$here/py" exec /usr/bin/python3 -m gpu_cloud_tier.seed "$state" "$@"
