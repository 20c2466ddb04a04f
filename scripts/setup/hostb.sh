#!/usr/bin/env bash
# A second libvirt "host" on this machine, for groups that span hosts without shared storage: a libvirtd in
# network and mount namespaces of its own, reachable only over TCP at 10.231.0.2 (a veth pair; this host is
# 10.231.0.1), with run, state, config and image directories that no process outside it can see: they live
# on a tmpfs mounted at /var/lib/lencap/hostb inside its mount namespace, where this host sees an empty
# directory. Its QEMU guests read the shared guest kernel (/var/lib/lencap/guest) like a second host
# installed alike; their disks and consoles live in its storage pool `lencap` ($ROOT/images), reached only
# through libvirt.
#
#   hostb.sh          start (idempotent; libvirt.sh and guest.sh first)
#   hostb.sh stop     destroy its guests, stop its daemons, remove the namespaces and the veth pair
#   hostb.sh kill     kill -9 its libvirtd only (guests and namespaces stay; `hostb.sh` starts it again)
#   hostb.sh exec CMD run CMD inside host B's namespaces (tests cut its link with `ip link set lc-b down`)
# Env: LENCAP_LOG_DIR (default /var/log/lencap), LENCAP_HOSTB_WAIT (seconds, default 120).
set -euo pipefail
# (No `cmd | grep -q` under pipefail: grep's early exit fails the pipeline; outputs are captured first.)

NS=lencap-hostb
ADDR_A=10.231.0.1
ADDR_B=10.231.0.2
URI="qemu+tcp://$ADDR_B/system"
ROOT=/var/lib/lencap/hostb
HOLDER=lencap-hostb-namespace
LOG_DIR=${LENCAP_LOG_DIR:-/var/log/lencap}
WAIT=${LENCAP_HOSTB_WAIT:-120}

die() { echo "hostb.sh: $*" >&2; exit 1; }
answers() { timeout 20 virsh -q -c "$URI" version >/dev/null 2>&1; }
holder() { pgrep -f "^$HOLDER " | head -1; }
in_b() { nsenter -t "$(holder)" -m -n -- "$@"; }
daemon_pids() { pgrep -f "^(libvirtd|virtlogd) .*$ROOT/" || true; }

[ "$(id -u)" -eq 0 ] || die "must run as root (namespaces, veth, daemons)"
. "$(dirname "$0")/packages.sh"
install_missing hostb.sh iproute2 util-linux || die "could not install iproute2 util-linux"

network() {
  [[ " $(ip netns list | cut -d' ' -f1 | tr '\n' ' ') " == *" $NS "* ]] || ip netns add "$NS"
  if ! ip link show lc-a >/dev/null 2>&1; then
    ip link add lc-a type veth peer name lc-b
    ip link set lc-b netns "$NS"
  fi
  [[ "$(ip addr show lc-a)" == *"$ADDR_A/"* ]] || ip addr add "$ADDR_A/30" dev lc-a
  ip link set lc-a up
  ip netns exec "$NS" sh -c "ip addr show lc-b | grep -q '$ADDR_B/' || ip addr add '$ADDR_B/30' dev lc-b;
    ip link set lc-b up; ip link set lo up"
}

# The mount namespace lives as long as a holder process does; its tmpfs and bind mounts are private to it.
namespace() {
  [ -n "$(holder)" ] && return 0
  mkdir -p "$ROOT"
  ip netns exec "$NS" unshare --mount --propagation private bash -c "
    set -e
    mount -t tmpfs -o size=2g,mode=0755 lencap-hostb '$ROOT'
    mkdir -p '$ROOT'/{etc,run,lib,cache,log,images}
    cp -a /etc/libvirt/. '$ROOT/etc/'
    cat > '$ROOT/etc/libvirtd.conf' <<EOF
listen_tls = 0
listen_tcp = 1
listen_addr = \"$ADDR_B\"
auth_tcp = \"none\"
EOF
    # No cgroups: the two daemons would share the machine's cgroup tree.
    printf 'cgroup_controllers = [ ]\n' >> '$ROOT/etc/qemu.conf'
    mount --bind '$ROOT/etc' /etc/libvirt
    mount --bind '$ROOT/run' /run/libvirt
    mount --bind '$ROOT/lib' /var/lib/libvirt
    mount --bind '$ROOT/cache' /var/cache/libvirt
    mount --bind '$ROOT/log' /var/log/libvirt
    mkdir -p /var/lib/libvirt/qemu /var/lib/libvirt/images
    chmod 0711 '$ROOT/images'
    exec -a $HOLDER sleep infinity
  " </dev/null >>"$LOG_DIR/hostb.out" 2>&1 &
  for _ in $(seq 100); do
    [ -n "$(holder)" ] && in_b test -d "$ROOT/images" && return 0
    sleep 0.1
  done
  die "the namespace did not come up (see $LOG_DIR/hostb.out)"
}

start() {
  [ -d /etc/libvirt ] || die "libvirt is not installed: run libvirt.sh first"
  mkdir -p "$LOG_DIR" /run/libvirt /var/cache/libvirt /var/log/libvirt
  network
  namespace
  answers && { echo "hostb.sh: $URI already answers"; pool; return 0; }
  if ! pgrep -f "^virtlogd .*$ROOT/" >/dev/null; then
    in_b virtlogd -d -p "$ROOT/run/virtlogd.pid" >>"$LOG_DIR/hostb-virtlogd.log" 2>&1
  fi
  deadline=$((SECONDS + WAIT))
  until answers; do
    if ! pgrep -f "^libvirtd .*$ROOT/" >/dev/null; then
      echo "hostb.sh: starting libvirtd on $ADDR_B"
      in_b env LIBVIRT_LOG_OUTPUTS="3:file:$LOG_DIR/hostb-libvirtd.log" \
        libvirtd -d --listen -p "$ROOT/run/libvirtd.pid" -f "$ROOT/etc/libvirtd.conf" \
        >>"$LOG_DIR/hostb.out" 2>&1 || die "libvirtd did not start (see $LOG_DIR/hostb.out)"
    fi
    [ $SECONDS -lt $deadline ] || die "$URI did not answer within ${WAIT}s (see $LOG_DIR/hostb-libvirtd.log)"
    sleep 0.5
  done
  pool
  echo "hostb.sh: $URI ready; its files are invisible here ($ROOT is empty on this side)"
}

pool() {
  if ! virsh -q -c "$URI" pool-info lencap >/dev/null 2>&1; then
    virsh -q -c "$URI" pool-define-as lencap dir --target "$ROOT/images" >/dev/null
    virsh -q -c "$URI" pool-autostart lencap >/dev/null
  fi
  local info
  info=$(virsh -q -c "$URI" pool-info lencap)
  [[ "$info" == *running* ]] || virsh -q -c "$URI" pool-start lencap >/dev/null
}

stop() {
  if answers; then
    for d in $(virsh -q -c "$URI" list --all --name); do
      virsh -q -c "$URI" destroy "$d" >/dev/null 2>&1 || true
    done
  fi
  pids=$(daemon_pids)
  [ -z "$pids" ] || kill $pids 2>/dev/null || true
  h=$(holder)
  [ -z "$h" ] || kill "$h" 2>/dev/null || true
  ip link del lc-a 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  echo "hostb.sh: stopped"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  kill) pids=$(pgrep -f "^libvirtd .*$ROOT/" || true); [ -z "$pids" ] || kill -9 $pids ;;
  exec) shift; in_b "$@" ;;
  *) die "usage: hostb.sh [start|stop|kill|exec CMD...]" ;;
esac
