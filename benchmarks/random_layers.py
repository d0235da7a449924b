#!/usr/bin/env python3
"""Seeded random convolutions through every template that applies, each checked against the reference.

The suites name a few dozen layers; users bring any. This draws layers no issue names (odd
channel counts, 1x1 to 40x40 inputs, kernels 1/3/5/7 and asymmetric ones, strides 1-3,
dilation 2, asymmetric pads up to 3, groups, depthwise, batch 2, epilogues) and runs each
template's default config and one random config of its space (`convtune space --json`) with
`convtune run`, which checks the result against the reference convolution before timing it.
With --sparsity the weights are pruned and the sparse template joins. Any failure is printed
with the command that reproduces it; the exit status is the number of failures (capped at 100).

    /usr/bin/python3 benchmarks/random_layers.py --binary build/convtune --seed 1 --layers 100 [--sparsity 0.85]
"""
import argparse, json, os, random, subprocess, sys, tempfile


def random_spec(rng):
    r = rng.choice([1, 3, 5, 7])
    s = r if rng.random() < 0.8 else rng.choice([1, 3])
    depthwise = rng.random() < 0.2
    groups = 1 if depthwise or rng.random() < 0.8 else rng.choice([2, 3, 4])
    c = rng.randint(1, 40) * (1 if depthwise else groups)
    k = c if depthwise else rng.randint(1, 40) * groups
    dilation = rng.choice([1, 1, 1, 2])
    pads = [rng.randint(0, 3) for _ in range(4)]
    spec = (f"n={rng.choice([1, 1, 2])},c={c},h={rng.randint(1, 40)},w={rng.randint(1, 40)},k={k},r={r},s={s},"
            f"stride={rng.choice([1, 1, 2, 3])},dilation={dilation},pad={':'.join(map(str, pads))},"
            f"groups={c if depthwise else groups}")
    return spec + rng.choice(["", "", ",epilogue=bias_relu", ",epilogue=bias_add_relu"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default="build/convtune")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--layers", type=int, default=100)
    ap.add_argument("--sparsity", default="", help="prune the weights (the sparse template applies then)")
    ap.add_argument("--target", default="cpu")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    weights = ["--sparsity", args.sparsity] if args.sparsity else []
    work = tempfile.mkdtemp(prefix="convtune_random_layers_")
    runs = invalid = 0
    failures = []
    for i in range(args.layers):
        spec = random_spec(rng)
        space = subprocess.run([args.binary, "space", "--workload", spec, "--target", args.target, "--json"] + weights,
                               capture_output=True, text=True)
        if space.returncode != 0:
            invalid += 1  # a kernel larger than the padded input: refused in one line, as it should be
            continue
        for t in json.loads(space.stdout)["templates"]:
            random_config = {knob["name"]: rng.choice(knob["values"]) for knob in t["knobs"]}
            path = os.path.join(work, f"{i}_{t['template']}.json")
            with open(path, "w") as f:
                json.dump({"template": t["template"], "config": random_config}, f)
            for schedule in (t["template"], path):
                cmd = [args.binary, "run", "--workload", spec, "--target", args.target, "--schedule", schedule,
                       "--repeat", "1", "--min-repeat-ms", "1"] + weights
                runs += 1
                p = subprocess.run(cmd, capture_output=True, text=True)
                if p.returncode != 0:
                    lines = [l for l in (p.stdout + p.stderr).splitlines() if "check" in l or "error" in l]
                    failures.append(" ".join(cmd) + (f"  ({json.dumps(random_config)})" if schedule == path else ""))
                    print(f"FAIL {t['template']} {spec}: {lines[:2]}", flush=True)
    print(f"{args.layers} layers ({invalid} refused as invalid), {runs} kernels run and checked, {len(failures)} wrong or failed")
    for f in failures:
        print("  " + f)
    sys.exit(min(len(failures), 100))


if __name__ == "__main__":
    main()
