#!/usr/bin/env bash
# Installs every Debian package and starts every daemon the tests need, on a fresh machine. Idempotent.
set -euo pipefail
cd "$(dirname "$0")"
for step in java libvirt guest hostb iscsi nfs ceph; do
  if [ -f "$step.sh" ]; then
    echo "== setup: $step"
    bash "$step.sh"
  fi
done
