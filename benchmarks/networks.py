#!/usr/bin/env python3
"""Whole networks: `convtune run --model` against PyTorch eager and the sum of oneDNN's conv layers.

For each model: exports it from torchvision (random weights, seed 0, eval, ONNX opset 13) into
--work-dir unless the file is there, with BatchNorm's statistics and affine randomized first
(default init makes BN the identity, so folded conv biases would all be zero and a bias bug would
pass; --bn-init keeps it), and writes a random input (seed 1) as .npy. PyTorch eager gives the
reference output. Per thread count, rounds alternate `convtune run` (default config, then with
--tuned-db when given) and PyTorch eager (median of --torch-repeat calls after warm-up, no_grad);
medians over rounds. Each convtune output is checked against PyTorch's: max |err| / max |ref|
and the elementwise max relative error where |ref| > 1e-3 max |ref| (worst over rounds). The
oneDNN column is the sum over every conv layer `show --json` lists of `bench --backends onednn`
on its workload: what per-layer oneDNN calls would cost, without the other layers.
With --trials N, `tune --model --trials N --db TUNED_DB --threads T` runs first, per model and per
thread count T of --threads-list (records are kept per thread count).

    /usr/bin/python3 benchmarks/networks.py --binary build/convtune --threads-list 1,2 --rounds 3 \\
        --tuned-db nets.db.jsonl --trials 200 --json benchmarks/raw/networks-DATE.json
    /usr/bin/python3 benchmarks/networks.py --dry-run   # export + PyTorch only, prints the commands
"""
import argparse, json, os, re, shlex, statistics, subprocess, sys, time

import numpy as np

# Constructor arguments beyond weights=None; googlenet's aux heads would add outputs.
MODEL_KWARGS = {"googlenet": {"aux_logits": False, "init_weights": True},
                "inception_v3": {"aux_logits": False, "init_weights": True}}


class CommandFailed(Exception):
    pass


def run_cmd(cmd, dry_run=False):
    """Runs cmd and returns its stdout; on failure prints its stderr and raises CommandFailed."""
    if dry_run:
        print("  [dry-run]", shlex.join(cmd))
        return None
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        print(f"  FAILED (rc {p.returncode}): {shlex.join(cmd)}\n{p.stderr.rstrip()}", file=sys.stderr)
        raise CommandFailed(f"`{os.path.basename(cmd[0])} {cmd[1]}` exited with {p.returncode}")
    return p.stdout


def run_json(cmd, dry_run=False):
    out = run_cmd(cmd, dry_run)
    return None if out is None else json.loads(out)


def make_model(name, bn_random):
    import torch, torchvision
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None, **MODEL_KWARGS.get(name, {})).eval()
    if bn_random:
        g = torch.Generator().manual_seed(0)
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                c = m.num_features
                m.weight.data = torch.rand(c, generator=g) * 0.5 + 0.75
                m.bias.data = torch.randn(c, generator=g) * 0.1
                m.running_mean = torch.randn(c, generator=g) * 0.1
                m.running_var = torch.rand(c, generator=g) * 0.5 + 0.75
    return model


def prepare(name, shape, args):
    """The model, its .onnx (exported unless present), the input (saved as .npy) and its path."""
    import torch
    tag = f"{name}_{'x'.join(map(str, shape))}" + ("" if args.bn_init else "_bnrand")
    onnx_path = os.path.join(args.work_dir, tag + ".onnx")
    input_path = os.path.join(args.work_dir, tag + ".input.npy")
    model = make_model(name, not args.bn_init)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    np.save(input_path, np.ascontiguousarray(x.numpy(), dtype=np.float32))
    if not os.path.exists(onnx_path):
        start = time.monotonic()
        with torch.no_grad():
            torch.onnx.export(model, x, onnx_path, opset_version=13, input_names=["input"], output_names=["output"])
        print(f"  exported {onnx_path} in {time.monotonic() - start:.1f} s")
    return model, x, onnx_path, input_path


def torch_forward(model, x, threads):
    import torch
    torch.set_num_threads(threads)
    with torch.no_grad():
        return model(x).numpy()


def time_torch(model, x, threads, args):
    """Median ms of single forward calls, after warm-up, under no_grad at `threads` threads."""
    import torch
    torch.set_num_threads(threads)
    times = []
    with torch.no_grad():
        for _ in range(args.torch_warmup):
            model(x)
        for _ in range(args.torch_repeat):
            start = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def compare(out, ref):
    """Errors of out against ref, relative to the largest |ref| and elementwise where |ref| is not tiny."""
    if out.size != ref.size:
        return {"shape_ok": False, "out_shape": list(out.shape), "ref_shape": list(ref.shape),
                "rel_to_max": float("inf"), "elem_rel": float("inf")}
    out, ref = out.reshape(ref.shape).astype(np.float64), ref.astype(np.float64)
    err = np.abs(out - ref)
    if not np.all(np.isfinite(out)):
        err = np.full_like(ref, np.inf)
    scale = float(np.max(np.abs(ref)))
    big = np.abs(ref) > 1e-3 * scale
    return {"shape_ok": out.shape == ref.shape, "max_abs_err": float(err.max()), "ref_max": scale,
            "rel_to_max": float(err.max() / scale) if scale > 0 else float(err.max()),
            "elem_rel": float(np.max(err[big] / np.abs(ref[big]))) if big.any() else 0.0}


