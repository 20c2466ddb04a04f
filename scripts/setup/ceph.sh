#!/usr/bin/env bash
# A real Ceph cluster on loopback for lencap-store-s3's integration tests: one monitor, three OSDs
# (memstore: objects in RAM, no disks needed), pools of three copies, and the RADOS gateway (S3, beast)
# on http://127.0.0.1:7480 with an S3 user whose keys are written to /var/lib/lencap/ceph/s3.env.
#
#   ceph.sh          install what is missing; leave a healthy cluster running (recreate it if any
#                    daemon is gone, e.g. an OSD a test killed: memstore OSDs cannot restart)
#   ceph.sh stop     stop the daemons this script started
#
# Idempotent and non-interactive; every daemon logs to /var/log/lencap/ceph. No systemd needed.
set -euo pipefail

BASE=/var/lib/lencap/ceph
LOGS=/var/log/lencap/ceph
RUN=$BASE/run
CONF=$BASE/ceph.conf
ENV_FILE=$BASE/s3.env
RGW_PORT=7480
ENDPOINT=http://127.0.0.1:$RGW_PORT
PACKAGES=(ceph-mon ceph-osd radosgw ceph-common curl)
OSDS=3
S3_USER=lencap

fail() { echo "setup/ceph.sh: $*" >&2; exit 1; }
say() { echo "setup/ceph.sh: $*"; }
ceph_() { timeout 30 ceph -c "$CONF" "$@"; }

# Polls a command until it succeeds, for at most $1 seconds.
wait_for() {
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.5
  done
  say "$what ready"
}

# The pid a pid file names, if that process is alive and is one of ours (runs with our config).
our_pid() {
  local f=$RUN/$1.pid pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [ -d /proc/$pid ] && tr '\0' ' ' </proc/$pid/cmdline | grep -q -- "$CONF" && echo "$pid"
}

# SIGKILL at once: the OSDs are memstore and the cluster is recreated from scratch, so there is nothing to save,
# and a daemon whose peers are gone can take 30 s to honour SIGTERM (measured on 2026-12-03).
stop_all() {
  local name pid pids=()
  for name in rgw $(for i in $(seq 0 $((OSDS - 1))); do echo osd.$i; done) mon.a; do
    if pid=$(our_pid "$name"); then
      kill -9 "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
    rm -f "$RUN/$name.pid"
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do [ -d /proc/$pid ] || break; sleep 0.1; done
  done
  [ ${#pids[@]} -eq 0 ] || say "stopped ${#pids[@]} daemons"
}

osds_up() {
  [ "$(ceph_ osd stat -f json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["num_up_osds"])')" = "$OSDS" ]
}

rgw_answers() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$ENDPOINT/")" = 200 ]
}

healthy() {
  our_pid mon.a >/dev/null && our_pid rgw >/dev/null || return 1
  local i
  for i in $(seq 0 $((OSDS - 1))); do our_pid osd.$i >/dev/null || return 1; done
  [ -f "$ENV_FILE" ] && osds_up && rgw_answers
}

if [ "${1:-}" = stop ]; then
  stop_all
  exit 0
