#!/usr/bin/env python3
"""convtune's searchers against the ones its users would otherwise pick, at equal trial budgets.

Every searcher tunes the same layers with the same budget, several seeds each, a fresh database
per run:
  - bted, gp:   `convtune tune --tuner NAME` (convtune's own loop);
  - xgb-sa:     AutoTVM's recipe: an XGBoost ranking model on the knob values, simulated annealing
                over the model's prediction, batches of 8 (epsilon-greedy: 5% random picks);
  - optuna-tpe: Optuna's TPE sampler, the template and then that template's knobs suggested
                define-by-run (a conditional space), batches of 8 through ask/tell;
  - random:     uniform over the union of the templates' spaces.
The peers drive convtune through its open interface: `convtune space --json` for the knobs and
`convtune measure --configs` to measure a batch (the isolated worker; the same database format).
Every searcher starts with each template's default config, as `convtune tune` does, so the
comparison is of the search, not of the starting point.

Reported: best-so-far relative to the best config any run found for the layer, median over seeds
and then layers, at 8/16/32/64 trials; and trials to reach 90/95/99% of it (twice the budget when
never reached). Twice: as measured, and with common values, where every trial of a config reads
that config's median over every run of the layer that measured it. A config timed once reads
its one time either way; one that several runs measured (the defaults, the good configs every
searcher finds) reads the same for all of them, so a searcher is not favoured by the moment its
run happened to time it (this machine's timings drift by 10% over minutes). And a third time with the
best `--recheck` configs of each layer timed again, `--recheck-rounds` rounds of all of them, and
read at their median: the level every searcher is measured against is then not one lucky timing. Needs Debian's python3-xgboost and python3-optuna (`./bootstrap.sh benchmarks`).

    /usr/bin/python3 benchmarks/peer_searchers.py --out /tmp/peers [--seeds 2] [--trials 64]
"""
import argparse, json, math, os, random, statistics, subprocess, sys, tempfile, time

LAYERS = [
    ("resnet18:C2", "resnet18:C2"),
    ("resnet18:C6", "resnet18:C6"),
    ("resnet18:C9", "resnet18:C9"),
    ("resnet18:C12", "resnet18:C12"),
    ("mobilenet:D3", "mobilenet:D3"),
    ("googlenet inception3a.branch2.1", "n=1,c=96,h=28,w=28,k=128,r=3,s=3,pad=1"),
    ("efficientnet_b0 dw 5x5", "n=1,c=240,h=28,w=28,k=240,r=5,s=5,pad=2,groups=240"),
    ("odd channels 3x3", "n=1,c=37,h=19,w=19,k=53,r=3,s=3,pad=1:2:2:1"),
]
SEARCHERS = ["bted", "gp", "xgb-sa", "optuna-tpe", "random"]
BATCH = 8
LEVELS = (0.90, 0.95, 0.99)
CHECKPOINTS = (8, 16, 32, 64)


class Space:
    """The union of a layer's template spaces, as `convtune space --json` prints it."""

    def __init__(self, doc):
        self.templates = [(t["template"], [(k["name"], k["values"]) for k in t["knobs"]], t["default_config"]) for t in doc["templates"]]
        self.sizes = [math.prod(len(v) for _, v in knobs) for _, knobs, _ in self.templates]

    def defaults(self):
        return [(name, dict(default)) for name, _, default in self.templates]

    def random(self, rng):
        i = rng.choices(range(len(self.templates)), weights=self.sizes)[0]
        name, knobs, _ = self.templates[i]
        return name, {k: rng.choice(v) for k, v in knobs}

    def neighbour(self, point, rng):
        """One knob moved to another value (or, rarely, a random point of another template)."""
        name, config = point
        knobs = next(k for n, k, _ in self.templates if n == name)
        movable = [(k, v) for k, v in knobs if len(v) > 1]
        if not movable or rng.random() < 0.05:
            return self.random(rng)
        k, values = rng.choice(movable)
        out = dict(config)
        out[k] = rng.choice([v for v in values if v != config[k]])
        return name, out

    def features(self, point):
        """One-hot template, then every template's knobs as value indices (-1 when another template's)."""
        name, config = point
        f = [1.0 if n == name else 0.0 for n, _, _ in self.templates]
        for n, knobs, _ in self.templates:
            for k, values in knobs:
                f.append(float(values.index(config[k])) if n == name else -1.0)
        return f


