#!/usr/bin/env bash
# Installs and starts libvirt + QEMU (software emulation) on a fresh Debian 12 machine without systemd.
# Idempotent: when qemu:///system already answers, nothing is done.
# Env: LENCAP_LOG_DIR (default /var/log/lencap), LENCAP_LIBVIRT_WAIT (seconds, default 180).
set -euo pipefail

LOG_DIR=${LENCAP_LOG_DIR:-/var/log/lencap}
WAIT=${LENCAP_LIBVIRT_WAIT:-180}
URI=qemu:///system
# qemu-block-extra: QEMU's own iSCSI initiator (block-iscsi), for guests whose disk is a LUN.
# libnbd0: the NBD client changed-block tracking reads frozen disk images and their dirty bitmaps through;
# libnbd-bin: nbdcopy, the reference NBD reader of VmTransferBench.
PACKAGES=(libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils qemu-block-extra libvirt0 libnbd0 libnbd-bin)

die() { echo "libvirt.sh: $*" >&2; exit 1; }
answers() { timeout 20 virsh -q -c "$URI" version >/dev/null 2>&1; }
# This host's own daemon of that name: host B's (scripts/setup/hostb.sh) runs under the same name, with its
# paths under /var/lib/lencap/hostb in its command line.
own() {
  local p
  for p in $(pgrep -x "$1" || true); do
    grep -qa 'lencap/hostb' "/proc/$p/cmdline" 2>/dev/null || echo "$p"
  done
}

[ "$(id -u)" -eq 0 ] || die "must run as root (installs packages, starts libvirtd)"

. "$(dirname "$0")/packages.sh"
# libvirt is installed with its recommended packages.
APT_INSTALL_OPTS= install_missing libvirt.sh "${PACKAGES[@]}" || die "could not install ${PACKAGES[*]}"

if answers; then
  echo "libvirt.sh: $URI already answers"
  exit 0
fi

mkdir -p "$LOG_DIR" /run/libvirt
if [ -z "$(own virtlogd)" ]; then
  echo "libvirt.sh: starting virtlogd"
  virtlogd -d >>"$LOG_DIR/virtlogd.log" 2>&1 || die "virtlogd did not start (see $LOG_DIR/virtlogd.log)"
fi

# The first answer takes several seconds while QEMU's capabilities are probed. A libvirtd that is still
# shutting down (killed a moment ago) is waited for; once none runs, a new one is started.
deadline=$((SECONDS + WAIT))
starts=0
until answers; do
  if [ -z "$(own libvirtd)" ]; then
    [ $starts -lt 3 ] || die "libvirtd exited $starts times (see $LOG_DIR/libvirtd.log and $LOG_DIR/libvirtd.out)"
    echo "libvirt.sh: starting libvirtd"
    # libvirtd logs through its own outputs; send them to a file instead of syslog/journald.
    LIBVIRT_LOG_OUTPUTS="3:file:$LOG_DIR/libvirtd.log" \
      libvirtd -d >>"$LOG_DIR/libvirtd.out" 2>&1 || die "libvirtd did not start (see $LOG_DIR/libvirtd.out)"
    starts=$((starts + 1))
  fi
  if [ $SECONDS -ge $deadline ]; then
    die "$URI did not answer within ${WAIT}s (see $LOG_DIR/libvirtd.log)"
  fi
  sleep 0.5
done
echo "libvirt.sh: $URI ready ($(virsh -q -c "$URI" version | grep -m1 -i 'running hypervisor' || true))"
