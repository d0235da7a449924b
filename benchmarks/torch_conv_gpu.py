#!/usr/bin/env python3
"""PyTorch's GPU convolution on named suite layers: torch.nn.functional.conv2d, fp32, TF32 off.

Layers come from benchmarks/suites/*.json by name (C1..C12 resnet18, D2..D9 mobilenet), with the
batch replaced by each --batches value. Per layer and batch: random normal fp32 input and weights
on cuda, cudnn.benchmark on (the warm-up lets it pick its algorithm), TF32 off for convolutions and
matmuls. After >= 10 warm-up calls, --repeat measurements with CUDA events, each of enough
back-to-back calls to last >= 1 ms (sized from the warm-up); reports the median and min ms per
call and GFLOP/s = 2*N*K*P*Q*(C/groups)*R*S / median. Asymmetric padding: the input is padded
with F.pad once, outside the timing, and conv2d runs with padding 0. Needs no convtune build.

    /usr/bin/python3 benchmarks/torch_conv_gpu.py --layers C2,C6,C9,C12,D3 --batches 1,32 \\
        --out FILE.json [--repeat 50]
    /usr/bin/python3 benchmarks/torch_conv_gpu.py --layers C2,D3 --batches 1,32 --dry-run
"""
import argparse, glob, json, math, os, statistics, sys

SUITES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "suites")


def load_layers():
    """name -> layer dict with every field filled in (convtune's defaults)."""
    layers = {}
    for path in sorted(glob.glob(os.path.join(SUITES, "*.json"))):
        with open(path) as f:
            suite = json.load(f)
        for l in suite["layers"]:
            full = {"n": 1, "stride_h": 1, "stride_w": 1, "pad_top": 0, "pad_left": 0, "pad_bottom": 0,
                    "pad_right": 0, "dilation_h": 1, "dilation_w": 1, "groups": 1, "op": "conv"}
            full.update(l, suite=suite["suite"])
            layers.setdefault(l["name"], full)  # first suite wins on a repeated name
    return layers


def pair(a, b):
    return str(a) if a == b else f"{a}:{b}"


def spec(l, n):
    """convtune's inline workload spec (Workload::spec()) for this layer at batch n."""
    pads = (l["pad_top"], l["pad_left"], l["pad_bottom"], l["pad_right"])
    text = (f"n={n},c={l['c']},h={l['h']},w={l['w']},k={l['k']},r={l['r']},s={l['s']},"
            f"stride={pair(l['stride_h'], l['stride_w'])},pad=" +
            (str(pads[0]) if len(set(pads)) == 1 else ":".join(map(str, pads))))
    if (l["dilation_h"], l["dilation_w"]) != (1, 1):
        text += f",dilation={pair(l['dilation_h'], l['dilation_w'])}"
    if l["groups"] != 1:
        text += f",groups={l['groups']}"
    return text


def out_size(l, n):
    p = (l["h"] + l["pad_top"] + l["pad_bottom"] - l["dilation_h"] * (l["r"] - 1) - 1) // l["stride_h"] + 1
    q = (l["w"] + l["pad_left"] + l["pad_right"] - l["dilation_w"] * (l["s"] - 1) - 1) // l["stride_w"] + 1
    return p, q


def flops(l, n):
    p, q = out_size(l, n)
    return 2.0 * n * l["k"] * p * q * (l["c"] // l["groups"]) * l["r"] * l["s"]


def symmetric(l):
    return l["pad_top"] == l["pad_bottom"] and l["pad_left"] == l["pad_right"]


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(2)


def time_layer(torch, l, n, repeat):
    F = torch.nn.functional
    x = torch.randn(n, l["c"], l["h"], l["w"], device="cuda", dtype=torch.float32)
    wt = torch.randn(l["k"], l["c"] // l["groups"], l["r"], l["s"], device="cuda", dtype=torch.float32)
    if symmetric(l):
        padding = (l["pad_top"], l["pad_left"])
    else:  # F.pad takes (left, right, top, bottom) for the last two dimensions
        x = F.pad(x, (l["pad_left"], l["pad_right"], l["pad_top"], l["pad_bottom"]))
        padding = (0, 0)
    kw = dict(stride=(l["stride_h"], l["stride_w"]), padding=padding,
              dilation=(l["dilation_h"], l["dilation_w"]), groups=l["groups"])
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

    def measure(calls):
        start.record()
        for _ in range(calls):
            F.conv2d(x, wt, **kw)
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / calls

    with torch.no_grad():
        measure(10)  # warm-up: cudnn.benchmark picks its algorithm on the first call
        per_call = measure(10)
        calls = max(1, math.ceil(1.25 / max(per_call, 1e-6)))  # >= 1 ms, with a margin
        times = [measure(calls) for _ in range(repeat)]
    return statistics.median(times), min(times), calls


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", required=True, help="comma-separated layer names, e.g. C2,C6,D3")
    ap.add_argument("--batches", default="1", help="comma-separated batch sizes (replace the suite's n)")
    ap.add_argument("--out", help="JSON file to write")
    ap.add_argument("--repeat", type=int, default=50, help="timed measurements per layer and batch")
    ap.add_argument("--dry-run", action="store_true", help=argparse.SUPPRESS)  # print shapes, time nothing
    args = ap.parse_args()

    known = load_layers()
    names = [s.strip() for s in args.layers.split(",") if s.strip()]
    for name in names:
        if name not in known:
            fail(f"unknown layer '{name}' (known: {', '.join(known)})")
        if known[name]["op"] != "conv":
            fail(f"layer '{name}' is a {known[name]['op']}, not a convolution")
    try:
        batches = [int(b) for b in args.batches.split(",")]
        assert all(b >= 1 for b in batches) and args.repeat >= 1
    except (ValueError, AssertionError):
        fail("--batches must be positive integers, --repeat positive")
    if args.dry_run:
        for name in names:
            for n in batches:
                l = known[name]
                print(f"{name} ({l['suite']}) batch {n}: {spec(l, n)}  out {l['k']}x{'x'.join(map(str, out_size(l, n)))}"
                      f"  {flops(l, n) / 1e9:.3f} GFLOP" + ("" if symmetric(l) else "  [asymmetric pad: pre-padded]"))
        return
    if not args.out:
        fail("--out is required (unless --dry-run)")
    try:
        import torch
    except ImportError:
        fail("torch is not installed for this python")
    if not torch.cuda.is_available():
        fail("torch.cuda.is_available() is false: no CUDA GPU for PyTorch here")

    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(0)
    rows = []
    for name in names:
        for n in batches:
            l = known[name]
            med, best, calls = time_layer(torch, l, n, args.repeat)
            row = {"layer": name, "batch": n, "spec": spec(l, n), "median_ms": med, "min_ms": best,
                   "gflops": flops(l, n) / (med * 1e6), "calls_per_measurement": calls}
            if not symmetric(l):
                row["note"] = "asymmetric padding: input pre-padded with F.pad outside timing, conv2d padding=0"
            rows.append(row)
            print(f"{name:>4} n={n:<3} median {med:9.4f} ms  min {best:9.4f} ms  {row['gflops']:9.1f} GFLOP/s"
                  f"  ({calls} calls/measurement)  {row['spec']}" + ("  [pre-padded]" if "note" in row else ""),
                  flush=True)
    result = {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
              "cudnn": torch.backends.cudnn.version(), "tf32": False, "repeat": args.repeat, "rows": rows}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
