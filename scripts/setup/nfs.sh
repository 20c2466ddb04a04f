#!/usr/bin/env bash
# Installs the NFS server stack used by lencap-nfs integration tests: NFS-Ganesha (user space, FSAL VFS),
# rpcbind (NFSv3 needs the portmapper) and libnfs's command-line tools (nfs-ls, nfs-cp).
# Idempotent and non-interactive. Starts rpcbind (output under /var/log/lencap) and checks it answers;
# the tests start their own ganesha.nfsd per test class (NfsServerFixture), so none is left running here.
set -euo pipefail

PACKAGES=(nfs-ganesha nfs-ganesha-vfs rpcbind nfs-common libnfs-utils)
LOG_DIR=/var/log/lencap

fail() { echo "setup/nfs.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "must run as root (installs Debian packages)"

. "$(dirname "$0")/packages.sh"
install_missing nfs.sh "${PACKAGES[@]}" || fail "could not install ${PACKAGES[*]}"
for b in ganesha.nfsd rpcbind rpcinfo nfs-cp nfs-ls; do
  command -v "$b" >/dev/null || fail "$b not found after install"
done
[ -e /usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so ] || ls /usr/lib/*/ganesha/libfsalvfs.so >/dev/null 2>&1 \
  || fail "FSAL VFS library (libfsalvfs.so) not found: is nfs-ganesha-vfs installed?"

# rpcbind: NFSv3 clients (nfs-client's Nfs3, libnfs) ask the portmapper on port 111 for mountd/nfs.
mkdir -p "$LOG_DIR" /run/rpcbind
if ! timeout 5 rpcinfo -p 127.0.0.1 >/dev/null 2>&1; then
  echo "setup/nfs.sh: starting rpcbind"
  # -f: foreground (we detach it ourselves), -w: warm start. Never "-h 127.0.0.1": it crashes rpcbind here.
  nohup rpcbind -f -w >"$LOG_DIR/rpcbind.log" 2>&1 </dev/null &
  for _ in $(seq 1 150); do
    timeout 5 rpcinfo -p 127.0.0.1 >/dev/null 2>&1 && break
    sleep 0.2
  done
  timeout 5 rpcinfo -p 127.0.0.1 >/dev/null 2>&1 || fail "rpcbind did not answer on 127.0.0.1:111 within 30 s (see $LOG_DIR/rpcbind.log)"
fi
echo "setup/nfs.sh: ready ($(ganesha.nfsd -v 2>&1 | head -1 || true))"
