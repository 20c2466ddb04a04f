#!/usr/bin/env bash
# The reference benchmark in one command: installs and starts what it needs (Java, libvirt + QEMU, the
# counter guest, istgt, NFS-Ganesha, qemu-img's libiscsi driver for the scripted baseline), builds
# Lencap, then runs io.lencap.benchmarks.ReferenceBench, which starts and stops its own istgt,
# Ganesha and guests. Writes the table (results.md) and the capture timelines (SVG, PNG) to docs/bench.
#
#   scripts/bench.sh                                  full sizes: LUN 512 MiB, 20,000 files, 200 domains
#   scripts/bench.sh lun=64 files=2000 domains=50     smaller, for a quick look
#   scripts/bench.sh rounds=5                         issue 19's ratios over 5 rounds instead of 3 (0: none)
#   scripts/bench.sh table=no domains=0               those rounds alone, each capture's phases logged; the
#                                                     recorded results.md is left as it is
#   scripts/bench.sh table=no domains=0 warmup=yes    the same, Lencap.warmUp() called before the first capture
#   (also out=DIR for the table and pictures, work=DIR for the daemons' files and stores)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup/java.sh
scripts/setup/libvirt.sh
scripts/setup/guest.sh
scripts/setup/iscsi.sh
scripts/setup/nfs.sh
# The baseline reads and writes the LUN with libiscsi through qemu-img's iscsi driver (qemu-block-extra):
# libiscsi-bin's own tools (iscsi-perf, iscsi-ls, ...) read but do not copy data.
if ! qemu-img --help 2>/dev/null | grep -qw iscsi; then
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends qemu-utils qemu-block-extra \
    || { apt-get -o DPkg::Lock::Timeout=600 update -q && apt-get -o DPkg::Lock::Timeout=600 install -y -q \
      --no-install-recommends qemu-utils qemu-block-extra; }
  qemu-img --help | grep -qw iscsi || { echo "bench.sh: qemu-img has no iscsi driver" >&2; exit 1; }
fi
mvn -B -q -ntp -DskipTests install
mvn -B -q -ntp -pl benchmarks exec:java -Dexec.mainClass=io.lencap.benchmarks.ReferenceBench -Dexec.args="$*"
