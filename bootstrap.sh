#!/usr/bin/env bash
# \file Sets convtune up on Debian 12: installs the missing packages, then optionally builds and
# runs the main job (`./bootstrap.sh main`) or the whole test suite (`./bootstrap.sh test`);
# `./bootstrap.sh benchmarks` adds what the benchmark scripts import, and builds.
set -euo pipefail
cd "$(dirname "$0")"

packages=(build-essential cmake ninja-build llvm-19-dev libeigen3-dev libboost-graph-dev
          nlohmann-json3-dev catch2 libdnnl-dev libonnx-dev libprotobuf-dev clang-19 libclang-rt-19-dev libomp-19-dev
          openmpi-bin libopenmpi-dev)

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

# The benchmark scripts' Python side, never needed by the tests: PyTorch, torchvision and ONNX
# for benchmarks/networks.py, XGBoost and Optuna for benchmarks/peer_searchers.py.
if [ "${1:-}" = benchmarks ]; then
  packages+=(python3-torch python3-torchvision python3-onnx python3-xgboost python3-optuna)
fi

install_missing
case "${1:-}" in
  "") ;;
  benchmarks)
    build
    ;;
  main)
    build
    # A short tuning session on ResNet-18 C6, ending with its result next to oneDNN's.
    build/convtune tune --workload resnet18:C6 --trials 40 --db build/convtune.db.jsonl
    ;;
  test)
    build
    ctest --test-dir build --output-on-failure -j 2 --timeout 600
    # The suite again under AddressSanitizer + UndefinedBehaviorSanitizer, then the thread
    # pool and the worker's threads under ThreadSanitizer. Code convtune JITs is not
    # instrumented; a crash hook's SIGSEGV must reach the worker's parent, not ASan's handler.
    cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONVTUNE_SANITIZE=address,undefined >/dev/null
    cmake --build build-asan -j 2
    ASAN_OPTIONS=detect_leaks=1:handle_segv=0 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --test-dir build-asan --output-on-failure -j 2 --timeout 900
    cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONVTUNE_SANITIZE=thread >/dev/null
    cmake --build build-tsan -j 2 --target convtune_tests convtune
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:handle_segv=0 \
      build-tsan/convtune_tests "[thread_pool],[isolation]"
    # The parsers fuzzed for a while each (tests/fuzz: libFuzzer, a clang build of its own).
    CC=clang-19 CXX=clang++-19 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCONVTUNE_FUZZ=ON -DCONVTUNE_TESTS=OFF >/dev/null
    cmake --build build-fuzz -j 2 --target fuzz_workload fuzz_schedule_json fuzz_database_line fuzz_worker_job fuzz_onnx_model
    tests/fuzz/run.sh build-fuzz 30
    ;;
  *)
    echo "usage: ./bootstrap.sh [main|test|benchmarks]" >&2
    exit 2
    ;;
esac
