#!/usr/bin/env bash
# Test helper (root): starts munged, slurmctld and slurmd on 127.0.0.1 with the configuration in
# $1 (rendered by src/slurm/slurm-config.ts with sandbox paths, ports and plugins), runs the
# checks the test asserts on, prints them as KEY=VALUE lines, and always stops the daemons.
# Usage: real-slurm.sh DIR WORKER [power]; with "power", the power saving checks instead (see below).
set -euo pipefail
dir=$1 worker=$2 mode=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
# The runner's library of this checkout, next to the node contract the Slurm scripts read their markers from.
export SLURM_CLUSTER_NODE_LIB="$here/../../cloud-init/node/lib/gpu-node-common.sh"
# shellcheck source-path=SCRIPTDIR source=../../cloud-init/slurm/slurm-cluster-lib.sh
SLURM_CLUSTER_ENV="$dir/etc/cluster.env" SLURM_CLUSTER_LOG="$dir/cluster.log" . "$here/../../cloud-init/slurm/slurm-cluster-lib.sh"

pids=()
stop() {
  local p
  # slurmd of the power checks is started by the resume stand-in: its pid file names it. It inherits slurmctld's
  # blocked signals and ignores a TERM, so KILL.
  if [ -s "$dir/log/slurmd.pid" ]; then kill -KILL "$(cat "$dir/log/slurmd.pid")" 2>/dev/null || true; fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  # What the daemons started and may still run (a health check, a power program): their stand-ins live in the sandbox.
  pkill -KILL -f "$dir/(health|power)/" 2>/dev/null || true
}
trap stop EXIT

export SLURM_CONF="$dir/etc/slurm.conf"
# As on an existing network: the addresses are placeholders until the boot puts in the server
# metadata's (here SLURM_CLUSTER_INSTANCE_DATA, set by the test).
slurm_resolve_addresses "$dir/etc/slurm.conf" "$dir/etc/nodes.conf.in" "$dir/etc/cluster.env"
# What the worker's setup does at boot: report its hardware; the head composes nodes.conf from it.
mkdir -p "$dir/reports"
slurmd -C >"$dir/reports/$worker.hw"
slurm_compose_nodes "$dir/etc/nodes.conf.in" "$dir/reports" "$dir/etc/nodes.conf"
echo "NODES_CONF=$(grep '^NodeName=' "$dir/etc/nodes.conf")"

# munge: a fresh key for this run, its own socket (no clash with a munged the machine may run).
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 0400 "$dir/munge/munge.key"
munged --force -S "$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/seed"
pids+=("$(cat "$dir/munge/munged.pid")")

slurmctld -D -f "$SLURM_CONF" >"$dir/log/slurmctld.out" 2>&1 &
pids+=("$!")
slurmd -D -N "$worker" -f "$SLURM_CONF" >"$dir/log/slurmd.out" 2>&1 &
pids+=("$!")

state=''
for _ in $(seq 1 60); do
  state=$(sinfo -N -h -n "$worker" -o '%t %G' 2>/dev/null || true)
  case $state in idle\ *) break ;; esac
  sleep 0.5
done
echo "SINFO=$state"

# wait_node PATTERN: until the worker's `sinfo -N -o '%t|%E'` matches (or 120 polls); prints the last one.
wait_node() {
  local s=''
  for _ in $(seq 1 120); do
    s=$(sinfo -N -h -n "$worker" -o '%t|%E' 2>/dev/null || true)
    # shellcheck disable=SC2053  # a glob on purpose
    [[ $s == $1 ]] && break
    sleep 0.5
  done
  printf '%s' "$s"
}
gpu='NVIDIA GeForce RTX 2080 Ti, 580.95.05'

