# shellcheck shell=bash disable=SC2034  # sourced: the names are used by the scripts that source it
# The contract between the TypeScript library and the node's scripts, declared once here: the
# scripts and the watcher (assets/gpu-node-watch.sh) source it, `npm run gen` writes the TypeScript
# side from it (src/core/contract.generated.ts; the comments above a name become its doc there).
# Only comments and NAME="value" lines (no $, backslash or quote in a value); a name ending in
# _VARS, _KEYS, _STEPS or _RELEASES is a list. To add a variable, see cloud-init/README.md.

# Every variable the recipe writes to recipe.env, on every node, in this order; lib/gpu-node-common.sh
# checks them with gpu_require_vars (lib/gpu-node-vars.sh) instead of defaulting.
GPU_NODE_REQUIRED_VARS="GPU_NODE_RECIPE_NAME GPU_NODE_RECIPE_KEY GPU_NODE_USER GPU_NODE_DRIVER_BRANCH GPU_NODE_DRIVER_FLAVOR GPU_NODE_CUDA_VERSION GPU_NODE_CONTAINER_TOOLKIT_VERSION GPU_NODE_CONTAINER_TOOLKIT GPU_NODE_FABRIC_MANAGER GPU_NODE_PACKAGES GPU_NODE_BURN_SECONDS GPU_NODE_EXPECTED_GPUS GPU_NODE_EXPECTED_MODEL GPU_NODE_COMPUTE_CAPABILITY GPU_NODE_LIFETIME_HOURS GPU_NODE_WARN_HOURS GPU_NODE_IDLE_SHELVE_HOURS GPU_NODE_STEPS"

# Every variable src/slurm/slurm-config.ts writes to a Slurm node's cluster.env, in this order (empty
# where unused); slurm/slurm-cluster-lib.sh checks them with gpu_require_vars.
GPU_CLUSTER_REQUIRED_VARS="SLURM_CLUSTER_NAME SLURM_CLUSTER_HEAD SLURM_CLUSTER_HEAD_ADDRESS SLURM_CLUSTER_CONF_DIR SLURM_CLUSTER_SHARE_DIR SLURM_CLUSTER_SHARED_DIR SLURM_CLUSTER_WORKERS SLURM_CLUSTER_WORKER_ADDRESSES SLURM_CLUSTER_PARTITIONS SLURM_CLUSTER_READY_TIMEOUT SLURM_CLUSTER_POWER_SAVING SLURM_CLUSTER_OS_CLOUD SLURM_CLUSTER_OS_CONFIG SLURM_CLUSTER_RESUME_TIMEOUT SLURM_CLUSTER_SUSPEND_TIMEOUT"

# Where the node's scripts, recipe.env, log, and a Slurm node's scripts and cluster.env are.
GPU_NODE_INSTALL_DIR="/opt/gpu-node"
GPU_NODE_CONFIG_FILE="/etc/gpu-node/recipe.env"
GPU_NODE_RECIPE_LOG="/var/log/gpu-node/recipe.log"
GPU_CLUSTER_BIN_DIR="/opt/gpu-cluster/bin"
GPU_CLUSTER_ENV_FILE="/etc/gpu-cluster/cluster.env"

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
# Below GPU_NODE_PROPERTY_PREFIX: the server metadata keys of every node (the last two with a
# lifetime; they count against Nova's 128 items), of a snapshot's builder, and a baked image's
# properties (the watcher sets recipe_key and baked_at).
GPU_NODE_METADATA_KEYS="recipe_name recipe_key gpus started_at lifetime_hours shelve_at"
GPU_NODE_BUILDER_METADATA_KEYS="recipe_key role subnet"
GPU_NODE_IMAGE_PROPERTY_KEYS="recipe_name driver cuda container_toolkit base_image gpus recipe_key baked_at"
# The server metadata keys of an idle-shelve node's credential (steps/idle-shelve.sh).
GPU_NODE_IDLE_METADATA_PREFIX="gpu_node_idle_os_"
# A Slurm cluster's server metadata: each node's address (prefix and node name; @<key>@ in the
# rendered files until the boot), and the head's power saving credential.
GPU_CLUSTER_ADDRESS_METADATA_PREFIX="gpu_cluster_address_"
GPU_CLUSTER_OS_METADATA_PREFIX="gpu_cluster_os_"
# A credential's keys below those prefixes (region only where given).
GPU_NODE_CREDENTIAL_METADATA_KEYS="auth_url region credential_id credential_secret"

# An entry of GPU_NODE_PACKAGES (name, :arch, =version), checked at synth and by steps/packages.sh:
# a regular expression that each side anchors.
GPU_NODE_PACKAGE_PATTERN="[a-z0-9][a-z0-9+.-]+(:[a-z0-9][a-z0-9-]*)?(=[A-Za-z0-9.+:~-]+)?"

# Ubuntu releases (VERSION_ID) the recipe installs on (NVIDIA catalog: src/cloud/gpu-software-matrix.ts).
GPU_NODE_UBUNTU_RELEASES="22.04 24.04"

# Steps that check this boot's state and so run at every boot (the others run until they succeed once).
GPU_NODE_EVERY_BOOT_STEPS="nvidia-driver lifetime ready-check"
# Install steps whose work a baked image keeps: the seal keeps their done markers, so a node
# booted from the image skips them (burn-in and the checks run again per instance).
GPU_NODE_IMAGE_STEPS="cuda-toolkit container-toolkit fabric-manager packages user-commands"
