#!/usr/bin/env python3
"""Tuner efficiency: how close each searcher gets to the best-known config within a budget.

For each layer, searcher and seed, runs `convtune tune` with a fresh database and a fixed
trial budget. Reports, medians over seeds and then over layers:
  - best-so-far GFLOP/s after 16, 32, 64, 128 trials relative to the best config ever
    measured for that layer (over every run);
  - trials needed to reach 95%, 98% and 99% of it (2x the budget when never reached);
  - what a trial cost (compile, check, measure) as the tuner saw it.
Then it times, side by side in one `convtune bench` run, oneDNN against the best config the
first seed of the first searcher found for each layer (what a user gets from one session).

Runs are saved to --out as they finish; rerunning with the same --out skips them.

    python3 benchmarks/tuner_efficiency.py --layers C2,C6,C9 --tuners bted,gp,random --seeds 2 --out eff.json
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

LEVELS = (0.95, 0.98, 0.99)


def lines_of(path, suite, layer, own):
    """The database lines of `suite:layer` (own=True) or of every other layer (own=False)."""
    out = []
    with open(path) as f:
        for line in f:
            try:
                if (json.loads(line)["workload"].get("name") == f"{suite}:{layer}") == own:
                    out.append(line)
            except (ValueError, KeyError, AttributeError):
                pass
    return out


def settings(args):
    """What makes runs comparable: saved runs are reused only under the same settings."""
    return {"suite": args.suite, "trials": args.trials, "threads": args.threads, "quick": args.quick,
            "transfer_from": os.path.abspath(args.transfer_from) if args.transfer_from else ""}


def tune(args, layer, tuner, seed, db):
    cmd = [args.convtune, "tune", "--workload", f"{args.suite}:{layer}", "--tuner", tuner, "--seed", str(seed),
           "--trials", str(args.trials), "--threads", str(args.threads), "--db", db, "--json"]
    if args.quick:
        cmd += ["--repeat", "3", "--min-repeat-ms", "20"]
    if args.transfer_from:
        # What earlier sessions taught about other layers on this machine; never this layer's own.
        with open(db, "w") as dst:
            dst.writelines(lines_of(args.transfer_from, args.suite, layer, own=False))
        cmd.append("--transfer")
    result = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    return {"curve": result["curve"], "seconds_per_trial": result.get("seconds_per_trial", 0),
            "best": result["best"]}


def trials_to(curve, level_gflops, budget):
    return next((i + 1 for i, g in enumerate(curve) if g >= level_gflops), 2 * budget)


def summarize(runs, layers, tuners, seeds, trials):
    best_known = {l: max(max(r["curve"]) for k, r in runs.items() if k.startswith(l + "/")) for l in layers}
    checkpoints = [c for c in (16, 32, 64, 128) if c <= trials]
    table = {}
    for tuner in tuners:
        row = {}
        for cp in checkpoints:
            per_layer = [statistics.median(runs[f"{l}/{tuner}/{s}"]["curve"][min(cp, len(runs[f"{l}/{tuner}/{s}"]["curve"])) - 1]
                                           / best_known[l] for s in seeds) for l in layers]
            row[f"at_{cp}"] = statistics.median(per_layer)
        for level in LEVELS:
            per_layer = [statistics.median(trials_to(runs[f"{l}/{tuner}/{s}"]["curve"], level * best_known[l], trials)
                                           for s in seeds) for l in layers]
            row[f"to_{int(level * 100)}pct"] = statistics.median(per_layer)
        row["seconds_per_trial"] = statistics.median(runs[f"{l}/{tuner}/{s}"]["seconds_per_trial"] for l in layers for s in seeds)
        table[tuner] = row
    return best_known, table


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--convtune", default=os.path.join(os.path.dirname(__file__), "..", "build", "convtune"))
    ap.add_argument("--suite", default="resnet18")
    ap.add_argument("--layers", default="C1,C2,C3,C4,C5,C6,C7,C8,C9,C10,C11,C12")
    ap.add_argument("--tuners", default="bted,gp,anneal,random")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--trials", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="3 measurements of 20 ms per trial instead of tune's 5 of 50 ms")
    ap.add_argument("--transfer-from", default="",
                    help="start each run's database with this one's records of the other layers, and tune with --transfer")
    ap.add_argument("--dbs", default="", help="keep each run's database in this folder (default: OUT.dbs with --out)")
    ap.add_argument("--out", default="", help="JSON of every run and the summary; runs found there are not run again")
    args = ap.parse_args()
    layers, tuners, seeds = args.layers.split(","), args.tuners.split(","), list(range(1, args.seeds + 1))

    saved = json.load(open(args.out)) if args.out and os.path.exists(args.out) else {}
    runs = saved.get("runs", {}) if saved.get("settings") == settings(args) else {}
    # A resumed run's database is needed again for the comparison with oneDNN below.
    dbs = args.dbs or (args.out + ".dbs" if args.out else tempfile.mkdtemp(prefix="tuner_efficiency-"))
    os.makedirs(dbs, exist_ok=True)
    started = time.time()
    # Seeds outermost, searchers innermost: a slow phase of a shared machine falls on every
    # searcher alike instead of on one searcher's runs.
    for seed in seeds:
        for layer in layers:
            for tuner in tuners:
                key = f"{layer}/{tuner}/{seed}"
                if key in runs:
                    continue
                db = os.path.join(dbs, f"{layer}_{tuner}_{seed}.jsonl")
                if os.path.exists(db):
                    os.remove(db)
                runs[key] = tune(args, layer, tuner, seed, db)
                print(f"{key:16} best {runs[key]['best']['gflops']:6.1f} GFLOP/s  {runs[key]['seconds_per_trial']:.2f} s/trial"
                      f"  ({time.time() - started:.0f}s)", file=sys.stderr, flush=True)
                if args.out:
                    with open(args.out, "w") as f:
                        json.dump({"settings": settings(args), "runs": runs}, f)

    best_known, table = summarize(runs, layers, tuners, seeds, args.trials)
    cols = list(next(iter(table.values())))
    print(f"{'tuner':8}" + "".join(f"{c:>18}" for c in cols))
    for tuner, row in table.items():
        print(f"{tuner:8}" + "".join(f"{row[c]:18.3f}" if c.startswith(("at_", "sec")) else f"{row[c]:18.1f}" for c in cols))

    # One session's result against oneDNN, side by side: the first searcher, the first seed.
    # Only the layer's own records count (a --transfer-from run's database holds others').
    vs_onednn = {}
    print(f"\n{tuners[0]} seed 1 after {args.trials} trials vs oneDNN (bench, interleaved per layer):")
    for layer in layers:
        path = os.path.join(dbs, f"{layer}_{tuners[0]}_1.jsonl")
        if not os.path.exists(path):
            print(f"  {layer:5} no database at {path}", file=sys.stderr)
            continue
        session = os.path.join(dbs, f"{layer}_session.jsonl")
        with open(session, "w") as f:
            f.writelines(lines_of(path, args.suite, layer, own=True))
        bench = subprocess.run([args.convtune, "bench", "--workload", f"{args.suite}:{layer}", "--backends", "onednn,default,tuned",
                                "--threads", str(args.threads), "--db", session, "--json"], capture_output=True, text=True)
        if not bench.stdout.strip():  # bench still prints its rows when one of them is wrong
            print(f"  {layer:5} bench failed: {bench.stderr.strip()}", file=sys.stderr)
            continue
        speed = {b["backend"]: b["gflops"] for b in json.loads(bench.stdout)["layers"][0]["results"] if b.get("ok")}
        if speed.get("onednn") and speed.get("tuned"):
            vs_onednn[layer] = speed["tuned"] / speed["onednn"]
            print(f"  {layer:5} tuned {speed['tuned']:6.1f}  default {speed.get('default', 0):6.1f}"
                  f"  oneDNN {speed['onednn']:6.1f}  {vs_onednn[layer]:.2f}x")
    if vs_onednn:
        print(f"  geomean {statistics.geometric_mean(vs_onednn.values()):.3f}x over {len(vs_onednn)} layers")

    if args.out:
        with open(args.out, "w") as f:
            json.dump({"settings": settings(args), "runs": runs,
                       "best_known_gflops": best_known, "table": table, "tuned_vs_onednn": vs_onednn}, f, indent=1)


if __name__ == "__main__":
    main()