if [ "$mode" = power ]; then
  # Power saving with the real slurmctld running our slurm-suspend/slurm-resume (through the stand-ins
  # in $dir/power, which give them the sandbox's environment, as slurmctld passes almost none): the
  # "shelve" stops slurmd, the "unshelve" starts it with -b (a new boot time, as Slurm wants from a
  # resumed node). The openstack CLI is the stand-in of __tests__/cloud-init/fixtures/slurm-fakebin.
  # wait_state PATTERN: until sinfo's long state of the worker matches (or 60 tries).
  wait_state() {
    local s=''
    for _ in $(seq 1 120); do
      s=$(sinfo -N -h -n "$worker" -o '%T' 2>/dev/null || true)
      # shellcheck disable=SC2053  # a glob on purpose
      [[ $s == $1 ]] && break
      sleep 0.5
    done
    printf '%s' "$s"
  }
  # wait_for N CMD...: until CMD succeeds (or N polls); its status.
  wait_for() {
    local n=$1
    shift
    for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.5; done
    return 1
  }
  node() { sinfo -N -h -n "$worker" -o '%t|%E'; }
  calls() { grep -c "^$1 " "$dir/log/programs.log" || true; }
  # shellcheck disable=SC2317  # called through wait_for
  suspends_ended() { [ "$(calls 'end suspend')" -ge "$(calls suspend)" ]; }
  # shellcheck disable=SC2317  # called through wait_for
  judged() { [ "$(squeue -h -j "$1" -o %r)" != None ]; }
  # shellcheck disable=SC2317  # called through wait_for
  running() { [ "$(squeue -h -j "$1" -o %T)" = RUNNING ]; }
  # 1. An administrator's drain, set under a job: once idle the worker is shelved all the same (Slurm 22.05 suspends
  # drained nodes), and stays drained: a job waits for it, runs only after the administrator resumes it.
  # The job runs until we release it, so the drain is set under it however slow the machine is.
  job=$(sbatch --parsable -N 1 -o "$dir/log/slurm-%j.out" --wrap "until [ -e '$dir/release.1' ]; do sleep 0.2; done")
  wait_for 120 running "$job" || true
  scontrol update NodeName="$worker" State=DRAIN Reason=maintenance
  echo "DRAINED_BUSY=$(node)"
  touch "$dir/release.1"
  echo "ADMIN_SHELVED=$(wait_state 'drain*~')"
  wait_for 60 grep -qs "$worker: SHELVED_OFFLOADED" "$dir/log/power.log" || true
  # ... and slurm-suspend has ended (its stand-in logs "end suspend").
  wait_for 60 suspends_ended || true
  echo "ADMIN_AFTER_SHELVE=$(node)|$(scontrol show node "$worker" | grep -o ' State=[^ ]*' | tr -d ' ')"
  job=$(sbatch --parsable -N 1 --gres=gpu:1 -o "$dir/log/slurm-%j.out" --wrap 'printenv CUDA_VISIBLE_DEVICES')
  # The scheduler's verdict on it: pending with a reason (not the first "None").
  wait_for 60 judged "$job" || true
  echo "ADMIN_JOB=$(squeue -h -j "$job" -o '%T %r')|$(node)"
  echo "ADMIN_RESUME_CALLS=$(calls resume)"
  scontrol update NodeName="$worker" State=RESUME
  wait_for 120 test -s "$dir/log/slurm-$job.out" || true
  echo "ADMIN_RESUMED_JOB=$(cat "$dir/log/slurm-$job.out" 2>/dev/null)|$(calls resume)"
  # 2. Our health check's drain (one GPU lost under a job): lifted at the shelve; the next job unshelves the worker
  # and (a new host, both GPUs) runs there.
  job=$(sbatch --parsable -N 1 -o "$dir/log/slurm-%j.out" --wrap "until [ -e '$dir/release.2' ]; do sleep 0.2; done")
  wait_for 120 running "$job" || true
  printf '%s\n' "$gpu" >"$dir/health/gpus"
  echo "HEALTH_DRAINED=$(wait_node 'drng|gpu-node health*')"
  touch "$dir/release.2"
  echo "SUSPENDED=$(wait_state 'idle~')"
  echo "HEALTH_AFTER_SHELVE=$(node)|$(scontrol show node "$worker" | grep -o ' State=[^ ]*' | tr -d ' ')"
  printf '%s\n%s\n' "$gpu" "$gpu" >"$dir/health/gpus"
  echo "SUSPEND_CALLS=$(calls suspend)"
  echo "JOB=$(timeout 60 srun -N 1 --gres=gpu:1 printenv CUDA_VISIBLE_DEVICES 2>&1 | tr '\n' ' ')"
  echo "RESUME_CALLS=$(calls resume)"
  echo "SHELVE_UNSHELVE=$(grep -o 'server [a-z]*shelve [a-z0-9-]*' "$dir/fake/calls.log" | tr '\n' ',')"
  # 3. No free GPU host the next time: Nova leaves the server shelved and records the unshelve as "Error".
  echo "SUSPENDED_AGAIN=$(wait_state 'idle~')"
  printf 'SHELVED_OFFLOADED unshelving\nSHELVED_OFFLOADED none\n' >"$dir/fake/server.$worker.after-unshelve"
  printf 'req-9 unshelve\n' >"$dir/fake/events.$worker"
  printf 'Error\n' >"$dir/fake/event.req-9"
  job=$(sbatch --parsable -N 1 --gres=gpu:1 -o "$dir/log/slurm-%j.out" --wrap 'printenv CUDA_VISIBLE_DEVICES')
  echo "DOWN=$(wait_state 'down*')"
  echo "REASON=$(sinfo -h -N -n "$worker" -o '%E')"
  echo "JOB_STATE=$(squeue -h -j "$job" -o '%T %r')"
  # A GPU free again: after slurmctld's ResumeTimeout (30 s here) slurm-resume makes the node idle and shelved, and
  # a job that needs it unshelves it and runs there. (A new job: the requeued one waits for its BeginTime, which Slurm
  # sets 2 minutes after a requeue.)
  printf 'ACTIVE none\n' >"$dir/fake/server.$worker.after-unshelve"
  echo "RETRY_IDLE=$(wait_for 240 grep -qs "$worker: idle and shelved again" "$dir/log/power.log" && echo yes)|$(node)"
  echo "RETRIED_JOB=$(timeout 90 srun -N 1 --gres=gpu:1 printenv CUDA_VISIBLE_DEVICES 2>&1 | tr '\n' ' ')|$(calls resume)"
  echo "RETRY_UNSHELVES=$(grep -c 'server unshelve' "$dir/fake/calls.log")"
  # 4. A shelve that Nova refuses (409: e.g. a snapshot of the server running): the server and its slurmd keep running;
  # slurm-suspend sets the node DOWN with the cloud's answer and slurmctld counts it powered down, so no job gets it.
  printf '1\n' >"$dir/fake/shelve.$worker.rc"
  printf 'Conflict: Cannot shelve instance while it is in task_state image_uploading (HTTP 409)\n' >"$dir/fake/shelve.$worker.out"
  # more FILE PATTERN N: FILE has more than N lines matching PATTERN.
  # shellcheck disable=SC2317  # called through wait_for
  more() { [ "$(grep -c "$2" "$1" 2>/dev/null)" -gt "$3" ]; }
  shelves=$(grep -c 'server shelve' "$dir/fake/calls.log")
  echo "REFUSED=$(wait_state 'down~')|$(sinfo -h -N -n "$worker" -o '%E')"
  rm -f "$dir/fake/shelve.$worker.rc" "$dir/fake/shelve.$worker.out"
  # The worker's health timer (bin/gpu-node-health) finds itself running while counted powered down and restarts
  # slurmd; its registration brings the node back, and its next idle spell shelves it, the cloud agreeing this time.
  responding=$(grep -c "Node $worker now responding" "$dir/log/slurmctld.log" || true)
  bash "$dir/health/timer-run" || true
  echo "REREGISTERED=$(wait_for 60 more "$dir/log/slurmctld.log" "Node $worker now responding" "$responding" && echo yes)|$(tr '\n' ',' <"$dir/log/timer-systemctl.log" 2>/dev/null)"
  echo "SHELVED_AGAIN=$(wait_for 120 more "$dir/fake/calls.log" 'server shelve' "$((shelves + 1))" && wait_state 'idle~')|$(node)"
  exit 0
