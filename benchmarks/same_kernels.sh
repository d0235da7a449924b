#!/usr/bin/env bash
# \file Do two convtune builds generate the same compute kernels? For each layer, dumps the
# optimized LLVM IR of the default schedule's outlined compute loop (the parallel body of the
# compute stage) from both binaries, drops value names and the order closures are unpacked in,
# and diffs (closure slots are named, not numbered: the capture order may change). No timing: a change that leaves these identical cannot change compute speed.
#
#   benchmarks/same_kernels.sh ../build-old/convtune build/convtune resnet18:C2 mobilenet:D7 ...
set -euo pipefail
old=$1 new=$2
shift 2
status=0
for layer in "$@"; do
  for which in old new; do
    bin=$old
    [ "$which" = new ] && bin=$new
    CONVTUNE_DUMP_IR=1 "$bin" run --workload "$layer" --repeat 1 --min-repeat-ms 1 2>&1 >/dev/null |
      awk '/; ---- after optimize/{p=1} p' |
      awk '/^define internal void @conv\.n_(ko|go|g_ko)/{p=1} p{print} /^}/{p=0}' |
      sed -E 's/%[A-Za-z0-9_.]+/%v/g; s/![0-9]+/!m/g; s/\.par[0-9]+/.parN/' |
      sed -E 's/getelementptr inbounds i8, ptr %v, i64 [0-9]+/closure slot/' |
      grep -v '%v = load ptr, ptr %v, align 8' > "/tmp/same_kernels.$which.ll" || true
  done
  lines=$(wc -l < /tmp/same_kernels.old.ll)
  if [ "$lines" -eq 0 ]; then
    echo "$layer: no compute loop found"; status=1
  elif diff -q /tmp/same_kernels.old.ll /tmp/same_kernels.new.ll > /dev/null; then
    echo "$layer: identical ($lines lines)"
  else
    echo "$layer: DIFFERENT ($(diff /tmp/same_kernels.old.ll /tmp/same_kernels.new.ll | grep -c '^[<>]') lines differ)"; status=1
  fi
done
exit $status
