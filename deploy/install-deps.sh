#!/usr/bin/env bash
# Installs everything canaryd needs to build, test and benchmark, from Debian 12 packages.
# Idempotent: safe to run again; apt-get skips what is already installed.
# Usage: deploy/install-deps.sh [--no-peers]   (--no-peers skips the real peers used by integration tests)
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (it calls apt-get)" >&2
  exit 1
fi

build_pkgs=(
  ca-certificates git cmake ninja-build g++ pkg-config
  clang libclang-rt-14-dev             # fuzz preset (libFuzzer) and asan/tsan presets
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libprotobuf-dev protobuf-compiler libsnappy-dev libzstd-dev libxxhash-dev
  libeigen3-dev libspdlog-dev libyaml-cpp-dev libre2-dev libssl-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  curl procps util-linux                # test scripts: curl, ps/pgrep, taskset
)
peer_pkgs=(prometheus prometheus-node-exporter victoria-metrics wrk)

pkgs=("${build_pkgs[@]}")
if [ "${1:-}" != "--no-peers" ]; then
  pkgs+=("${peer_pkgs[@]}")
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps.sh: all ${#pkgs[@]} packages already installed"
  exit 0
fi
echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends keeps libboost-dev (Boost 1.74) out: it conflicts with 1.81.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian packages of the peers start system services; our tests start their own instances on
# loopback, so stop the packaged ones (if systemd runs them at all) to free their default ports.
for svc in prometheus prometheus-node-exporter victoria-metrics; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
done
echo "install-deps.sh: done"
