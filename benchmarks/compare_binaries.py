#!/usr/bin/env python3
"""Does a change make convtune slower? Two builds side by side on one machine.

Runs `bench --suite S --backends onednn,default --threads T` with the old and the new binary,
one right after the other (old, new, old, new, ... for --rounds rounds), and a fixed tuning
session (`tune --trials N`, same seed, a fresh database each) of a few layers with each. Prints
per layer the new/old ratio of the default rows' GFLOP/s (median over rounds; each row's own
number is the median of its timed repeats), each binary's ratio to oneDNN measured in the same
run, the tuned bests' new/old ratio and the per-trial cost ratio; writes everything as JSON.
A layer more than 3% slower is measured again alone, the binaries alternating, --recheck runs
each (the median of those is its verdict: a suite run's drift hits one layer at a time).

    python3 benchmarks/compare_binaries.py --old ../build-old/convtune --new build/convtune \\
        --out benchmarks/raw/compare-DATE.json
"""
import argparse, json, os, statistics, subprocess, tempfile


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def bench(binary, suite, threads, args):
    d = run_json([binary, "bench", "--suite", suite, "--backends", "onednn,default", "--threads", str(threads),
                  "--repeat", str(args.repeat), "--min-repeat-ms", str(args.min_repeat_ms), "--json"])
    rows = {}
    for layer in d["layers"]:
        r = {x["backend"]: x for x in layer["results"]}
        rows[layer["name"]] = {"default": r["default"]["gflops"], "onednn": r["onednn"]["gflops"],
                               "ok": r["default"]["ok"]}
    return rows


def recheck(layer, threads, args):
    """The default row of one layer, old and new alternating, `args.recheck` runs each."""
    speeds = {"old": [], "new": []}
    for i in range(args.recheck):
        for tag in (("old", "new") if i % 2 == 0 else ("new", "old")):
            d = run_json([getattr(args, tag), "bench", "--workload", layer, "--backends", "default", "--threads",
                          str(threads), "--repeat", str(args.repeat), "--min-repeat-ms", str(args.min_repeat_ms), "--json"])
            speeds[tag].append(d["layers"][0]["results"][0]["gflops"])
    return statistics.median(speeds["new"]) / statistics.median(speeds["old"])


def tune(binary, layer, args, tmp, tag):
    db = os.path.join(tmp, f"{tag}-{layer.replace(':', '_')}.jsonl")
    d = run_json([binary, "tune", "--workload", layer, "--trials", str(args.trials), "--seed", "1", "--db", db, "--json"])
    return {"best": d["best"]["gflops"], "seconds_per_trial": d["seconds_per_trial"], "default": d["default_gflops"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", required=True)
    ap.add_argument("--new", required=True)
    ap.add_argument("--suites", default="resnet18,mobilenet")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--min-repeat-ms", type=float, default=100)
    ap.add_argument("--tune-layers", default="resnet18:C2,resnet18:C9,mobilenet:D3")
    ap.add_argument("--trials", type=int, default=48)
    ap.add_argument("--recheck", type=int, default=6, help="alternating runs for a layer over 3%% slower (0: none)")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    result = {"bench": {}, "tune": {}}
    for suite in args.suites.split(","):
        for threads in [int(t) for t in args.threads.split(",")]:
            runs = {"old": [], "new": []}
            for _ in range(args.rounds):
                for tag in ("old", "new"):
                    runs[tag].append(bench(getattr(args, tag), suite, threads, args))
            table = {}
            for layer in runs["old"][0]:
                med = {tag: statistics.median(r[layer]["default"] for r in runs[tag]) for tag in runs}
                vs = {tag: statistics.median(r[layer]["default"] / r[layer]["onednn"] for r in runs[tag]) for tag in runs}
                table[layer] = {"old_gflops": med["old"], "new_gflops": med["new"], "new_over_old": med["new"] / med["old"],
                                "old_vs_onednn": vs["old"], "new_vs_onednn": vs["new"],
                                "ok": all(r[layer]["ok"] for tag in runs for r in runs[tag])}
            result["bench"][f"{suite}-t{threads}"] = table
            print(f"\n{suite}, {threads} thread(s): default row, new/old (median of {args.rounds} rounds)")
            for layer, t in table.items():
                if t["new_over_old"] < 0.97 and args.recheck:
                    t["recheck_new_over_old"] = recheck(layer, threads, args)
                flag = ""
                if t["new_over_old"] < 0.97:
                    again = t.get("recheck_new_over_old")
                    flag = "  <-- slower by more than 3%" + (f"; alone, alternating: {again:.3f}" if again else "")
                print(f"  {layer:14s} old {t['old_gflops']:7.1f}  new {t['new_gflops']:7.1f}  new/old {t['new_over_old']:.3f}"
                      f"  vs oneDNN old {t['old_vs_onednn']:.2f} new {t['new_vs_onednn']:.2f}{flag}")
            ratios = [t["new_over_old"] for t in table.values()]
            print(f"  geomean new/old {statistics.geometric_mean(ratios):.3f}")
    with tempfile.TemporaryDirectory() as tmp:
        print(f"\ntune, {args.trials} trials, seed 1, fresh database each")
        for layer in [l for l in args.tune_layers.split(",") if l]:
            old = tune(args.old, layer, args, tmp, "old")
            new = tune(args.new, layer, args, tmp, "new")
            result["tune"][layer] = {"old": old, "new": new, "best_new_over_old": new["best"] / old["best"],
                                     "trial_cost_new_over_old": new["seconds_per_trial"] / old["seconds_per_trial"]}
            r = result["tune"][layer]
            print(f"  {layer:14s} best old {old['best']:7.1f} new {new['best']:7.1f}  new/old {r['best_new_over_old']:.3f}"
                  f"  s/trial old {old['seconds_per_trial']:.3f} new {new['seconds_per_trial']:.3f}"
                  f"  ({r['trial_cost_new_over_old']:.2f}x)")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