fi
echo "CUDA=$(timeout 30 srun -N 1 --gres=gpu:2 printenv CUDA_VISIBLE_DEVICES 2>&1 | tail -n 1)"
timeout 30 srun -N 1 --gres=gpu:2 env >"$dir/log/job.env" 2>&1 || true
# The torchrun environment of profile.d, inside a real job step.
torchrun_env="$here/../../cloud-init/slurm/gpu-cluster-torchrun.sh"
# shellcheck disable=SC2016  # expanded by the job step's bash, not here
echo "TORCHRUN=$(timeout 30 srun -N 1 --gres=gpu:2 bash -c '. "$1"; echo "$MASTER_ADDR $MASTER_PORT $NNODES $NODE_RANK $NPROC_PER_NODE"' _ "$torchrun_env" 2>&1 | tail -n 1)"
set +e
too_many=$(timeout 30 srun -N 1 --gres=gpu:3 true 2>&1)
echo "TOO_MANY_RC=$?"
set -e
echo "TOO_MANY=$(printf '%s' "$too_many" | tr '\n' ' ')"
# The head's readiness logic against the real daemons (nvidia-smi is a stand-in on PATH).
set +e
ready=$(PATH="$dir/fakebin:$PATH" SLURM_CLUSTER_ENV="$dir/etc/cluster.env" SLURM_CLUSTER_POLL=1 \
  SLURM_CLUSTER_CONSOLE=/dev/null bash "$here/../../cloud-init/slurm/slurm-cluster-ready" 2>>"$dir/log/ready.err")
