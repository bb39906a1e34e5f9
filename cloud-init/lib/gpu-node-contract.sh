# shellcheck shell=bash disable=SC2034  # sourced: the names are used by the scripts that source it
# The contract between the TypeScript library and the node's scripts, declared once here.
# lib/gpu-node-common.sh sources this file on the node; src/core/node-contract.ts parses it at
# synth time, and the deploy-side watcher (assets/gpu-node-watch.sh) sources it as an asset.
# Only comments, blank lines and NAME="value" lines (no $, backslash or quote in a value): the TS
# parser refuses anything else. To add a recipe variable: add it to GPU_NODE_REQUIRED_VARS and
# write it in src/recipe/recipe-render.ts (a test fails until both agree); see cloud-init/README.md.

# Every variable the recipe writes to /etc/gpu-node/recipe.env, on every node, in this order.
# gpu_require_vars (lib/gpu-node-common.sh) fails a script that lacks one instead of defaulting.
GPU_NODE_REQUIRED_VARS="GPU_NODE_RECIPE_NAME GPU_NODE_RECIPE_KEY GPU_NODE_USER GPU_NODE_DRIVER_BRANCH GPU_NODE_DRIVER_FLAVOR GPU_NODE_CUDA_VERSION GPU_NODE_CONTAINER_TOOLKIT_VERSION GPU_NODE_CONTAINER_TOOLKIT GPU_NODE_FABRIC_MANAGER GPU_NODE_PACKAGES GPU_NODE_BURN_SECONDS GPU_NODE_EXPECTED_GPUS GPU_NODE_EXPECTED_MODEL GPU_NODE_COMPUTE_CAPABILITY GPU_NODE_LIFETIME_HOURS GPU_NODE_WARN_HOURS GPU_NODE_IDLE_SHELVE_HOURS GPU_NODE_STEPS"

# The first word of each console line the scripts print and the watcher reads (cloud-init/README.md, "Console lines").
GPU_NODE_MARK_READY="GPU-NODE-READY"
GPU_NODE_MARK_FAILED="GPU-NODE-FAILED"
# A node the health check (bin/gpu-node-health) found in need of a GPU reset soon.
GPU_NODE_MARK_DEGRADED="GPU-NODE-DEGRADED"
GPU_NODE_MARK_REBOOTING="GPU-NODE-REBOOTING"
# Printed by bin/gpu-node-idle before the node shelves itself.
GPU_NODE_MARK_IDLE_SHELVE="GPU-NODE-IDLE-SHELVE"
GPU_NODE_MARK_SEALING="GPU-NODE-SEALING"
GPU_NODE_MARK_SEALED="GPU-NODE-SEALED"
# The reason prefix of the health check's Slurm drains (gpu_slurm_drain): only those are lifted by the check, and by
# slurm-suspend at a power saving shelve.
GPU_NODE_HEALTH_DRAIN_PREFIX="gpu-node health"
GPU_CLUSTER_MARK_READY="GPU-CLUSTER-READY"
GPU_CLUSTER_MARK_FAILED="GPU-CLUSTER-FAILED"

# Baked images: the tag that finds them (prefix + recipe key) and the prefix of the image
# properties and server metadata keys the library writes.
GPU_NODE_IMAGE_TAG_PREFIX="gpu-node-recipe-"
GPU_NODE_PROPERTY_PREFIX="gpu_node_"
# The server metadata keys of an idle-shelve node's credential (steps/idle-shelve.sh).
GPU_NODE_IDLE_METADATA_PREFIX="gpu_node_idle_os_"

# Ubuntu releases (VERSION_ID) the recipe installs on (NVIDIA catalog: src/cloud/gpu-software-matrix.ts).
GPU_NODE_UBUNTU_RELEASES="22.04 24.04"

# Steps that check this boot's state and so run at every boot (the others run until they succeed once).
GPU_NODE_EVERY_BOOT="nvidia-driver lifetime ready-check"
# Install steps whose work a baked image keeps: the seal keeps their done markers, so a node
# booted from the image skips them (burn-in and the checks run again per instance).
GPU_NODE_IMAGE_STEPS="cuda-toolkit container-toolkit fabric-manager packages user-commands"
