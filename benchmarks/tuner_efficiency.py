#!/usr/bin/env python3
"""Tuner efficiency: how close each searcher gets to the best-known config within a budget.

For each layer, searcher and seed, runs `convtune tune` with a fresh database and a fixed
trial budget, then reports the best-so-far GFLOP/s after 16, 32, 64, 128 trials relative to
the best config ever measured for that layer (over every run), and how many trials each
searcher needs to reach 95% of it. Medians over seeds, then over layers.

    python3 benchmarks/tuner_efficiency.py --layers C2,C6,C9 --tuners bted,gp,random --seeds 2
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--convtune", default=os.path.join(os.path.dirname(__file__), "..", "build", "convtune"))
    ap.add_argument("--suite", default="resnet18")
    ap.add_argument("--layers", default="C1,C2,C3,C4,C5,C6,C7,C8,C9,C10,C11,C12")
    ap.add_argument("--tuners", default="bted,gp,anneal,random")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--trials", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    checkpoints = [c for c in (16, 32, 64, 128) if c <= args.trials]
    tuners = args.tuners.split(",")
    runs = {}  # (layer, tuner, seed) -> curve
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        for layer in args.layers.split(","):
            for tuner in tuners:
                for seed in range(1, args.seeds + 1):
                    db = os.path.join(tmp, f"{layer}_{tuner}_{seed}.jsonl")
                    cmd = [args.convtune, "tune", "--workload", f"{args.suite}:{layer}", "--tuner", tuner,
                           "--seed", str(seed), "--trials", str(args.trials), "--threads", str(args.threads),
                           "--db", db, "--json", "--repeat", "3", "--min-repeat-ms", "20"]
                    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                    result = json.loads(out)
                    runs[(layer, tuner, seed)] = result["curve"]
                    print(f"{layer:4} {tuner:7} seed {seed}: best {result['best']['gflops']:.1f} GFLOP/s"
                          f" ({time.time() - started:.0f}s)", file=sys.stderr)
    layers = args.layers.split(",")
    best_known = {l: max(max(c) for (ll, _, _), c in runs.items() if ll == l) for l in layers}
    table = {}
    for tuner in tuners:
        row = {}
        for cp in checkpoints:
            per_layer = [statistics.median(runs[(l, tuner, s)][min(cp, len(runs[(l, tuner, s)])) - 1] / best_known[l]
                                           for s in range(1, args.seeds + 1)) for l in layers]
            row[f"at_{cp}"] = statistics.median(per_layer)
        reach = []
        for l in layers:
            for s in range(1, args.seeds + 1):
                curve = runs[(l, tuner, s)]
                hit = next((i + 1 for i, g in enumerate(curve) if g >= 0.95 * best_known[l]), None)
                reach.append(hit if hit is not None else 2 * args.trials)
        row["trials_to_95pct_median"] = statistics.median(reach)
        table[tuner] = row
    print(f"{'tuner':8}" + "".join(f"{'@' + str(c):>9}" for c in checkpoints) + f"{'to 95%':>10}")
    for tuner, row in table.items():
        print(f"{tuner:8}" + "".join(f"{row[f'at_{c}']:9.3f}" for c in checkpoints) + f"{row['trials_to_95pct_median']:10}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"layers": layers, "seeds": args.seeds, "trials": args.trials, "threads": args.threads,
                       "best_known_gflops": best_known, "table": table,
                       "curves": {f"{l}/{t}/{s}": c for (l, t, s), c in runs.items()}}, f, indent=1)

if __name__ == "__main__":
    main()