echo "READY_RC=$?"
set -e
echo "READY=$ready"

# HealthCheckProgram: the real slurmd runs our slurm-health-check (through the stand-in $dir/health/slurm-health-check,
# which gives it the sandbox's environment: the node's recipe.env and status.json of this "boot", an nvidia-smi
# listing $dir/health/gpus) every HealthCheckInterval (2 s here). slurmd names the node (SLURMD_NODENAME).
h=$dir/health
runs() { local n; n=$(grep -c '^health ' "$dir/log/health-runs.log" 2>/dev/null) || true; printf '%s' "${n:-0}"; }
# wait_runs N: until slurmd has run the program N more times (or 120 polls); prints how many it did.
wait_runs() {
  local from
  from=$(runs)
  for _ in $(seq 1 120); do
    [ "$(runs)" -ge $((from + $1)) ] && break
    sleep 0.5
  done
  printf '%s' $(($(runs) - from))
}
echo "HEALTH_FIRST=$(head -n 1 "$dir/log/health-runs.log" 2>/dev/null)"
echo "HEALTH_STEADY=$(wait_runs 2)|$(sinfo -N -h -n "$worker" -o '%t|%E')"
printf '%s\n' "$gpu" >"$h/gpus"
echo "HEALTH_LOST=$(wait_node 'drain|gpu-node health*')"
printf '%s\n%s\n' "$gpu" "$gpu" >"$h/gpus"
echo "HEALTH_BACK=$(wait_node 'idle|none')"
# An administrator's drain: kept while the GPUs pass, and while they fail (its reason is not replaced).
scontrol update NodeName="$worker" State=DRAIN Reason=maintenance
echo "HEALTH_ADMIN=$(wait_runs 2)|$(sinfo -N -h -n "$worker" -o '%t|%E')"
printf '%s\n' "$gpu" >"$h/gpus"
echo "HEALTH_ADMIN_FAILING=$(wait_runs 2)|$(sinfo -N -h -n "$worker" -o '%t|%E')"
echo "HEALTH_STATUS=$(cat "$h/state/status.json")"
# The GPUs back, checked (two runs: one may have started before), then the admin resumes the node.
printf '%s\n%s\n' "$gpu" "$gpu" >"$h/gpus"
wait_runs 2 >/dev/null
scontrol update NodeName="$worker" State=RESUME
echo "HEALTH_ADMIN_RESUMED=$(wait_node 'idle|none')"
# An administrator's DOWN on a worker whose slurmd answers: slurmctld itself returns it to service at slurmd's
# next answer (ReturnToService=2, which power saving needs), and only then, the GPUs failing, the check drains it.
printf '%s\n' "$gpu" >"$h/gpus"
scontrol update NodeName="$worker" State=DOWN Reason=hardware
echo "HEALTH_DOWN=$(wait_node 'drain|gpu-node health*')"
echo "HEALTH_DOWN_RETURNED=$(grep -c "node $worker returned to service" "$dir/log/slurmctld.log" || true)"
