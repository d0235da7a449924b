#!/usr/bin/env python3
"""Sparse direct convolution against our dense tuned kernel, side by side on one machine.

For each layer (ResNet-18's by default) a dense tuning session (every dense template that
applies: direct, im2col + GEMM, Winograd) gives the dense kernel; then, for each sparsity, the
layer's random weights are magnitude-pruned (`--sparsity S`, unstructured, or in blocks with
--block) and a short sparse tuning session (`--template sparse_direct`, or the template
--sparse-template names: sparse_blocked for blocks of a vector's output channels) runs. One `bench` per
layer and sparsity then times, in the same run on the same pruned weights, the dense tuned
schedule (`schedule:FILE`, the dense best's trace), the sparse default and the sparse tuned
kernel, with the dense default config and oneDNN beside them. Dense is the faster of our dense
tuned and dense default rows in that run (a short dense session can settle on a config slower
than the default). Ratios are effective GFLOP/s (the dense FLOP count) sparse over dense. Also
the sparsity at which the sparse kernel starts to win on each layer.

    /usr/bin/python3 benchmarks/sparse.py --binary build/convtune --out benchmarks/raw/sparse-DATE.json
    /usr/bin/python3 benchmarks/sparse.py --block 16 --sparse-template sparse_blocked ...   # block-pruned weights
"""
import argparse, json, os, statistics, subprocess, tempfile


def run_json(cmd):
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="build/convtune")
    ap.add_argument("--suite", default="resnet18")
    ap.add_argument("--layers", default="", help="comma list of suite:LAYER (default: the whole suite)")
    ap.add_argument("--sparsities", default="0.5,0.6,0.7,0.8,0.9,0.95")
    ap.add_argument("--block", type=int, default=1)
    ap.add_argument("--sparse-template", default="sparse_direct",
                    help="the sparse template tuned and benched (sparse_blocked for weights pruned in blocks of a vector)")
    ap.add_argument("--dense-trials", type=int, default=16)
    ap.add_argument("--sparse-trials", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    b = args.binary
    work = tempfile.mkdtemp(prefix="convtune_sparse_")
    db = os.path.join(work, "db.jsonl")
    layers = args.layers.split(",") if args.layers else [
        l["name"] for l in run_json([b, "bench", "--suite", args.suite, "--backends", "naive", "--repeat", "1",
                                     "--min-repeat-ms", "1", "--json"])["layers"]]
    timing = ["--repeat", str(args.repeat), "--min-repeat-ms", "50"]
    results = []
    for layer in layers:
        subprocess.run([b, "tune", "--workload", layer, "--trials", str(args.dense_trials), "--db", db, "--json"] + timing[:2],
                       check=True, capture_output=True)
        dense = run_json([b, "db", "best", "--workload", layer, "--db", db, "--json"])
        dense_file = os.path.join(work, layer.replace(":", "_") + ".json")
        with open(dense_file, "w") as f:
            json.dump(dense["schedule"], f)
        for s in [float(x) for x in args.sparsities.split(",")]:
            weights = ["--sparsity", str(s)] + (["--sparsity-block", str(args.block)] if args.block > 1 else [])
            subprocess.run([b, "tune", "--workload", layer, "--template", args.sparse_template, "--trials", str(args.sparse_trials),
                            "--db", db, "--json"] + weights + timing[:2], check=True, capture_output=True)
            d = run_json([b, "bench", "--workload", layer, "--db", db, "--json",
                          "--backends", "onednn,default,schedule:" + dense_file + "," + args.sparse_template + ",tuned"] + weights + timing)
            rows = {r["backend"]: r for r in d["results"]}
            dense_row, default_row, tuned_row = rows["schedule:" + dense_file], rows[args.sparse_template], rows["tuned"]
            dense_default = rows["default"]
            dense_best = max(dense_row, dense_default, key=lambda row: row["gflops"])
            r = {"layer": layer, "sparsity": s, "block": args.block,
                 "dense_template": dense["template_name"] if dense_best is dense_row else "default " + dense_default["detail"].split()[0],
                 "dense_gflops": dense_best["gflops"], "dense_tuned_gflops": dense_row["gflops"],
                 "dense_default_gflops": dense_default["gflops"], "onednn_gflops": rows["onednn"]["gflops"],
                 "sparse_default_gflops": default_row["gflops"],
                 "sparse_tuned_gflops": tuned_row["gflops"], "sparse_tuned_config": tuned_row["detail"],
                 "ok": all(row["ok"] for row in (dense_row, dense_default, default_row, tuned_row))}
            r["speedup_default"] = r["sparse_default_gflops"] / r["dense_gflops"]
            r["speedup_tuned"] = r["sparse_tuned_gflops"] / r["dense_gflops"]
            results.append(r)
            print(f"{layer:14} {s:5.2f}  oneDNN {r['onednn_gflops']:6.1f}  dense {r['dense_gflops']:7.1f} ({r['dense_template']})  sparse default "
                  f"{r['sparse_default_gflops']:7.1f} ({r['speedup_default']:.2f}x)  tuned {r['sparse_tuned_gflops']:7.1f} "
                  f"({r['speedup_tuned']:.2f}x)", flush=True)
    print("\nsparsity  median speed-up over dense tuned (sparse tuned)  min  max")
    for s in sorted({r["sparsity"] for r in results}):
        sp = [r["speedup_tuned"] for r in results if r["sparsity"] == s]
        print(f"  {s:5.2f}   {statistics.median(sp):5.2f}x  {min(sp):5.2f}x  {max(sp):5.2f}x")
    print("\nwhere sparse starts to win (the lowest sparsity with a speed-up over 1, tuned):")
    for layer in layers:
        wins = [r["sparsity"] for r in results if r["layer"] == layer and r["speedup_tuned"] > 1]
        print(f"  {layer:14} {min(wins) if wins else 'above ' + args.sparsities.split(',')[-1]}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
