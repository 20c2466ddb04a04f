#!/usr/bin/env bash
# The main job: builds Lencap and runs the sample that captures a real directory tree non-blocking into
# the embedded local store, changes it, restores it and prints per-member pause and bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -ntp -DskipTests install
mvn -B -q -ntp -pl samples exec:java -Dexec.mainClass=io.lencap.samples.TreeDemo -Dexec.args="${1:-target/demo}"
