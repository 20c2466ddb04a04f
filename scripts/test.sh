#!/usr/bin/env bash
# Runs every test: installs and starts the real components the integration tests need (libvirt + QEMU,
# istgt, NFS-Ganesha; see scripts/setup/), then `mvn verify` with integration tests required to run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup/all.sh
mvn -B -ntp -Dlencap.it.require=true verify "$@"
