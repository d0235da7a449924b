#!/usr/bin/env bash
# \file Sets convtune up on Debian 12: installs the missing packages, then optionally builds and
# runs the main job (`./bootstrap.sh main`) or the whole test suite (`./bootstrap.sh test`).
set -euo pipefail
cd "$(dirname "$0")"

packages=(build-essential cmake ninja-build llvm-19-dev libeigen3-dev libboost-graph-dev
          nlohmann-json3-dev catch2 libdnnl-dev)

install_missing() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine has no package lists yet; refresh them when a package is unknown.
  if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
    "${sudo_cmd[@]}" apt-get update -q
  fi
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

build() {
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  # Two jobs: the machines have 2 cores and LLVM translation units are memory hungry.
  cmake --build build -j 2
}

install_missing
case "${1:-}" in
  "") ;;
  main)
    build
    # A short tuning session on ResNet-18 C6, ending with its result next to oneDNN's.
    build/convtune tune --workload resnet18:C6 --trials 40 --db build/convtune.db.jsonl
    ;;
  test)
    build
    ctest --test-dir build --output-on-failure -j 2 --timeout 600
    ;;
  *)
    echo "usage: ./bootstrap.sh [main|test]" >&2
    exit 2
    ;;
esac