def convtune_run(model_path, input_path, threads, db, args):
    """One `convtune run --model`: its JSON and the output it wrote (None on a dry run)."""
    out_path = input_path.replace(".input.npy", f".out-t{threads}{'-tuned' if db else ''}.npy")
    cmd = [args.binary, "run", "--model", model_path, "--threads", str(threads), "--input", input_path,
           "--output", out_path, "--json"] + (["--db", db] if db else []) + shlex.split(args.run_args)
    d = run_json(cmd, args.dry_run)
    if d is None:
        return None, None
    if not d.get("ok", False):
        print(f"  convtune run reports ok=false: {shlex.join(cmd)}", file=sys.stderr)
    return d, np.load(out_path)


def onednn_ms(bench):
    """The oneDNN row's median ms in a `bench --json` answer (picked by backend name, as
    compare_binaries.py does; aot_vs_jit.py's results[0] is the same row with one backend)."""
    results = bench["layers"][0]["results"]
    row = next((r for r in results if r.get("backend") == "onednn"), results[0])
    return row["median_ms"]


def onednn_conv_sum(conv_specs, threads, cache, args):
    """Sum of oneDNN's median ms over the conv layers; identical workloads are benchmarked once."""
    if not conv_specs:
        return None
    total = 0.0
    for spec in conv_specs:
        if (spec, threads) not in cache:
            d = run_json([args.binary, "bench", "--workload", spec, "--backends", "onednn", "--threads", str(threads),
                          "--repeat", str(args.repeat), "--min-repeat-ms", str(args.min_repeat_ms), "--json"], args.dry_run)
            cache[(spec, threads)] = None if d is None else onednn_ms(d)
        if cache[(spec, threads)] is None:
            return None
        total += cache[(spec, threads)]
    return total


def fmt(v, spec=".2f"):
    return "-" if v is None else format(v, spec)


def bench_model(name, shape, args, bench_cache):
    result = {"model": name, "input_shape": shape, "threads": {}}
    model, x, onnx_path, input_path = prepare(name, shape, args)
    result["onnx"] = onnx_path
    show = run_json([args.binary, "show", "--model", onnx_path, "--json"], args.dry_run) or {"layers": []}
    convs = [l for l in show["layers"] if l.get("kind") == "conv"]
    # oneDNN's baseline runs the plain convolution: the fused epilogue (bias, residual, ReLU) is
    # left out of its side, which favours it.
    conv_specs = [re.sub(r",epilogue=[a-z0-9_]+", "", l["workload"]) for l in convs if l.get("workload")]
    result["show"] = {k: show.get(k) for k in ("flops", "workspace_bytes", "intermediates_bytes")}
    result["show"].update(layers=len(show["layers"]), conv_layers=len(convs), conv_without_workload=len(convs) - len(conv_specs))
    if args.tuned_db and args.trials:
        # Records are kept per thread count (the target key ends in /tN): tune at each one reported.
        result["tune"] = {"trials": args.trials, "seconds": {}}
        for threads in args.threads_list:
            start = time.monotonic()
            run_cmd([args.binary, "tune", "--model", onnx_path, "--trials", str(args.trials), "--db", args.tuned_db,
                     "--threads", str(threads)], args.dry_run)
            result["tune"]["seconds"][threads] = time.monotonic() - start
    for threads in args.threads_list:
        ref = torch_forward(model, x, threads)
        runs = {"default": [], "tuned": []}
        errors = {"default": [], "tuned": []}
        layers = {}
        torch_ms = []
        variants = [("default", None)] + ([("tuned", args.tuned_db)] if args.tuned_db else [])
        for _ in range(args.rounds):
            for variant, db in variants:  # convtune, torch, convtune (tuned), torch, ...
                d, out = convtune_run(onnx_path, input_path, threads, db, args)
                if d is not None:
                    runs[variant].append(d["median_ms"])
                    errors[variant].append(compare(out, ref))
                    layers[variant] = d.get("layers", [])
                torch_ms.append(time_torch(model, x, threads, args))
                time.sleep(0.2)  # let torch's OpenMP workers stop spinning before convtune starts
        row = {"torch_ms": statistics.median(torch_ms), "onednn_conv_sum_ms": onednn_conv_sum(conv_specs, threads, bench_cache, args)}
        for variant in runs:
            row[f"{variant}_ms"] = statistics.median(runs[variant]) if runs[variant] else None
            if errors[variant]:  # the worst round
                row[f"{variant}_error"] = max(errors[variant], key=lambda e: e["rel_to_max"])
            row[f"{variant}_layers"] = layers.get(variant)
        result["threads"][threads] = row
    return result


