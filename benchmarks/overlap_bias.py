#!/usr/bin/env python3
"""Does compiling the next candidate while one is timed change the timings?

Runs the same random-searcher session (same seed, so the same configs) twice with the compile
overlapped and twice with `--serial-compile`, alternating, then compares each config's GFLOP/s
across runs: the median ratio (a bias) and the median |log ratio| (the disagreement). The
serial-vs-serial disagreement is the machine's own noise to compare against.

    python3 benchmarks/overlap_bias.py --layers C2,C6,C11 --trials 24
"""
import argparse, json, math, os, statistics, subprocess, tempfile


def session(args, layer, db, serial):
    cmd = [args.convtune, "tune", "--workload", f"{args.suite}:{layer}", "--tuner", "random", "--seed", "1",
           "--trials", str(args.trials), "--db", db, "--json"]
    if serial:
        cmd.append("--serial-compile")
    subprocess.run(cmd, check=True, capture_output=True, text=True)


def speeds(db):
    out = {}
    for line in open(db):
        r = json.loads(line)
        if r.get("ok"):
            out[(r["workload_key"], json.dumps(r["config"], sort_keys=True))] = r["gflops"]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--convtune", default=os.path.join(os.path.dirname(__file__), "..", "build", "convtune"))
    ap.add_argument("--suite", default="resnet18")
    ap.add_argument("--layers", default="C2,C6,C11")
    ap.add_argument("--trials", type=int, default=24)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = {name: os.path.join(tmp, name + ".jsonl") for name in ("overlap1", "serial1", "overlap2", "serial2")}
        for layer in args.layers.split(","):
            for name, db in runs.items():  # alternating, so a slow phase falls on both modes
                session(args, layer, db, serial=name.startswith("serial"))
        data = {name: speeds(db) for name, db in runs.items()}
    common = set.intersection(*(set(d) for d in data.values()))
    print(f"{len(common)} configs measured in all four runs")
    for a, b in (("overlap1", "serial1"), ("overlap2", "serial2"), ("overlap1", "overlap2"), ("serial1", "serial2")):
        logs = [math.log(data[a][k] / data[b][k]) for k in common]
        print(f"  {a:9} / {b:9}: median ratio {math.exp(statistics.median(logs)):.3f}"
              f"  median |log ratio| {statistics.median(abs(x) for x in logs):.3f}")


if __name__ == "__main__":
    main()
