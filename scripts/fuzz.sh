#!/usr/bin/env bash
# Fuzzes Lencap's parsers of untrusted input with Jazzer (coverage-guided), for developers; CI never runs this.
# CI runs the same @FuzzTest methods as ordinary tests over their committed corpora (regression mode).
#
#   scripts/fuzz.sh list                  the targets
#   scripts/fuzz.sh TARGET [DURATION]     fuzz one target, e.g. scripts/fuzz.sh save-image 15m
#   scripts/fuzz.sh all [DURATION]        fuzz every target in turn, DURATION each (default 10m)
#
# DURATION is Jazzer's syntax: 90s, 10m, 1h. Run one target at a time on a shared machine (each fuzzes on one
# core), and not while a full test run (scripts/test.sh) is going.
#
# What it leaves:
#   <module>/.cifuzz-corpus/<Class>/<method>/  the corpus Jazzer grew; kept between runs (git-ignored), so a
#                                              later run starts where this one stopped.
#   <module>/src/test/resources/<package>/<Class>Inputs/<method>/crash-<sha1>
#                                              each new crashing input, copied into the committed corpus
#                                              directory: from then on the regression test runs it. Fix the
#                                              code before committing it (a crashing corpus entry fails CI), or
#                                              keep it out of the commit and report its bytes.
#   target/fuzz/<target>.log                   Jazzer's output, with the finding's stack trace.
# A run goes on after a finding, up to FUZZ_KEEP_GOING findings (default 5; Jazzer skips repeats of one it has
# seen), so that a known crash does not hide the next one.
# Exit status: 0 when no target found anything, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

# name  module  test class (package.Class)  method  classes to instrument for coverage
TARGETS=(
  "manifest-check-json   impl/tree    io.lencap.tree.ManifestCheckFuzzTest       manifestJson   io.lencap.**:com.fasterxml.**"
  "manifest-check-tree   impl/tree    io.lencap.tree.ManifestCheckFuzzTest       compactTree    io.lencap.**"
  "chunk-decode          impl/core    io.lencap.core.ChunkCodecFuzzTest          decode         io.lencap.**:com.github.luben.**"
  "chunk-round-trip      impl/core    io.lencap.core.ChunkCodecFuzzTest          roundTrip      io.lencap.**"
  "manifest-load         impl/core    io.lencap.core.ManifestFuzzTest            load           io.lencap.**:com.fasterxml.**"
  "iscsi-target-answers  impl/iscsi   io.lencap.iscsi.IscsiSessionFuzzTest       targetAnswers  io.lencap.**:org.jscsi.**"
  "iscsi-chap-login      impl/iscsi   io.lencap.iscsi.IscsiSessionFuzzTest       chapLogin      io.lencap.**:org.jscsi.**"
  "iscsi-text-parameters impl/iscsi   io.lencap.iscsi.IscsiSessionFuzzTest       textParameters io.lencap.**"
  "save-image            impl/libvirt io.lencap.libvirt.SaveImageFuzzTest        headers        io.lencap.**"
)

usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
}

list() {
  for t in "${TARGETS[@]}"; do
    read -r name module class method _ <<<"$t"
    printf '%-22s %s#%s (%s)\n' "$name" "${class##*.}" "$method" "$module"
  done
}

# fuzz NAME MODULE CLASS METHOD INCLUDES DURATION: returns 1 when Jazzer reported a finding.
fuzz() {
  local name=$1 module=$2 class=$3 method=$4 includes=$5 duration=$6
  local inputs="$module/src/test/resources/${class//.//}Inputs/$method"
  local log="target/fuzz/$name.log" marker
  mkdir -p target/fuzz "$inputs"
  marker=$(mktemp)
  echo "== $name: ${class##*.}#$method for $duration (log: $log)"
  local status=0
  JAZZER_FUZZ=1 JAZZER_MAX_DURATION="$duration" JAZZER_INSTRUMENTATION_INCLUDES="$includes" \
    JAZZER_KEEP_GOING="${FUZZ_KEEP_GOING:-5}" \
    mvn -B -ntp -o test -pl "$module" -Dtest="${class##*.}#$method" -Dsurefire.failIfNoSpecifiedTests=false \
      >"$log" 2>&1 || status=1
  # Jazzer writes a finding as crash-<sha1> into the inputs directory, or into the module's directory when it
  # cannot find that: collect both into the corpus directory.
  local found=0 f
  while IFS= read -r -d '' f; do
    if [[ "$(dirname "$f")" != "$inputs" ]]; then
      cp "$f" "$inputs/$(basename "$f")"
      rm -f "$f"
    fi
    echo "   finding: $inputs/$(basename "$f")"
    found=1
  done < <(find "$module" "$inputs" -maxdepth 1 -type f -name 'crash-*' -newer "$marker" -print0 | sort -zu)
  rm -f "$marker" "$module"/Crash_*.java
  grep -E '^(#[0-9]+[[:space:]]+DONE|Done [0-9]+ runs)' "$log" | sed 's/^/   /' || true
  if [[ $found == 1 || $status != 0 ]]; then
    grep -m1 -E 'FuzzTestFindingException|== Java Exception|AssertionFailedError|Error:' "$log" | sed 's/^/   /' || true
    return 1
  fi
  return 0
}

[[ $# -ge 1 ]] || usage
what=$1
duration=${2:-10m}
[[ $what == list ]] && { list; exit 0; }

modules=()
for t in "${TARGETS[@]}"; do
  read -r name module _ <<<"$t"
  [[ $what == all || $what == "$name" ]] && modules+=("$module")
done
[[ ${#modules[@]} -gt 0 ]] || { echo "no target '$what'; scripts/fuzz.sh list names them" >&2; exit 2; }
if pgrep -f 'scripts/test.sh' >/dev/null; then
  echo "note: a full test run (scripts/test.sh) is going; fuzzing competes with it for the cores" >&2
fi
echo "== building $(printf '%s\n' "${modules[@]}" | sort -u | paste -sd, -)"
mvn -B -ntp -o -q install -DskipTests -pl "$(printf '%s\n' "${modules[@]}" | sort -u | paste -sd, -)" -am

failed=0
for t in "${TARGETS[@]}"; do
  read -r name module class method includes <<<"$t"
  if [[ $what == all || $what == "$name" ]]; then
    fuzz "$name" "$module" "$class" "$method" "$includes" "$duration" || failed=1
  fi
done
exit $failed