def key(point):
    return point[0] + json.dumps(point[1], sort_keys=True)


def measure(args, spec, db, points):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump([{"template": n, "config": c} for n, c in points], f)
        path = f.name
    try:
        cmd = [args.convtune, "measure", "--workload", spec, "--configs", path, "--db", db, "--threads", "1", "--json"] + QUICK_TIMING
        out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    finally:
        os.unlink(path)
    return [r["gflops"] if r["ok"] else 0.0 for r in out["results"]]


# Every searcher's trials are timed alike, shorter than convtune's default (3 x 20 ms).
QUICK_TIMING = ["--repeat", "3", "--min-repeat-ms", "20"]


def run_random(args, spec, space, seed, db):
    rng = random.Random(seed)
    seen, curve = set(), []
    pending = space.defaults()
    while len(curve) < args.trials:
        while len(pending) < BATCH:
            p = space.random(rng)
            if key(p) not in seen and key(p) not in {key(q) for q in pending}:
                pending.append(p)
        batch = pending[:min(BATCH, args.trials - len(curve))]
        pending = pending[len(batch):]
        seen.update(key(p) for p in batch)
        curve += measure(args, spec, db, batch)
    return curve


def run_xgb_sa(args, spec, space, seed, db):
    import numpy as np
    import xgboost as xgb
    rng = random.Random(seed)
    measured, gflops, curve = [], [], []
    seen = set()

    def unseen_random(taken):
        while True:
            p = space.random(rng)
            if key(p) not in seen and key(p) not in taken:
                return p

    batch = space.defaults()
    while len(curve) < args.trials:
        if not batch:
            # AutoTVM's XGBTuner: a ranking objective on the knob features, then simulated
            # annealing over the prediction from the best measured points and random ones.
            train = xgb.DMatrix(np.array([space.features(p) for p in measured]), label=np.array(gflops) / max(max(gflops), 1e-9))
            model = xgb.train({"objective": "rank:pairwise", "max_depth": 3, "eta": 0.3, "seed": seed, "nthread": 1}, train,
                              num_boost_round=100)
            predict = lambda pts: list(model.predict(xgb.DMatrix(np.array([space.features(p) for p in pts]))))
            order = sorted(range(len(gflops)), key=lambda i: -gflops[i])
            chains = [measured[i] for i in order[:8]] + [space.random(rng) for _ in range(56)]
            scores = predict(chains)
            top, temp = {}, 1.0
            for _ in range(60):
                moves = [space.neighbour(c, rng) for c in chains]
                new = predict(moves)
                for i in range(len(chains)):
                    if new[i] > scores[i] or rng.random() < math.exp((new[i] - scores[i]) / max(temp, 1e-3)):
                        chains[i], scores[i] = moves[i], new[i]
                        if key(moves[i]) not in seen:
                            top[key(moves[i])] = (new[i], moves[i])
                temp *= 0.9
            taken = set()
            for _, p in sorted(top.values(), key=lambda t: -t[0]):
                if len(batch) >= BATCH:
                    break
                p = unseen_random(taken) if rng.random() < 0.05 else p  # epsilon-greedy
                if key(p) not in taken:
                    batch.append(p)
                    taken.add(key(p))
            while len(batch) < BATCH:
                p = unseen_random(taken)
                batch.append(p)
                taken.add(key(p))
        batch = [p for p in batch if key(p) not in seen][:args.trials - len(curve)]
        results = measure(args, spec, db, batch)
        for p, g in zip(batch, results):
            seen.add(key(p))
            measured.append(p)
            gflops.append(g)
        curve += results
        batch = []
    return curve


