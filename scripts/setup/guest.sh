#!/usr/bin/env bash
# Builds the tiny counter guest used by tests, demos and benchmarks: Debian's 6.1 kernel plus a busybox
# initramfs whose /init prints "COUNTER n" on the serial console once a second and writes the same
# line into the first sector of /dev/vda. A cold boot continues from the value found in that sector
# (+1), or starts at 0; a guest restored from a memory image simply counts on from memory.
#
#   guest.sh                 build (cached) into $LENCAP_GUEST_DIR (default /var/lib/lencap/guest)
#   guest.sh define NAME     also create NAME's disk and console under $LENCAP_GUEST_DIR/vms/NAME and
#                            define the domain (not started) on $LENCAP_LIBVIRT_URI (qemu:///system)
#   guest.sh undefine NAME   destroy and undefine NAME (with snapshot/checkpoint metadata), delete files
set -euo pipefail

GUEST_DIR=${LENCAP_GUEST_DIR:-/var/lib/lencap/guest}
URI=${LENCAP_LIBVIRT_URI:-qemu:///system}
APT=(apt-get -o DPkg::Lock::Timeout=600 -y -q)
MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk)

die() { echo "guest.sh: $*" >&2; exit 1; }

# The guest's /init. Changing it changes the stamp and so triggers a rebuild.
INIT_SCRIPT='#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
for m in '"${MODULES[*]}"'; do insmod /lib/modules/$m.ko; done
i=0; while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
[ -b /dev/vda ] || { echo "LENCAP-GUEST no /dev/vda"; }
last=$(dd if=/dev/vda bs=512 count=1 2>/dev/null | tr -d "\000" | sed -n "s/^COUNTER \([0-9][0-9]*\)$/\1/p" | head -n 1)
if [ -n "$last" ]; then n=$((last + 1)); else n=0; fi
echo "LENCAP-GUEST BOOT start=$n"
while true; do
  echo "COUNTER $n"
  echo "COUNTER $n" | dd of=/dev/vda bs=512 count=1 conv=sync,notrunc,fsync 2>/dev/null
  n=$((n + 1))
  sleep 1
done'

kernel_package() {
  local dep
  dep=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-6\.1\.[^ ]*-amd64\)$/\1/p' | head -n 1)
  if [ -z "$dep" ]; then
    dep=$(apt-cache search --names-only '^linux-image-6\.1\.[0-9.]*-[0-9]*-amd64$' | awk '{print $1}' | sort -V | tail -n 1)
  fi
  echo "$dep"
}