def print_model(r, args):
    s = r["show"]
    print(f"\n{r['model']} {'x'.join(map(str, r['input_shape']))}: {s['layers']} layers, {s['conv_layers']} conv"
          f" ({s['conv_without_workload']} without a workload), {fmt(s['flops'] and s['flops'] / 1e9, '.2f')} GFLOP,"
          f" workspace {fmt(s['workspace_bytes'] and s['workspace_bytes'] / 2**20, '.1f')} MiB,"
          f" intermediates {fmt(s['intermediates_bytes'] and s['intermediates_bytes'] / 2**20, '.1f')} MiB"
          + (f"; tuned {r['tune']['trials']} trials at each thread count in "
             + ", ".join(f"{s:.0f} s (t{t})" for t, s in r["tune"]["seconds"].items()) if "tune" in r else ""))
    print(f"  {'thr':>3} {'default ms':>10} {'tuned ms':>9} {'torch ms':>9} {'oneDNN conv':>11} {'torch/ct':>8}"
          f" {'onednn/ct':>9} {'rel err':>9} {'elem rel':>9}   (ct: tuned if run, else default; medians of {args.rounds} rounds)")
    for threads, t in r["threads"].items():
        ct = t["tuned_ms"] or t["default_ms"]
        errs = [t[k] for k in ("default_error", "tuned_error") if k in t]
        worst = max(errs, key=lambda e: e["rel_to_max"]) if errs else None
        print(f"  {threads:>3} {fmt(t['default_ms']):>10} {fmt(t['tuned_ms']):>9} {fmt(t['torch_ms']):>9}"
              f" {fmt(t['onednn_conv_sum_ms']):>11} {fmt(ct and t['torch_ms'] / ct, '.3f'):>8}"
              f" {fmt(ct and t['onednn_conv_sum_ms'] and t['onednn_conv_sum_ms'] / ct, '.3f'):>9}"
              f" {fmt(worst and worst['rel_to_max'], '.2e'):>9} {fmt(worst and worst['elem_rel'], '.2e'):>9}")
    for threads, t in r["threads"].items():  # where convtune's time goes
        top = sorted(t.get("tuned_layers") or t.get("default_layers") or [], key=lambda l: -l.get("median_ms", 0))[:args.top]
        if top:
            print(f"  t{threads} top layers: " + ", ".join(f"{l['name']} {l['median_ms']:.2f} ms ({100 * l.get('share', 0):.0f}%)" for l in top))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default="build/convtune")
    ap.add_argument("--models", default="resnet18,mobilenet_v2,squeezenet1_1", help="torchvision model names")
    ap.add_argument("--input-shape", default="1,3,224,224")
    ap.add_argument("--work-dir", default="/tmp/convtune-networks", help="exported .onnx, inputs and outputs")
    ap.add_argument("--threads-list", default="1,2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tuned-db", default="", help="also run with --db FILE")
    ap.add_argument("--trials", type=int, default=0, help="first tune each model into --tuned-db with N trials")
    ap.add_argument("--torch-warmup", type=int, default=3)
    ap.add_argument("--torch-repeat", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=7, help="bench --repeat for the oneDNN layers")
    ap.add_argument("--min-repeat-ms", type=float, default=100, help="bench --min-repeat-ms for the oneDNN layers")
    ap.add_argument("--run-args", default="", help="extra arguments for `convtune run`, e.g. '--repeat 20'")
    ap.add_argument("--bn-init", action="store_true", help="keep BatchNorm's default (identity) init")
    ap.add_argument("--top", type=int, default=5, help="slowest convtune layers to list per thread count")
    ap.add_argument("--dry-run", action="store_true", help="export and run PyTorch; print convtune commands only")
    ap.add_argument("--json", default="", help="save everything here")
    args = ap.parse_args()
    args.threads_list = [int(t) for t in args.threads_list.split(",")]
    if args.trials and not args.tuned_db:
        ap.error("--trials needs --tuned-db")
    os.makedirs(args.work_dir, exist_ok=True)
    shape = [int(d) for d in args.input_shape.split(",")]
    results, failed, bench_cache = [], [], {}
    for name in [m for m in args.models.split(",") if m]:
        print(f"{name}:", flush=True)
        try:
            r = bench_model(name, shape, args, bench_cache)
        except Exception as e:  # on to the next model; a failed command has printed its stderr
            print(f"  {name} skipped: {type(e).__name__}: {e}", file=sys.stderr)
            failed.append({"model": name, "error": f"{type(e).__name__}: {e}"})
            continue
        results.append(r)
        print_model(r, args)
        sys.stdout.flush()
    if failed:
        print("\nfailed: " + ", ".join(f["model"] for f in failed))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "models": results, "failed": failed}, f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
