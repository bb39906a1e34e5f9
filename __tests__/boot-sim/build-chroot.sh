#!/usr/bin/env bash
# Builds (once) the Debian bookworm chroot the boot simulator copies per scenario:
# debootstrap --variant=minbase, then the real cloud-init inside with apt.
# Cached in .boot-sim/rootfs (git-ignored): a cache with the same package list is
# reused as is; one with another list gets the missing packages installed.
# Exits 3 with a printed reason where this machine cannot build one (not root, no debootstrap).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root_dir=$(cd "$here/../.." && pwd)
cache=${BOOT_SIM_CACHE:-$root_dir/.boot-sim}
rootfs=$cache/rootfs
mirror=${BOOT_SIM_MIRROR:-http://deb.debian.org/debian}
# cloud-init (the subject) with python3 and iproute2; what an Ubuntu cloud image also has
# and cloud-init's modules use: locales (cc_locale), openssh-client (ssh-keygen for host keys).
# python3-venv: the example's user commands make a venv (the recipe asks apt for it, which
# the simulator's apt-get stand-in only records).
packages=(cloud-init python3 iproute2 ca-certificates locales openssh-client python3-venv)

if [ "$(id -u)" != 0 ]; then echo "boot-sim: skipped: needs root for debootstrap/chroot" >&2; exit 3; fi
if ! command -v debootstrap >/dev/null; then echo "boot-sim: skipped: debootstrap not installed (apt-get install debootstrap)" >&2; exit 3; fi

marker=".boot-sim-ready"
# en_US.UTF-8 generated, as on Ubuntu's cloud images: cc_locale sets it, and Debian's
# locale-gen (unlike Ubuntu's) ignores the locale cloud-init names.
locale=en_US.UTF-8
want="packages: ${packages[*]}; locale: $locale"
if [ -f "$rootfs/$marker" ] && [ "$(cat "$rootfs/$marker")" = "$want" ]; then
  echo "boot-sim: reusing cached chroot $rootfs"
  exit 0
fi
start=$(date +%s)
mkdir -p "$cache"
if [ -f "$rootfs/$marker" ]; then
  # Another package list: add to the finished chroot instead of bootstrapping again.
  work=$rootfs
else
  work=$rootfs.tmp
  rm -rf "$work"
  debootstrap --variant=minbase bookworm "$work" "$mirror"
fi
cleanup() { umount "$work/proc" 2>/dev/null || true; }
trap cleanup EXIT
mount -t proc proc "$work/proc"
# No daemons start inside the chroot while packages install.
printf '#!/bin/sh\nexit 101\n' >"$work/usr/sbin/policy-rc.d"
chmod 0755 "$work/usr/sbin/policy-rc.d"
in_root() { chroot "$work" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
in_root apt-get -qq update
in_root apt-get -qq -o Dpkg::Use-Pty=0 install -y --no-install-recommends "${packages[@]}" >/dev/null
in_root apt-get clean
sed -i "s/^# *\($locale .*\)/\1/" "$work/etc/locale.gen"
in_root locale-gen >/dev/null
umount "$work/proc"
trap - EXIT
in_root cloud-init --version
printf '%s\n' "$want" >"$work/$marker"
if [ "$work" != "$rootfs" ]; then rm -rf "$rootfs"; mv "$work" "$rootfs"; fi
echo "boot-sim: built $rootfs in $(( $(date +%s) - start )) s"
