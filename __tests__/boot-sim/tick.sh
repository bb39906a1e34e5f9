#!/usr/bin/env bash
# tick.sh SCENARIO_DIR: time passes on the running node of the last boot: each timer the recipe enabled
# (timers.target.wants in /etc/systemd/system) fires once, and systemd runs its service's ExecStart as
# boot.sh runs units (no environment, output to this boot's console, this boot's boot id).
# Prints "BOOT-SIM tick boot=N result=<ok|unit-failed>" last.
set -euo pipefail
dir=$(cd "${1:?usage: tick.sh SCENARIO_DIR}" && pwd)
root=$dir/root
n=$(cat "$root/sim/boots")
console=$dir/console-$n.log
log=$dir/boot-$n.log
cleanup() {
  umount "$root/dev/console" 2>/dev/null || true
  umount "$root/proc/sys/kernel/random/boot_id" 2>/dev/null || true
  umount "$root/proc" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 143' TERM INT
mount --bind "$console" "$root/dev/console"
mount -t proc proc "$root/proc"
mount --bind "$dir/boot-id-$n" "$root/proc/sys/kernel/random/boot_id"
result=ok
for link in "$root"/etc/systemd/system/timers.target.wants/*.timer; do
  [ -L "$link" ] || continue
  timer=$(readlink "$link")
  case $timer in /etc/systemd/system/*) ;; *) continue ;; esac # the recipe's, not a package's (apt-daily)
  service=$root${timer%.timer}.service
  exec_start=$(sed -n 's/^ExecStart=//p' "$service" | head -n1)
  echo "== timer ${timer##*/}: $exec_start" >>"$log"
  rc=0
  # shellcheck disable=SC2086 # ExecStart's words
  chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    setsid --wait $exec_start >>"$console" 2>&1 || rc=$?
  echo "== timer ${timer##*/} exited $rc" >>"$log"
  [ "$rc" = 0 ] || result=unit-failed
done
echo "BOOT-SIM tick boot=$n result=$result"