build() {
  local pkg
  pkg=$(kernel_package)
  if [ -z "$pkg" ]; then
    "${APT[@]}" update >/dev/null || die "apt-get update failed"
    pkg=$(kernel_package)
  fi
  [ -n "$pkg" ] || die "no linux-image-6.1.*-amd64 package known to apt"
  local stamp
  stamp="$pkg $(apt-cache policy busybox-static | sed -n 's/^ *Candidate: //p') $(printf '%s' "$INIT_SCRIPT" | sha256sum | cut -c1-16)"
  if [ -f "$GUEST_DIR/vmlinuz" ] && [ -f "$GUEST_DIR/initrd.img" ] && [ "$(cat "$GUEST_DIR/.stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "guest.sh: guest up to date in $GUEST_DIR ($pkg)"
    return
  fi
  echo "guest.sh: building guest from $pkg into $GUEST_DIR"
  local work
  work=$(mktemp -d /tmp/lencap-guest.XXXXXX)
  trap 'rm -rf "$work"' RETURN
  # apt-get download runs as _apt; give it a directory it may write to.
  chown _apt "$work" 2>/dev/null || true
  (cd "$work" && "${APT[@]}" download "$pkg" busybox-static >/dev/null) || {
    "${APT[@]}" update >/dev/null || die "apt-get update failed"
    (cd "$work" && "${APT[@]}" download "$pkg" busybox-static >/dev/null) || die "apt-get download $pkg busybox-static failed"
  }
  mkdir "$work/k" "$work/b" "$work/root"
  dpkg-deb -x "$work"/linux-image-*.deb "$work/k"
  dpkg-deb -x "$work"/busybox-static_*.deb "$work/b"
  local kver
  kver=$(ls "$work/k/lib/modules" | head -n 1)
  local r="$work/root"
  mkdir -p "$r/bin" "$r/dev" "$r/proc" "$r/sys" "$r/lib/modules"
  cp "$work/b/bin/busybox" "$r/bin/busybox"
  for m in "${MODULES[@]}"; do
    local ko
    ko=$(find "$work/k/lib/modules/$kver" -name "$m.ko" | head -n 1)
    [ -n "$ko" ] || die "module $m.ko not found in $pkg"
    cp "$ko" "$r/lib/modules/"
  done
  printf '%s\n' "$INIT_SCRIPT" >"$r/init"
  chmod 755 "$r/init" "$r/bin/busybox"
  # busybox's own cpio writes the newc archive: no host cpio needed.
  (cd "$r" && find . | LC_ALL=C sort | "$work/b/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -9 >"$work/initrd.img")
  mkdir -p "$GUEST_DIR"
  chmod 755 "$GUEST_DIR"
  install -m 644 "$work/k/boot/vmlinuz-$kver" "$GUEST_DIR/vmlinuz.new"
  install -m 644 "$work/initrd.img" "$GUEST_DIR/initrd.img.new"
  mv -f "$GUEST_DIR/vmlinuz.new" "$GUEST_DIR/vmlinuz"
  mv -f "$GUEST_DIR/initrd.img.new" "$GUEST_DIR/initrd.img"
  echo "$stamp" >"$GUEST_DIR/.stamp"
  echo "guest.sh: built $GUEST_DIR/vmlinuz ($kver) and $GUEST_DIR/initrd.img"
}

domain_xml() { # name disk console
  cat <<XML
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$GUEST_DIR/vmlinuz</kernel>
    <initrd>$GUEST_DIR/initrd.img</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet loglevel=3</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none'/>
      <source file='$2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='file'>
      <source path='$3' append='on'/>
      <target port='0'/>
    </serial>
    <console type='file'>
      <source path='$3' append='on'/>
      <target type='serial' port='0'/>
    </console>
    <memballoon model='none'/>
  </devices>
</domain>
XML
}

define() {
  local name=$1
  [[ "$name" =~ ^[A-Za-z0-9_.-]+$ ]] || die "domain name '$name' must match [A-Za-z0-9_.-]+"
  build
  local dir="$GUEST_DIR/vms/$name"
  mkdir -p "$dir"
  [ -f "$dir/disk.qcow2" ] || qemu-img create -q -f qcow2 "$dir/disk.qcow2" 32M
  touch "$dir/console.log"
  # QEMU runs as libvirt-qemu: it writes the console and the overlays created next to the disk.
  chown -R libvirt-qemu:libvirt-qemu "$dir" 2>/dev/null || true
  domain_xml "$name" "$dir/disk.qcow2" "$dir/console.log" >"$dir/domain.xml"
  virsh -q -c "$URI" define "$dir/domain.xml" >/dev/null || die "virsh define $name failed"
  echo "guest.sh: defined $name (disk $dir/disk.qcow2, console $dir/console.log)"
}

undefine() {
  local name=$1
  virsh -q -c "$URI" destroy "$name" >/dev/null 2>&1 || true
  virsh -q -c "$URI" undefine "$name" --snapshots-metadata --checkpoints-metadata >/dev/null 2>&1 || true
  rm -rf "${GUEST_DIR:?}/vms/$name"
}

case "${1:-build}" in
  build) build ;;
  define) [ $# -eq 2 ] || die "usage: guest.sh define NAME"; define "$2" ;;
  undefine) [ $# -eq 2 ] || die "usage: guest.sh undefine NAME"; undefine "$2" ;;
  xml) [ $# -eq 4 ] || die "usage: guest.sh xml NAME DISK CONSOLE"; domain_xml "$2" "$3" "$4" ;;
  *) die "unknown command '$1' (build | define NAME | undefine NAME | xml NAME DISK CONSOLE)" ;;
esac
