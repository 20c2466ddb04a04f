#!/usr/bin/env bash
# The main job: sets up libvirt + QEMU and the tiny counter guest, builds Lencap, then captures a real
# group (a counter VM and the directory tree its job writes) non-blocking into the embedded local
# store, destroys the VM, damages the tree, restores the group and shows the counter going on from the
# captured value, with each member's pause and bytes and a timeline picture.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup/java.sh
scripts/setup/libvirt.sh
scripts/setup/guest.sh
dir=${1:-target/demo-$(date +%s)}
mvn -B -q -ntp -DskipTests install
mvn -B -q -ntp -pl samples exec:java -Dexec.mainClass=io.lencap.samples.GroupDemo -Dexec.args="$dir"
