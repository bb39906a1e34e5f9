#!/usr/bin/env bash
# /etc/profile.d/gpu-cluster-torchrun.sh (sourced): inside a Slurm job, the environment torchrun needs
# for a multi-node run: the job's first node as rendezvous host (by its Slurm NodeAddr, as the nodes'
# names need not resolve in DNS), the node count, this node's rank and the job's GPUs on this node.
#   srun -N 2 --gres=gpu:2 bash -c '. /etc/profile.d/gpu-cluster-torchrun.sh && torchrun \
#     --nnodes="$NNODES" --nproc-per-node="$NPROC_PER_NODE" --rdzv-id="$SLURM_JOB_ID" \
#     --rdzv-backend=c10d --rdzv-endpoint="$MASTER_ADDR:$MASTER_PORT" train.py'
if [ -n "${SLURM_JOB_NODELIST:-}" ] && command -v scontrol >/dev/null 2>&1; then
  MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
  # `scontrol -o show node N` prints one line of Key=Value fields, NodeAddr among them.
  _gpu_cluster_addr=$(scontrol -o show node "$MASTER_ADDR" 2>/dev/null | tr ' ' '\n' | sed -n 's/^NodeAddr=//p' | head -n 1)
  MASTER_ADDR=${_gpu_cluster_addr:-$MASTER_ADDR}
  unset _gpu_cluster_addr
  MASTER_PORT=${MASTER_PORT:-29500}
  NNODES=${SLURM_JOB_NUM_NODES:-1}
  NODE_RANK=${SLURM_NODEID:-0}
  # Slurm (21.08 and later) sets SLURM_GPUS_ON_NODE from the job's gpu GRES on this node.
  NPROC_PER_NODE=${SLURM_GPUS_ON_NODE:-1}
  export MASTER_ADDR MASTER_PORT NNODES NODE_RANK NPROC_PER_NODE
fi
