#!/usr/bin/env bash
# Installs the user-space iSCSI targets and libiscsi's tools used by lencap-iscsi's integration tests
# and benchmark. Idempotent and non-interactive. No daemon is left running: each test class starts its
# own istgt on a free loopback port (IstgtTarget in impl/iscsi/src/test/java), or its own tgtd over
# Ceph RBD images for the storage-snapshot tests (TgtRbdGateway; tgt-rbd, cluster from ceph.sh), so this
# script only proves that istgt starts and serves a LUN.
set -euo pipefail

PACKAGES=(tgt tgt-rbd istgt libiscsi-bin)

. "$(dirname "$0")/packages.sh"
install_missing iscsi.sh "${PACKAGES[@]}"
for tool in istgt iscsi-perf iscsi-readcapacity16; do
  command -v "$tool" >/dev/null || { echo "iscsi.sh: $tool not found after install" >&2; exit 1; }
done

# Smoke test: one istgt on a free loopback port with a 1 MiB file-backed LUN, read capacity through
# libiscsi, stop it by PID.
work=$(mktemp -d /tmp/lencap-iscsi-smoke.XXXXXX)
pid=
cleanup() { [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
free_port() { # a loopback port nobody listens on (bash only: no python on a minimal machine)
  local p
  while :; do
    p=$(shuf -i 20000-60999 -n 1)
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}
port=$(free_port)
ucport=$(free_port)
truncate -s 1M "$work/lun0.img"
: >"$work/auth.conf"
cat >"$work/istgt.conf" <<CONF
[Global]
  NodeBase "iqn.2024-01.io.lencap.smoke"
  PidFile $work/istgt.pid
  AuthFile $work/auth.conf
  MediaDirectory $work
  Timeout 30
  NopInInterval 20
  MaxSessions 4
  MaxConnections 1
[UnitControl]
  AuthMethod None
  Portal UC1 127.0.0.1:$ucport
  Netmask 127.0.0.1
[PortalGroup1]
  Portal DA1 127.0.0.1:$port
[InitiatorGroup1]
  InitiatorName "ALL"
  Netmask 127.0.0.1
[LogicalUnit1]
  TargetName disk
  Mapping PortalGroup1 InitiatorGroup1
  AuthMethod None
  UnitType Disk
  LUN0 Storage $work/lun0.img Auto
CONF
mkdir -p /var/log/lencap
istgt -D -c "$work/istgt.conf" >/var/log/lencap/istgt-smoke.log 2>&1 &
pid=$!
url="iscsi://127.0.0.1:$port/iqn.2024-01.io.lencap.smoke:disk/0"
for _ in $(seq 300); do
  if timeout 10 iscsi-readcapacity16 "$url" 2>/dev/null | grep -q 'Total size:1048576'; then
    echo "iscsi.sh: istgt, tgt and libiscsi-bin ready (smoke LUN read at $url)"
    exit 0
  fi
  kill -0 "$pid" 2>/dev/null || { echo "iscsi.sh: istgt exited, see /var/log/lencap/istgt-smoke.log" >&2; exit 1; }
  sleep 0.2
done
echo "iscsi.sh: istgt did not serve the smoke LUN within 60 s, see /var/log/lencap/istgt-smoke.log" >&2
exit 1
