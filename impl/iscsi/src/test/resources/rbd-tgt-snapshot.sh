#!/bin/sh
# A storage snapshot command (Lencap's snapshot.command) for a LUN that a tgt gateway serves from a Ceph RBD
# image: what an administrator writes instead of Java. Lencap runs "take LOCATOR NAME" in the pause and reads
# the image's locator from the last line printed; "delete LOCATOR NAME" must succeed when the image is gone.
# Settings come from the resource's properties: snapshot.image (pool/image), snapshot.control (tgtadm's
# control port), snapshot.conf (ceph.conf).
set -eu
verb=$1 locator=$2 name=$3
image=$LENCAP_PROPERTY_SNAPSHOT_IMAGE control=$LENCAP_PROPERTY_SNAPSHOT_CONTROL conf=$LENCAP_PROPERTY_SNAPSHOT_CONF
snap="$image@$name"
tgt() { tgtadm -C "$control" --lld iscsi "$@"; }
# The LUN whose backing store is $1, from tgtadm's listing of the target.
served_as() {
  tgt --op show --mode target | awk -v s="Backing store path: $1" '
    { line = $0; sub(/^[ \t]+/, "", line) }
    line ~ /^LUN: / { split(line, f, " "); lun = f[2] }
    line == s { print lun }'
}
case $verb in
take)
  rbd -c "$conf" --admin-socket "" snap create --no-progress "$snap" >&2
  last=$(tgt --op show --mode target | sed -n 's/^ *LUN: \([0-9]*\)$/\1/p' | sort -n | tail -1)
  lun=$((last + 1))
  tgt --op new --mode logicalunit --tid 1 --lun "$lun" --bstype rbd --backing-store "$snap" --bsopts "conf=$conf" >&2
  echo "${locator%/*}/$lun"
  ;;
delete)
  lun=$(served_as "$snap")
  [ -z "$lun" ] || tgt --op delete --mode logicalunit --tid 1 --lun "$lun" >&2
  rbd -c "$conf" --admin-socket "" snap rm --no-progress "$snap" >&2 || [ $? -eq 2 ] # 2: already gone
  ;;
*)
  echo "usage: $0 take|delete LOCATOR NAME" >&2
  exit 64
  ;;
esac
