#!/usr/bin/env python3
"""Does a change make whole networks faster? Two builds' `run --model`, side by side on one machine.

For each model and thread count, rounds alternate the old and the new binary (old, new, old,
new, ...), each `run --model --json` (checked against the reference interpreter: a wrong result
fails the script); the median over rounds of each run's median time, and new/old. The models are
the .onnx files benchmarks/networks.py exports, or any others. A model a binary refuses is
reported and skipped.

    /usr/bin/python3 benchmarks/networks_before_after.py --old ../build-old/convtune --new build/convtune \\
        --models /tmp/convtune-networks/resnet18_1x3x224x224_bnrand.onnx,... --threads-list 1,2 --rounds 5 \\
        --json benchmarks/raw/networks-before-after-DATE.json
"""
import argparse, json, os, statistics, subprocess, sys


def run_model(binary, model, threads, args):
    cmd = [binary, "run", "--model", model, "--threads", str(threads), "--repeat", str(args.repeat),
           "--min-repeat-ms", str(args.min_repeat_ms), "--json"] + (["--db", args.db] if args.db else [])
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    j = json.loads(p.stdout)
    return j["median_ms"], j.get("blocked_tensors"), j.get("intermediate_tensors")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", required=True)
    ap.add_argument("--new", required=True)
    ap.add_argument("--models", required=True, help="comma-separated .onnx paths")
    ap.add_argument("--threads-list", default="1")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--min-repeat-ms", type=float, default=200)
    ap.add_argument("--db", default="", help="both run with --db FILE (the same configs)")
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    results = []
    print(f"{'model':<40} {'thr':>3} {'old ms':>9} {'new ms':>9} {'new/old':>8}  blocked (new)")
    for model in args.models.split(","):
        for threads in [int(t) for t in args.threads_list.split(",")]:
            times = {"old": [], "new": []}
            blocked = None
            try:
                for _ in range(args.rounds):
                    for side in ("old", "new"):
                        ms, b, total = run_model(getattr(args, side), model, threads, args)
                        times[side].append(ms)
                        if side == "new" and b is not None:
                            blocked = f"{b} of {total}"
            except RuntimeError as e:  # on to the next model (an old build may not import it)
                print(f"{os.path.basename(model)} skipped: {e}", file=sys.stderr, flush=True)
                results.append({"model": os.path.basename(model), "threads": threads, "error": str(e)})
                continue
            old, new = statistics.median(times["old"]), statistics.median(times["new"])
            name = os.path.basename(model)
            print(f"{name:<40} {threads:>3} {old:>9.3f} {new:>9.3f} {new / old:>8.3f}  {blocked or '-'}", flush=True)
            results.append({"model": name, "threads": threads, "old_ms": times["old"], "new_ms": times["new"],
                            "old_median_ms": old, "new_median_ms": new, "new_over_old": new / old, "blocked": blocked})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"old": args.old, "new": args.new, "db": args.db, "rounds": args.rounds, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
