#!/usr/bin/env python3
"""Ahead-of-time kernels against the JIT and oneDNN, side by side on one machine.

For each layer of the suites and each thread count: `convtune compile` (default config) into an
object, a small C driver linked with libconvtune_rt.a times its entries (`k_call` over a held
workspace: the same work `convtune run` times, weight packing included; `k_run` with packed
weights: repeated inference; and `k_run_blocked`, where the kernel has it, with the input and
output already in its own layouts: what a network that keeps them so pays), then `convtune run --json` times the JIT's kernel and `convtune
bench --backends onednn` oneDNN's. Rounds alternate AOT and JIT; medians over rounds. Also the
per-call overhead of the C entry (a 1x1x1x1 layer) and how long `compile` takes per layer.

    /usr/bin/python3 benchmarks/aot_vs_jit.py --binary build/convtune --rt build/libconvtune_rt.a \\
        --out benchmarks/raw/aot-vs-jit-DATE.json
"""
import argparse, json, os, statistics, subprocess, tempfile, time

DRIVER = r"""#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "k.h"
int k_call(float* const* params, void* workspace);
static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static float* filled(size_t n, unsigned seed) {
  float* d = malloc(n * sizeof(float));
  for (size_t i = 0; i < n; ++i) { seed = seed * 1103515245u + 12345u; d[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f; }
  return d;
}
static int cmp(const void* a, const void* b) { double x = *(const double*)a, y = *(const double*)b; return (x > y) - (x < y); }
/* The median over `repeat` measurements of the time per call, each measurement calling for at
 * least min_ms. */
#define MEASURE(result, call) do { \
    double times[64]; call; \
    for (int m = 0; m < repeat; ++m) { \
      int calls = 0; double start = now_ms(), t; \
      do { call; ++calls; t = now_ms() - start; } while (t < min_ms); \
      times[m] = t / calls; } \
    qsort(times, (size_t)repeat, sizeof(double), cmp); result = times[repeat / 2]; } while (0)
int main(int argc, char** argv) {
  const int threads = atoi(argv[1]), repeat = atoi(argv[2]);
  const double min_ms = atof(argv[3]);
  float* in = filled(K_INPUT_ELEMENTS, 1);
  float* w = filled(K_WEIGHTS_ELEMENTS, 2);
  float* out = filled(K_OUTPUT_ELEMENTS, 3);
  k_set_threads(threads);
  size_t bytes = (k_workspace_size() + 63) / 64 * 64;
  void* ws = bytes ? aligned_alloc(64, bytes) : NULL;
  float* packed = aligned_alloc(64, (k_packed_weights_size() + 63) / 64 * 64);
  k_pack_weights(w, packed);
  float* table[3] = {in, w, out};
  double call_ms, run_ms, blocked_ms = -1;
  MEASURE(call_ms, k_call(table, ws));
  MEASURE(run_ms, k_run(in, packed, out, ws));
#if defined(K_INPUT_BLOCKED_ELEMENTS) || defined(K_OUTPUT_BLOCKED_ELEMENTS)
#ifdef K_INPUT_BLOCKED_ELEMENTS
  float* in_blocked = aligned_alloc(64, (K_INPUT_BLOCKED_ELEMENTS * sizeof(float) + 63) / 64 * 64);
  for (size_t i = 0; i < K_INPUT_BLOCKED_ELEMENTS; ++i) in_blocked[i] = in[i % K_INPUT_ELEMENTS];
#else
  float* in_blocked = in;
#endif
#ifdef K_OUTPUT_BLOCKED_ELEMENTS
  float* out_blocked = aligned_alloc(64, (K_OUTPUT_BLOCKED_ELEMENTS * sizeof(float) + 63) / 64 * 64);
#else
  float* out_blocked = out;
#endif
  MEASURE(blocked_ms, k_run_blocked(in_blocked, packed, out_blocked, ws));
#endif
  printf("{\"call_ms\": %.6f, \"run_ms\": %.6f, \"blocked_ms\": %.6f}\n", call_ms, run_ms, blocked_ms);
  return 0;
}
"""


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def layers_of(suite):
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "suites", suite + ".json")) as f:
        d = json.load(f)
    return [(f"{suite}:{l['name']}", f"{suite}:{l['name']}") for l in d["layers"]]


