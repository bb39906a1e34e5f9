#!/usr/bin/env bash
# boot.sh SCENARIO_DIR: one boot of a simulated GPU node with the real cloud-init.
#
# SCENARIO_DIR holds user-data (the user_data text of a synthesized stack), meta-data
# (NoCloud: instance-id; a new id is a new instance, e.g. one booted from a snapshot),
# hw-gpus (the GPUs the hypervisor passes through this boot, nvidia-smi CSV rows), and
# optionally kernel (the release this boot runs), env (settings for the stand-ins from
# the script tests' fakebin) and once/ (files moved into the chroot's /sim for this boot:
# power-loss-on, lists-lock-for; see standins/apt-get).
# The first boot copies the cached chroot (build-chroot.sh) to SCENARIO_DIR/root; later
# boots reuse it, so a reboot is the same sequence again on the same disk.
# A boot: the four cloud-init stages, then the units the recipe enabled, as systemd
# would run them (systemd is not PID 1 in a chroot). Its console (a plain file bound
# over /dev/console) is SCENARIO_DIR/console-N.log, everything else boot-N.log.
# Units run only where systemd would start them: systemd-analyze verify (the host's systemd) builds the
# boot's transaction from the chroot's unit files, and a job it deletes to break an ordering cycle is not run.
# Prints "BOOT-SIM boot=N result=<ok|reboot|power-loss|unit-failed|ordering-cycle>" last.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
project=$(cd "$here/../.." && pwd)
dir=$(cd "${1:?usage: boot.sh SCENARIO_DIR}" && pwd)
cache=${BOOT_SIM_CACHE:-$project/.boot-sim}/rootfs
root=$dir/root
[ -f "$cache/.boot-sim-ready" ] || { echo "boot-sim: no cached chroot; run build-chroot.sh first" >&2; exit 3; }
command -v systemd-analyze >/dev/null || { echo "boot-sim: no systemd-analyze (apt-get install systemd): the boot order cannot be checked" >&2; exit 3; }

if [ ! -d "$root" ]; then
  cp -a "$cache" "$root.tmp" && mv "$root.tmp" "$root"
  # The recipe targets Ubuntu (NVIDIA's repo is picked by VERSION_ID); cloud-init keeps
  # Debian's own distro settings from /etc/cloud/cloud.cfg.
  rm -f "$root/etc/os-release"
  printf '%s\n' 'NAME="Ubuntu"' 'VERSION_ID="22.04"' 'VERSION_CODENAME=jammy' 'ID=ubuntu' 'ID_LIKE=debian' >"$root/etc/os-release"
  mkdir -p "$root/sim/fakebin" "$root/sim/bin" "$root/usr/local/sbin"
  cp -a "$project/__tests__/cloud-init/fixtures/fakebin/." "$root/sim/fakebin/"
  # Stand-ins for the GPU world, first on PATH; nvidia-smi, nvcc and nvidia-ctk appear
  # when their packages are "installed". cloud-init itself, bash and coreutils are real.
  cp -a "$here/standins/apt-get" "$here/standins/dpkg" "$here/standins/systemctl" "$here/standins/uname" \
    "$here/standins/python3" "$root/usr/local/sbin/"
  cp -a "$here/standins/nvidia-smi" "$here/standins/nvcc" "$here/standins/nvidia-container-cli" "$root/sim/bin/"
  cp -a "$here/standins/fake-wrap" "$root/sim/"
  for c in apt-cache apt-mark curl dkms dmesg gpg git make modinfo modprobe mokutil poweroff systemd-run usermod wall; do
    cp -a "$here/standins/fake-wrap" "$root/usr/local/sbin/$c"
  done
  # NoCloud only, and no network configuration (the chroot has the host's network).
  printf '%s\n' 'datasource_list: [ NoCloud, None ]' 'network: {config: disabled}' >"$root/etc/cloud/cloud.cfg.d/99-boot-sim.cfg"
  # pip from a local folder with a stand-in torch wheel (the example's user command).
  mkdir -p "$root/sim/wheels"
  printf '[global]\nno-index = true\nfind-links = /sim/wheels\n' >"$root/etc/pip.conf"
  chroot "$root" python3 - <<'WHEEL'