def run_optuna(args, spec, space, seed, db):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    names = [n for n, _, _ in space.templates]
    for name, config in space.defaults():
        study.enqueue_trial({"template": name, **{f"{name}.{k}": v for k, v in config.items()}})
    seen, curve = {}, []
    rng = random.Random(seed)
    while len(curve) < args.trials:
        trials, batch, repeats = [], [], 0
        while len(batch) < min(BATCH, args.trials - len(curve)):
            if repeats >= 50:
                # TPE converged on what it has seen: the rest of the batch at random, enqueued
                # as fixed-parameter trials, so TPE learns from them too.
                point = space.random(rng)
                if key(point) in seen:
                    continue
                params = {"template": point[0], **{f"{point[0]}.{k}": v for k, v in point[1].items()}}
                study.enqueue_trial(params)
            t = study.ask()
            name = t.suggest_categorical("template", names)
            knobs = next(k for n, k, _ in space.templates if n == name)
            point = (name, {k: t.suggest_categorical(f"{name}.{k}", v) for k, v in knobs})
            if key(point) in seen:  # TPE proposes repeats: tell it what that config measured
                repeats += 1
                if seen[key(point)] is None:  # in this very batch: not measured yet
                    study.tell(t, state=optuna.trial.TrialState.FAIL)
                else:
                    study.tell(t, seen[key(point)])
                continue
            trials.append(t)
            batch.append(point)
            seen[key(point)] = None
        results = measure(args, spec, db, batch)
        for t, p, g in zip(trials, batch, results):
            seen[key(p)] = g
            study.tell(t, g)
        curve += results
    return curve


def run_convtune(args, spec, tuner, seed, db):
    cmd = [args.convtune, "tune", "--workload", spec, "--tuner", tuner, "--seed", str(seed), "--trials", str(args.trials),
           "--threads", "1", "--db", db, "--json"] + QUICK_TIMING
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)["curve"]


def file_tag(*parts):
    """A file name for a run (layer, searcher, seed) or a layer: other characters as '_'."""
    return "".join(ch if ch.isalnum() else "_" for ch in "__".join(str(p) for p in parts))


def best_so_far(curve):
    out, b = [], 0.0
    for g in curve:
        b = max(b, g)
        out.append(b)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--convtune", default="build/convtune")
    p.add_argument("--out", required=True)
    p.add_argument("--trials", type=int, default=64)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--searchers", default=",".join(SEARCHERS))
    p.add_argument("--layers", default="", help="comma list of layer names (default: all)")
    p.add_argument("--recheck", type=int, default=12, help="time each layer's best N configs again (0: no)")
    p.add_argument("--recheck-rounds", type=int, default=5)
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    searchers = args.searchers.split(",")
    layers = [l for l in LAYERS if not args.layers or l[0] in args.layers.split(",")]
    start = time.time()
    runs = {}
    for name, spec in layers:
        doc = json.loads(subprocess.run([args.convtune, "space", "--workload", spec, "--json"], check=True, capture_output=True, text=True).stdout)
        space = Space(doc)
        for searcher in searchers:
            for seed in range(1, args.seeds + 1):
                tag = file_tag(name, searcher, seed)
                path = os.path.join(args.out, tag + ".json")
                if os.path.exists(path):
                    with open(path) as f:
                        runs[(name, searcher, seed)] = json.load(f)
                    continue
                db = os.path.join(args.out, tag + ".jsonl")
                if os.path.exists(db):
                    os.unlink(db)
                if searcher in ("bted", "gp"):
                    curve = run_convtune(args, spec, searcher, seed, db)
                elif searcher == "xgb-sa":
                    curve = run_xgb_sa(args, spec, space, seed, db)
                elif searcher == "optuna-tpe":
                    curve = run_optuna(args, spec, space, seed, db)
                elif searcher == "random":
                    curve = run_random(args, spec, space, seed, db)
                else:
                    sys.exit(f"unknown searcher {searcher}")
                with open(path, "w") as f:
                    json.dump(curve, f)
                runs[(name, searcher, seed)] = curve
                print(f"[{time.time() - start:6.0f}s] {name} {searcher} seed {seed}: best {max(curve):.1f}", file=sys.stderr)

    # Each trial's config, from the run's database (records in trial order), for common values.
    configs, points = {}, {}
    for (name, searcher, seed) in runs:
        tag = file_tag(name, searcher, seed)
        with open(os.path.join(args.out, tag + ".jsonl")) as f:
            records = [json.loads(line) for line in f]
        configs[(name, searcher, seed)] = [key((r["template_name"], r["config"])) for r in records]
        for r in records:
            points[(name, key((r["template_name"], r["config"])))] = (r["template_name"], r["config"])
        if len(configs[(name, searcher, seed)]) != len(runs[(name, searcher, seed)]):
            sys.exit(f"{tag}: the database holds {len(configs[(name, searcher, seed)])} records, the curve {len(runs[(name, searcher, seed)])} trials")
    timings = {}
    for key_, keys in configs.items():
        for k, g in zip(keys, runs[key_]):
            timings.setdefault((key_[0], k), []).append(g)
    common = {key_: [statistics.median(timings[(key_[0], k)]) for k in keys] for key_, keys in configs.items()}
    report = {"as_measured": summarise(args, layers, searchers, runs), "common_values": summarise(args, layers, searchers, common)}
    if args.recheck:
        # The best configs decide every level; one lucky timing of a config one run measured
        # once would set the bar out of everyone's reach. Time each layer's best few again,
        # all in each round, and let them read the median of the rounds.
        rechecked = {}
        for name, spec in layers:
            values = {k: statistics.median(v) for (l, k), v in timings.items() if l == name}
            top = sorted(values, key=values.get, reverse=True)[:args.recheck]
            path = os.path.join(args.out, file_tag(name) + ".recheck.json")
            if not os.path.exists(path):
                db = path[:-len(".json")] + ".jsonl"
                rounds = [measure(args, spec, db, [points[(name, k)] for k in top]) for _ in range(args.recheck_rounds)]
                with open(path, "w") as f:
                    json.dump({"configs": top, "rounds": rounds}, f)
            with open(path) as f:
                doc = json.load(f)
            for i, k in enumerate(doc["configs"]):
                rechecked[(name, k)] = statistics.median(r[i] for r in doc["rounds"])
        fair = {key_: [rechecked.get((key_[0], k), statistics.median(timings[(key_[0], k)])) for k in keys]
                for key_, keys in configs.items()}
        report["common_values_best_rechecked"] = summarise(args, layers, searchers, fair)
    for title, summary in report.items():
        print(f"\n{title.replace('_', ' ')}:")
        print_summary(args, searchers, summary)
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump({"layers": [l[0] for l in layers], "seeds": args.seeds, "trials": args.trials, **report}, f, indent=1)