def aot(binary, rt, spec, threads, args, work):
    start = time.monotonic()
    sh([binary, "compile", "--workload", spec, "--name", "k", "-o", f"{work}/k.o", "--header", f"{work}/k.h",
        "--schedule", "default"])
    compile_s = time.monotonic() - start
    sh(["cc", "-O2", "-std=c11", f"-I{work}", f"{work}/driver.c", f"{work}/k.o", rt, "-lpthread", "-o", f"{work}/app"])
    r = json.loads(sh([f"{work}/app", str(threads), str(args.repeat), str(args.min_repeat_ms)]))
    r["compile_s"] = compile_s
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="build/convtune")
    ap.add_argument("--rt", default="build/libconvtune_rt.a")
    ap.add_argument("--suites", default="resnet18,mobilenet")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--min-repeat-ms", type=float, default=100)
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="aot_bench_")
    with open(f"{work}/driver.c", "w") as f:
        f.write(DRIVER)
    results = {"layers": [], "overhead": {}}
    for suite in args.suites.split(","):
        for name, spec in layers_of(suite):
            flops = None
            for threads in [int(t) for t in args.threads.split(",")]:
                aot_call, aot_run, aot_blocked, jit, compile_s = [], [], [], [], []
                for _ in range(args.rounds):
                    a = aot(args.binary, args.rt, spec, threads, args, work)
                    aot_call.append(a["call_ms"]); aot_run.append(a["run_ms"]); compile_s.append(a["compile_s"])
                    if a["blocked_ms"] > 0: aot_blocked.append(a["blocked_ms"])
                    j = json.loads(sh([args.binary, "run", "--workload", spec, "--threads", str(threads), "--repeat",
                                       str(args.repeat), "--min-repeat-ms", str(args.min_repeat_ms), "--json"]))
                    jit.append(j["median_ms"]); flops = j["flops"]
                b = json.loads(sh([args.binary, "bench", "--workload", spec, "--backends", "onednn", "--threads", str(threads),
                                   "--repeat", str(args.repeat), "--min-repeat-ms", str(args.min_repeat_ms), "--json"]))
                onednn_ms = b["layers"][0]["results"][0]["median_ms"]
                row = {"layer": name, "spec": spec, "threads": threads, "aot_call_ms": statistics.median(aot_call),
                       "aot_run_ms": statistics.median(aot_run),
                       "aot_blocked_ms": statistics.median(aot_blocked) if aot_blocked else None, "jit_ms": statistics.median(jit), "onednn_ms": onednn_ms,
                       "compile_s": statistics.median(compile_s), "flops": flops}
                row["aot_over_jit"] = row["jit_ms"] / row["aot_call_ms"]
                results["layers"].append(row)
                print(f"{name:14s} t{threads}  AOT/JIT speed {row['aot_over_jit']:.3f}  "
                      f"GFLOP/s: aot {flops / row['aot_call_ms'] / 1e6:7.1f}  aot packed {flops / row['aot_run_ms'] / 1e6:7.1f}  "
                      f"{'blocked ' + format(flops / row['aot_blocked_ms'] / 1e6, '7.1f') if aot_blocked else 'blocked     n/a'}  "
                      f"jit {flops / row['jit_ms'] / 1e6:7.1f}  onednn {flops / onednn_ms / 1e6:7.1f}  compile {row['compile_s']:.2f} s",
                      flush=True)
    tiny = aot(args.binary, args.rt, "n=1,c=1,h=1,w=1,k=1,r=1,s=1", 1, args, work)
    results["overhead"] = {"spec": "n=1,c=1,h=1,w=1,k=1,r=1,s=1", "call_us": tiny["call_ms"] * 1e3, "run_us": tiny["run_ms"] * 1e3}
    ratios = [r["aot_over_jit"] for r in results["layers"]]
    print(f"\nAOT/JIT speed: median {statistics.median(ratios):.3f}, min {min(ratios):.3f}, max {max(ratios):.3f} over {len(ratios)} rows")
    print(f"per-call time of a 1x1x1x1 layer through the C entry: k_call {results['overhead']['call_us']:.3f} us, "
          f"k_run {results['overhead']['run_us']:.3f} us")
    total = sum(r["compile_s"] for r in results["layers"] if r["threads"] == int(args.threads.split(",")[0]))
    print(f"compile, one layer at a time: {total:.1f} s for {len(ratios) // len(args.threads.split(','))} layers")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
