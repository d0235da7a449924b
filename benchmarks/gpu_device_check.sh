#!/usr/bin/env bash
# \file The GPU checks a lent NVIDIA machine runs in one go (issue 11), with .device/ packed by
# ../shared/device/pack.sh: (1) the GPU template's default and sampled configs of named and odd
# layers measured through the tuning worker, each checked against the CPU reference first;
# (2) a short tuning session per named layer; (3) `bench` of the default and tuned configs at
# batch 1 and the default at batch 32; (4) PyTorch's conv2d (cuDNN, fp32, TF32 off) on the same
# layers at batch 1 and 32. Everything lands in $OUT (or ./gpu-check): at most 8 files.
#   usage: benchmarks/gpu_device_check.sh [TRIALS] [SAMPLED]
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-check}
trials=${1:-16}
sampled=${2:-4}
mkdir -p "$out"
source .device/on-device.sh
ct=.device/convtune
log="$out/log.txt"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv >"$out/gpu.txt" 2>&1

named="resnet18:C2 resnet18:C6 resnet18:C9 resnet18:C12 mobilenet:D3"
batch32="n=32,c=64,h=56,w=56,k=64,r=3,s=3,pad=1 n=32,c=128,h=28,w=28,k=128,r=3,s=3,pad=1
n=32,c=256,h=14,w=14,k=256,r=3,s=3,pad=1 n=32,c=512,h=7,w=7,k=512,r=3,s=3,pad=1
n=32,c=128,h=56,w=56,k=128,r=3,s=3,pad=1,groups=128"
odd="n=2,c=6,h=13,w=11,k=10,r=3,s=2,stride=2:1,pad=1:0:2:1,dilation=2:1,groups=2
n=1,c=17,h=9,w=9,k=23,r=3,s=3,pad=1,epilogue=bias_relu
n=1,c=5,h=1,w=1,k=7,r=1,s=1
n=1,c=3,h=224,w=224,k=64,r=7,s=7,stride=2,pad=3
n=4,c=32,h=28,w=28,k=32,r=3,s=3,pad=2,dilation=2,groups=32"

# The default config and SAMPLED seeded random configs of each of the layer's GPU templates.
sample() {
  "$ct" space --workload "$1" --target cuda --json | python3 -c '
import json, random, sys
rng = random.Random(int(sys.argv[1]))
entries = []
for space in json.load(sys.stdin)["templates"]:
    configs = [space["default_config"]]
    while len(configs) < 1 + int(sys.argv[2]):
        configs.append({k["name"]: rng.choice(k["values"]) for k in space["knobs"]})
    entries += [{"template": space["template"], "config": c} for c in configs]
print(json.dumps(entries))' "$2" "$sampled"
}

echo "== 1. default and sampled configs, checked then timed ($(date +%T))" | tee -a "$log"
i=0
for w in $named $odd; do
  i=$((i + 1))
  sample "$w" "$i" >"$out/configs.json"
  "$ct" measure --target cuda --workload "$w" --configs "$out/configs.json" --db "$out/measure.db.jsonl" \
    --repeat 3 --min-repeat-ms 20 --json >>"$out/measure.jsonl" 2>>"$log" || echo "measure $w: exit $?" | tee -a "$log"
done
rm -f "$out/configs.json"

echo "== 2. tuning, $trials trials a layer ($(date +%T))" | tee -a "$log"
for w in $named; do
  "$ct" tune --target cuda --workload "$w" --trials "$trials" --db "$out/tune.db.jsonl" >>"$log" 2>&1 || echo "tune $w: exit $?" | tee -a "$log"
done

echo "== 3. bench ($(date +%T))" | tee -a "$log"
for w in $named; do
  "$ct" bench --target cuda --workload "$w" --db "$out/tune.db.jsonl" --json >>"$out/bench.jsonl" 2>>"$log" || echo "bench $w: exit $?" | tee -a "$log"
done
for w in $batch32; do
  "$ct" bench --target cuda --workload "$w" --backends default --json >>"$out/bench.jsonl" 2>>"$log" || echo "bench $w: exit $?" | tee -a "$log"
done

echo "== 4. PyTorch conv2d ($(date +%T))" | tee -a "$log"
python3 benchmarks/torch_conv_gpu.py --layers C2,C6,C9,C12,D3 --batches 1,32 --out "$out/torch.json" >>"$log" 2>&1 ||
  echo "torch: exit $?" | tee -a "$log"
echo "== done ($(date +%T))" | tee -a "$log"
python3 benchmarks/gpu_check_summary.py "$out"