fi
[ $# -eq 0 ] || fail "usage: ceph.sh [stop]"
[ "$(id -u)" = 0 ] || fail "must run as root (installs Debian packages)"

. "$(dirname "$0")/packages.sh"
install_missing ceph.sh "${PACKAGES[@]}" || fail "could not install ${PACKAGES[*]}"
for b in ceph ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph-authtool curl python3; do
  command -v "$b" >/dev/null || fail "$b not found after install"
done

if healthy; then
  say "cluster already running and healthy; S3 at $ENDPOINT, keys in $ENV_FILE"
  exit 0
fi

# Anything less than the whole cluster (a daemon killed by a test, a reboot): start over. Memstore
# OSDs keep their objects in memory, so a killed one cannot rejoin with its data anyway.
say "creating the cluster (a fresh one: one monitor, $OSDS memstore OSDs, 3 copies, RGW)"
stop_all
for port in 3300 6789 $RGW_PORT; do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
    fail "port $port on 127.0.0.1 is taken by a process this script did not start"
  fi
done
rm -rf "$BASE" "$LOGS"
mkdir -p "$BASE" "$LOGS" "$RUN" "$BASE/mon" "$BASE/osd" "$BASE/rgw/ceph-rgw.a"
FSID=$(cat /proc/sys/kernel/random/uuid)
cat >"$CONF" <<EOF
[global]
fsid = $FSID
mon_initial_members = a
mon_host = [v2:127.0.0.1:3300,v1:127.0.0.1:6789]
public_network = 127.0.0.0/8
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
keyring = $BASE/\$cluster.\$name.keyring
log_file = $LOGS/\$name.log
run_dir = $RUN
admin_socket = $RUN/\$cluster-\$name.asok
# three copies on three OSDs of one host; small pools for a small cluster
osd_crush_chooseleaf_type = 0
osd_pool_default_size = 3
osd_pool_default_min_size = 2
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_max_pg_per_osd = 500
mon_allow_pool_delete = true
mon_warn_on_pool_no_redundancy = false
auth_allow_insecure_global_id_reclaim = false
# a killed OSD is noticed in seconds (peers see connection refused), not minutes
osd_heartbeat_interval = 2
osd_heartbeat_grace = 10
mon_osd_min_down_reporters = 1
ms_bind_ipv6 = false

[mon]
mon_data = $BASE/mon/\$cluster-\$id
keyring = $BASE/mon/\$cluster-\$id/keyring

[osd]
osd_data = $BASE/osd/\$cluster-\$id
keyring = $BASE/osd/\$cluster-\$id/keyring
osd_objectstore = memstore
memstore_device_bytes = 2147483648
osd_op_num_shards = 2
osd_op_num_threads_per_shard = 1

[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw_data = $BASE/rgw/ceph-rgw.a
rgw_thread_pool_size = 64
keyring = $BASE/ceph.client.rgw.a.keyring
EOF

# Monitor
ceph-authtool --create-keyring "$BASE/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool --create-keyring "$BASE/ceph.client.admin.keyring" --gen-key -n client.admin \
  --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
ceph-authtool "$BASE/mon.keyring" --import-keyring "$BASE/ceph.client.admin.keyring" >/dev/null
monmaptool --create --fsid "$FSID" --addv a '[v2:127.0.0.1:3300,v1:127.0.0.1:6789]' "$BASE/monmap" >/dev/null
ceph-mon -c "$CONF" --mkfs -i a --monmap "$BASE/monmap" --keyring "$BASE/mon.keyring" \
  >"$LOGS/mon.a.mkfs.out" 2>&1 || fail "ceph-mon --mkfs failed (see $LOGS/mon.a.mkfs.out)"
nohup ceph-mon -c "$CONF" -i a -f >"$LOGS/mon.a.out" 2>&1 </dev/null &
echo $! >"$RUN/mon.a.pid"
wait_for 60 "monitor" ceph_ mon stat || fail "the monitor did not answer within 60 s (see $LOGS/mon.a.log)"

# OSDs: each gets its key at creation, then a memstore made by --mkfs.
for i in $(seq 0 $((OSDS - 1))); do
  uuid=$(cat /proc/sys/kernel/random/uuid)
  key=$(ceph-authtool --gen-print-key)
  id=$(echo "{\"cephx_secret\": \"$key\"}" | ceph_ osd new "$uuid" -i -) || fail "ceph osd new failed"
  [ "$id" = "$i" ] || fail "expected OSD id $i, the monitor gave $id"
  mkdir -p "$BASE/osd/ceph-$id"
  ceph-authtool --create-keyring "$BASE/osd/ceph-$id/keyring" --name "osd.$id" --add-key "$key" >/dev/null
  ceph-osd -c "$CONF" -i "$id" --mkfs --osd-uuid "$uuid" >"$LOGS/osd.$id.mkfs.out" 2>&1 \
    || fail "ceph-osd --mkfs of osd.$id failed (see $LOGS/osd.$id.mkfs.out)"
  nohup ceph-osd -c "$CONF" -i "$id" -f >"$LOGS/osd.$id.out" 2>&1 </dev/null &
  echo $! >"$RUN/osd.$id.pid"
done
wait_for 120 "$OSDS OSDs" osds_up || fail "not all $OSDS OSDs came up within 120 s (see $LOGS/osd.*.log)"

# RADOS gateway: creates its pools (3 copies each) on first start.
ceph_ auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' -o "$BASE/ceph.client.rgw.a.keyring" >/dev/null
nohup radosgw -c "$CONF" -n client.rgw.a -f >"$LOGS/rgw.out" 2>&1 </dev/null &
echo $! >"$RUN/rgw.pid"
wait_for 180 "RGW on $ENDPOINT" rgw_answers || fail "RGW did not answer on $ENDPOINT within 180 s (see $LOGS/client.rgw.a.log)"

# The S3 user; its keys go to a file only root can read.
access=$(tr -dc 'A-Z0-9' </dev/urandom | head -c 20 || true)
secret=$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 40 || true)
timeout 60 radosgw-admin -c "$CONF" user create --uid="$S3_USER" --display-name="Lencap tests" \
  --access-key="$access" --secret-key="$secret" >"$LOGS/user-create.out" 2>&1 \
  || fail "radosgw-admin user create failed (see $LOGS/user-create.out)"
rm -f "$LOGS/user-create.out" # it echoes the keys
umask 077
cat >"$ENV_FILE.tmp" <<EOF
S3_ENDPOINT=$ENDPOINT
S3_REGION=us-east-1
S3_ACCESS_KEY=$access
S3_SECRET_KEY=$secret
CEPH_CONF=$CONF
CEPH_RUN=$RUN
EOF
mv "$ENV_FILE.tmp" "$ENV_FILE"
size=$(ceph_ osd pool get .rgw.root size -f json 2>/dev/null \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])' || echo "?")
say "ready: S3 at $ENDPOINT, $OSDS OSDs, pools of $size copies; keys in $ENV_FILE"
