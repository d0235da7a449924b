#!/usr/bin/env bash
# \file Installs the Debian 12 packages convtune needs, only those missing (idempotent).
set -euo pipefail

packages=(build-essential cmake ninja-build llvm-19-dev libeigen3-dev libboost-graph-dev
          nlohmann-json3-dev catch2 libdnnl-dev)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists yet; refresh them when a package is unknown.
if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
  "${sudo_cmd[@]}" apt-get update -q
fi
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
