#!/usr/bin/env bash
# /etc/profile.d/gpu-cluster-torchrun.sh (sourced): inside a Slurm job, the environment torchrun needs
# for a multi-node run: the job's first node as rendezvous host, the node count and GPUs per node.
#   torchrun --nnodes="$NNODES" --nproc-per-node="$NPROC_PER_NODE" \
#     --rdzv-backend=c10d --rdzv-endpoint="$MASTER_ADDR:$MASTER_PORT" train.py
if [ -n "${SLURM_JOB_NODELIST:-}" ] && command -v scontrol >/dev/null 2>&1; then
  MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
  MASTER_PORT=${MASTER_PORT:-29500}
  NNODES=${SLURM_JOB_NUM_NODES:-1}
  # Slurm sets SLURM_GPUS_ON_NODE from the job's gpu GRES on this node.
  NPROC_PER_NODE=${SLURM_GPUS_ON_NODE:-1}
  export MASTER_ADDR MASTER_PORT NNODES NPROC_PER_NODE
fi