def summarise(args, layers, searchers, runs):
    summary = {}
    for searcher in searchers:
        at = {c: [] for c in CHECKPOINTS}
        reach = {l: [] for l in LEVELS}
        for name, _ in layers:
            best = max(max(runs[(name, s, seed)]) for s in searchers for seed in range(1, args.seeds + 1))
            per_seed_at = {c: [] for c in CHECKPOINTS}
            per_seed_reach = {l: [] for l in LEVELS}
            for seed in range(1, args.seeds + 1):
                bsf = best_so_far(runs[(name, searcher, seed)])
                for c in CHECKPOINTS:
                    per_seed_at[c].append(bsf[min(c, len(bsf)) - 1] / best)
                for l in LEVELS:
                    per_seed_reach[l].append(next((i + 1 for i, g in enumerate(bsf) if g >= l * best), 2 * args.trials))
            for c in CHECKPOINTS:
                at[c].append(statistics.median(per_seed_at[c]))
            for l in LEVELS:
                reach[l].append(statistics.median(per_seed_reach[l]))
        summary[searcher] = {"best_so_far_at": {c: statistics.median(at[c]) for c in CHECKPOINTS if c <= args.trials},
                             "trials_to": {f"{int(l * 100)}%": statistics.median(reach[l]) for l in LEVELS}}
    return summary


def print_summary(args, searchers, summary):
    print(f"{'searcher':12}" + "".join(f"{'@' + str(c):>8}" for c in CHECKPOINTS if c <= args.trials) +
          "".join(f"{'to ' + str(int(l * 100)) + '%':>8}" for l in LEVELS))
    for s in searchers:
        r = summary[s]
        print(f"{s:12}" + "".join(f"{r['best_so_far_at'][c]:8.3f}" for c in CHECKPOINTS if c <= args.trials) +
              "".join(f"{r['trials_to'][f'{int(l * 100)}%']:8.1f}" for l in LEVELS))


if __name__ == "__main__":
    main()