import base64, hashlib, zipfile
files = {
    "torch/__init__.py": "__version__ = '2.7.0'  # boot-sim stand-in\n",
    "torch-2.7.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: torch\nVersion: 2.7.0\n",
    "torch-2.7.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: boot-sim\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
def digest(text):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
record = "".join(f"{name},{digest(text)},{len(text.encode())}\n" for name, text in files.items())
record += "torch-2.7.0.dist-info/RECORD,,\n"
with zipfile.ZipFile("/sim/wheels/torch-2.7.0-py3-none-any.whl", "w") as z:
    for name, text in files.items():
        z.writestr(name, text)
    z.writestr("torch-2.7.0.dist-info/RECORD", record)
WHEEL
  echo 0 >"$root/sim/boots"
fi
# A boot starts with an empty /run and /tmp (tmpfs, systemd-tmpfiles), as on Ubuntu.
find "$root/run" "$root/tmp" -mindepth 1 -delete
mkdir -p "$root/run/lock"

n=$(( $(cat "$root/sim/boots") + 1 ))
echo "$n" >"$root/sim/boots"
seed=$root/var/lib/cloud/seed/nocloud
mkdir -p "$seed"
cp "$dir/user-data" "$seed/user-data"
cp "$dir/meta-data" "$seed/meta-data"
cp "$dir/hw-gpus" "$root/sim/hw-gpus"
# The PCI bus of this boot as sysfs shows it (the chroot has no /sys mounted): a chipset, and one
# NVIDIA device (vendor 0x10de) per GPU passed through.
rm -rf "$root/sys/bus/pci" && mkdir -p "$root/sys/bus/pci/devices/0000:00:01.0"
echo 0x8086 >"$root/sys/bus/pci/devices/0000:00:01.0/vendor"
i=0
while IFS= read -r _; do
  mkdir -p "$root/sys/bus/pci/devices/0000:00:$(printf %02x $((5 + i))).0"
  echo 0x10de >"$root/sys/bus/pci/devices/0000:00:$(printf %02x $((5 + i))).0/vendor"
  i=$((i + 1))
done <"$dir/hw-gpus"
if [ -f "$dir/env" ]; then cp "$dir/env" "$root/sim/env"; else rm -f "$root/sim/env"; fi
if [ -f "$dir/kernel" ]; then cp "$dir/kernel" "$root/sim/kernel"; fi
if [ -d "$dir/once" ]; then cp -a "$dir/once/." "$root/sim/" && rm -rf "$dir/once"; fi
rm -f "$root/sim/reboot-requested"
console=$dir/console-$n.log
log=$dir/boot-$n.log
: >"$console"
[ -e "$root/dev/console" ] || : >"$root/dev/console"

cleanup() {
  umount "$root/dev/console" 2>/dev/null || true
  umount "$root/proc/sys/kernel/random/boot_id" 2>/dev/null || true
  umount "$root/proc" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 143' TERM INT # so that a killed boot still unmounts
mount --bind "$console" "$root/dev/console"
mount -t proc proc "$root/proc"
# A boot id of this boot's own, as the kernel gives each boot one (status.json records it).
cat /proc/sys/kernel/random/uuid >"$dir/boot-id-$n"
mount --bind "$dir/boot-id-$n" "$root/proc/sys/kernel/random/boot_id"

in_root() {
  chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
}
{
  echo "== boot $n: $(grep instance-id "$dir/meta-data")"
  for stage in "init --local" "init" "modules --mode config" "modules --mode final"; do
    echo "== cloud-init $stage"
    # shellcheck disable=SC2086 # the stage's words
    in_root cloud-init $stage || echo "== cloud-init $stage exited $?"
  done
} >>"$log" 2>&1

result=ok
# systemd's ordering (systemd is not PID 1 here): the real systemd-analyze builds this boot's start
# transaction (multi-user.target) from the chroot's unit files, with cloud-init.target linked into it as
# cloud-init-generator does, the host's systemd units last. A start job it deletes to break an ordering
# cycle is not run, as at a real boot, and the boot's result says so.
gen=$dir/generator
rm -rf "$gen" && mkdir -p "$gen/multi-user.target.wants"
ln -s /lib/systemd/system/cloud-init.target "$gen/multi-user.target.wants/cloud-init.target"
order=$(SYSTEMD_UNIT_PATH="$gen:$root/etc/systemd/system:$root/lib/systemd/system:" \
  systemd-analyze verify --man=no multi-user.target 2>&1) || true
rm -rf "$gen"
deleted=$(printf '%s\n' "$order" | sed -n 's|.*Job \([^/ ]*\)/start deleted to break ordering cycle.*|\1|p')
printf '%s\n' "$order" | grep 'ordering cycle' | sed 's/^/== systemd: /' >>"$log" || true
# Whichever job systemd deletes (not fixed: ours, or cloud-final's), the boot is not the one asked for.
[ -z "$deleted" ] || result='ordering-cycle'

# The units the recipe installed and enabled (in /etc/systemd/system, not a package's),
# each run as systemd runs ExecStart: no environment, output to the console, own session.
for link in "$root"/etc/systemd/system/multi-user.target.wants/*.service; do
  [ -L "$link" ] || continue
  unit=$(readlink "$link")
  case $unit in /etc/systemd/system/*) ;; *) continue ;; esac
  if printf '%s\n' "$deleted" | grep -qxF "${unit##*/}"; then
    echo "== unit ${unit##*/}: not run, systemd deleted its start job to break an ordering cycle" >>"$log"
    result='ordering-cycle'
    continue
  fi
  exec_start=$(sed -n 's/^ExecStart=//p' "$root$unit" | head -n1)
  echo "== unit ${unit##*/}: $exec_start" >>"$log"
  rc=0
  # shellcheck disable=SC2086 # ExecStart's words
  in_root setsid --wait $exec_start >>"$console" 2>&1 || rc=$?
  echo "== unit ${unit##*/} exited $rc" >>"$log"
  # The apt-get stand-in cut the power mid-install (killed the unit's session).
  if [ -e "$root/sim/power-lost" ]; then rm -f "$root/sim/power-lost"; result='power-loss'; break; fi
  [ "$rc" = 0 ] || result='unit-failed'
done
# What the units scheduled with systemd-run (the seal's cleanup), once they are done.
if [ "$result" = ok ] && [ -f "$root/sim/systemd-run.cmd" ]; then
  cmd=$(cat "$root/sim/systemd-run.cmd")
  rm -f "$root/sim/systemd-run.cmd"
  echo "== systemd-run unit: $cmd" >>"$log"
  rc=0
  in_root setsid --wait bash -c "$cmd" >>"$console" 2>&1 || rc=$?
  echo "== systemd-run unit exited $rc" >>"$log"
  [ "$rc" = 0 ] || result='unit-failed'
fi
[ ! -e "$root/sim/reboot-requested" ] || result=reboot
echo "BOOT-SIM boot=$n result=$result"
