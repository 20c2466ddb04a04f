#!/usr/bin/env bash
# A JDK 17 and Maven, if the machine lacks them.
set -euo pipefail
if command -v javac >/dev/null && command -v mvn >/dev/null; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -q
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends openjdk-17-jdk-headless maven
