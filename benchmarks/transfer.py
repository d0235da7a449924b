#!/usr/bin/env python3
"""Transfer and zero-shot configs, leave one network out.

Layers: ResNet-18 (suite resnet18), MobileNet (suite mobilenet) and 37 conv layers of other real
networks (shapes from torchvision's definitions: odd channels, 1x1, grouped, depthwise 5x5,
dilated, strided, asymmetric kernels and pads, 1x1 spatial, batch 2), grouped by network.

1. Base: every layer tuned alone in a fresh database (`--trials-base`, bted): the tuning curve
   without transfer (no history: the hand default and bted's design batch start it).
2. Transfer: for each network held out, a database holding the base records of every other
   network; each held-out layer tuned on a copy of it with `--transfer` (`--trials-transfer`):
   the first batch starts from the zero-shot configs, the model is warmed with the history.
3. Zero-shot: `convtune bench --backends onednn,predicted,tuned` on the held-out history plus
   the layer's own records, side by side in one run: the predicted config (from the other
   networks alone: bench leaves the layer's own records out of the prediction) against the
   best-known config and oneDNN.

Best-known: the fastest config measured for the layer in any run. Reported per layer and as
medians: trials to reach 95% and 99% of it with and without transfer, zero-shot / best-known,
zero-shot / oneDNN.

Runs are saved under --out as they finish; rerunning with the same --out skips them.
`--compare-with OLD_BINARY` times OLD's zero-shot config (from the same history) in the same
bench run as ours, for a change to the zero-shot model; `--skip-transfer` leaves out step 2.

    /usr/bin/python3 benchmarks/transfer.py --out /tmp/transfer [--networks resnet18,googlenet]
"""
import argparse, json, os, shutil, statistics, subprocess, sys, time

# Shapes: torchvision's model definitions at 224x224 (Inception-v3 at 299x299), batch 1 unless said.
OTHER_NETWORKS = {
    "squeezenet1_1": [
        ("conv1", "n=1,c=3,h=224,w=224,k=64,r=3,s=3,stride=2"),
        ("fire2.squeeze", "n=1,c=64,h=55,w=55,k=16,r=1,s=1"),
        ("fire2.expand3x3", "n=1,c=16,h=55,w=55,k=64,r=3,s=3,pad=1"),
        ("fire4.squeeze", "n=1,c=128,h=27,w=27,k=32,r=1,s=1"),
        ("fire4.expand3x3", "n=1,c=32,h=27,w=27,k=128,r=3,s=3,pad=1"),
        ("fire8.expand1x1", "n=1,c=64,h=13,w=13,k=256,r=1,s=1"),
    ],
    "googlenet": [
        ("conv2", "n=1,c=64,h=56,w=56,k=64,r=1,s=1"),
        ("conv3", "n=1,c=64,h=56,w=56,k=192,r=3,s=3,pad=1"),
        ("inception3a.branch2.0", "n=1,c=192,h=28,w=28,k=96,r=1,s=1"),
        ("inception3a.branch2.1", "n=1,c=96,h=28,w=28,k=128,r=3,s=3,pad=1"),
        ("inception3a.branch3.1", "n=1,c=16,h=28,w=28,k=32,r=3,s=3,pad=1"),
        ("inception5a.branch4.1", "n=1,c=832,h=7,w=7,k=128,r=1,s=1"),
    ],
    "densenet121": [
        ("block1.layer3.conv1", "n=1,c=128,h=56,w=56,k=128,r=1,s=1"),
        ("block1.layer3.conv2", "n=1,c=128,h=56,w=56,k=32,r=3,s=3,pad=1"),
        ("block2.layer6.conv1", "n=1,c=288,h=28,w=28,k=128,r=1,s=1"),
        ("block3.layer10.conv1", "n=1,c=544,h=14,w=14,k=128,r=1,s=1"),
        ("transition2.conv", "n=1,c=512,h=28,w=28,k=256,r=1,s=1"),
    ],
    "shufflenet_v2_x0_5": [
        ("stage2.0.branch1.0", "n=1,c=24,h=56,w=56,k=24,r=3,s=3,stride=2,pad=1,groups=24"),
        ("stage3.1.branch2.0", "n=1,c=48,h=14,w=14,k=48,r=1,s=1"),
        ("stage4.1.branch2.3", "n=1,c=96,h=7,w=7,k=96,r=3,s=3,pad=1,groups=96"),
    ],
    "resnext50_32x4d": [
        ("layer1.0.conv2", "n=1,c=128,h=56,w=56,k=128,r=3,s=3,pad=1,groups=32"),
        ("layer3.1.conv2", "n=1,c=512,h=14,w=14,k=512,r=3,s=3,pad=1,groups=32"),
    ],
    "regnet_x_400mf": [
        ("trunk_output.block2.1.f.b", "n=1,c=64,h=28,w=28,k=64,r=3,s=3,pad=1,groups=4"),
        ("trunk_output.block3.1.f.b", "n=1,c=160,h=14,w=14,k=160,r=3,s=3,pad=1,groups=10"),
    ],
    "efficientnet_b0": [
        ("features.4.0.block.1 (dw 5x5)", "n=1,c=240,h=28,w=28,k=240,r=5,s=5,pad=2,groups=240"),
        ("features.3.1.block.3 (project)", "n=1,c=240,h=28,w=28,k=40,r=1,s=1"),
        ("features.4.1.block.0 (expand)", "n=1,c=80,h=14,w=14,k=480,r=1,s=1"),
        ("features.7.0.block.0 (expand)", "n=1,c=192,h=7,w=7,k=1152,r=1,s=1"),
    ],
    "mobilenet_v3_small": [
        ("classifier.0 as 1x1", "n=1,c=576,h=1,w=1,k=1024,r=1,s=1"),
    ],
    "inception_v3": [
        ("Mixed_6b.branch7x7_2 (1x7)", "n=1,c=128,h=17,w=17,k=128,r=1,s=7,pad=0:3:0:3"),
        ("Mixed_6b.branch7x7_3 (7x1)", "n=1,c=128,h=17,w=17,k=192,r=7,s=1,pad=3:0:3:0"),
    ],
    "deeplabv3_resnet50": [
        ("backbone.layer3.1.conv2 (dilation 2)", "n=1,c=256,h=28,w=28,k=256,r=3,s=3,pad=2,dilation=2"),
        ("backbone.layer4 reduced (dilation 4)", "n=1,c=128,h=28,w=28,k=128,r=3,s=3,pad=4,dilation=4"),
    ],
    "batch2": [
        ("resnet50.layer3.conv1 n=2", "n=2,c=1024,h=14,w=14,k=256,r=1,s=1"),
        ("mobilenet_v2.features.3.conv.0 n=2", "n=2,c=24,h=56,w=56,k=144,r=1,s=1"),
    ],
    "odd": [
        ("odd channels 3x3", "n=1,c=37,h=19,w=19,k=53,r=3,s=3,pad=1:2:2:1"),
        ("odd channels stride 2", "n=1,c=3,h=30,w=30,k=17,r=3,s=3,stride=2,pad=1"),
    ],
}


def networks():
    nets = {"resnet18": [(f"C{i}", f"resnet18:C{i}") for i in range(1, 13)],
            "mobilenet": [(f"D{i}", f"mobilenet:D{i}") for i in range(2, 10)]}
    nets.update(OTHER_NETWORKS)
    return nets


def file_name(net, layer):
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in f"{net}__{layer}") + ".jsonl"


def timing_flags(args):
    return ["--repeat", "3", "--min-repeat-ms", "20"] if args.quick else []


def tune(args, spec, db, trials, transfer):
    cmd = [args.convtune, "tune", "--workload", spec, "--trials", str(trials), "--threads", "1", "--db", db, "--json"]
    cmd += timing_flags(args)
    if transfer:
        cmd.append("--transfer")
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def saved(path, fresh):
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    result = fresh()
    with open(path + ".tmp", "w") as f:
        json.dump(result, f)
    os.replace(path + ".tmp", path)
    return result


def predicted_by(binary, spec, db):
    """The zero-shot config `binary` predicts for `spec` from `db`, as a schedule file's JSON."""
    cmd = [binary, "bench", "--workload", spec, "--backends", "predicted", "--threads", "1", "--db", db, "--json",
           "--repeat", "1", "--min-repeat-ms", "1"]
    row = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)["layers"][0]["results"][0]
    # "predicted from N other layers' records: TEMPLATE {config}"
    template, config = row["detail"].split(": ", 1)[1].split(" ", 1)
    return {"template": template, "config": json.loads(config)}


def trials_to(curve, level):
    return next((i + 1 for i, g in enumerate(curve) if g >= level), None)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--convtune", default="build/convtune")
    p.add_argument("--out", required=True, help="folder for databases and results (reruns skip what is there)")
    p.add_argument("--networks", default="", help="comma list (default: all)")
    p.add_argument("--trials-base", type=int, default=48)
    p.add_argument("--trials-transfer", type=int, default=16)
    p.add_argument("--quick", action="store_true", help="shorter timing (3 measurements of 20 ms)")
    p.add_argument("--compare-with", default="",
                   help="another convtune binary: its zero-shot config for each held-out layer (from the same history) is "
                        "timed in the same bench run as ours (zs_old/best)")
    p.add_argument("--skip-transfer", action="store_true",
                   help="zero-shot only: no transfer sessions (best-known is the base session's best)")
    args = p.parse_args()
    nets = networks()
    chosen = [n for n in args.networks.split(",") if n] or list(nets)
    for n in chosen:
        if n not in nets:
            sys.exit(f"--networks: unknown network '{n}' (known: {', '.join(nets)})")
    for sub in ("base", "transfer", "results"):
        os.makedirs(os.path.join(args.out, sub), exist_ok=True)

    # 1. Every layer of every network alone (the history of the others is made of these).
    start = time.time()
    for net, layers in nets.items():
        for name, spec in layers:
            db = os.path.join(args.out, "base", file_name(net, name))
            saved(db + ".result.json", lambda: tune(args, spec, db, args.trials_base, transfer=False))
            print(f"[{time.time() - start:7.0f}s] base {net} {name}", file=sys.stderr)

    rows = []
    for held in chosen:
        history = os.path.join(args.out, "transfer", f"history-without-{held}.jsonl")
        with open(history, "w") as out:
            for net, layers in nets.items():
                if net == held:
                    continue
                for name, _ in layers:
                    with open(os.path.join(args.out, "base", file_name(net, name))) as f:
                        out.write(f.read())
        for name, spec in nets[held]:
            base_db = os.path.join(args.out, "base", file_name(held, name))
            db = os.path.join(args.out, "transfer", file_name(held, name))

            # 2. Tuned again from the other networks' history.
            def with_transfer():
                shutil.copyfile(history, db)
                return tune(args, spec, db, args.trials_transfer, transfer=True)
            transferred = {"curve": []} if args.skip_transfer else saved(db + ".result.json", with_transfer)

            # 3. Zero-shot vs best-known vs oneDNN, side by side.
            def side_by_side():
                both = db + ".bench.jsonl"
                with open(both, "w") as out:
                    for src in (history, base_db):
                        with open(src) as f:
                            out.write(f.read())
                    if not args.skip_transfer:
                        # The transfer run's own records of this layer: best-known over both runs.
                        with open(db) as f:
                            lines = f.readlines()
                        with open(history) as f:
                            out.writelines(lines[sum(1 for _ in f):])
                backends = "onednn,predicted,tuned"
                if args.compare_with:
                    schedule = db + ".old-predicted.json"
                    with open(schedule, "w") as f:
                        json.dump(predicted_by(args.compare_with, spec, both), f)
                    backends += ",schedule:" + schedule
                cmd = [args.convtune, "bench", "--workload", spec, "--backends", backends, "--threads", "1",
                       "--db", both, "--json"] + timing_flags(args)
                return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            bench = saved(db + ".bench.json", side_by_side)

            with open(base_db + ".result.json") as f:
                base = json.load(f)
            best = max(max(base["curve"], default=0), max(transferred["curve"], default=0))
            results = {r["backend"]: r for r in bench["layers"][0]["results"]}
            pred, tuned, dnnl = (results.get(b, {}) for b in ("predicted", "tuned", "onednn"))
            row = {"network": held, "layer": name, "spec": spec, "best_known_gflops": best,
                   "first_transfer_gflops": transferred["curve"][0] if transferred["curve"] else 0}
            for level in (0.95, 0.99):
                row[f"base_{int(level * 100)}"] = trials_to(base["curve"], level * best)
                row[f"transfer_{int(level * 100)}"] = trials_to(transferred["curve"], level * best)
            ok = pred.get("ok") and tuned.get("ok")
            row["zero_shot_vs_best"] = pred["gflops"] / tuned["gflops"] if ok else None
            row["zero_shot_vs_onednn"] = pred["gflops"] / dnnl["gflops"] if pred.get("ok") and dnnl.get("ok") else None
            row["best_vs_onednn"] = tuned["gflops"] / dnnl["gflops"] if tuned.get("ok") and dnnl.get("ok") else None
            row["zero_shot_detail"] = pred.get("detail", pred.get("unavailable", ""))
            old = next((r for b, r in results.items() if b.startswith("schedule:")), None)
            if old is not None:
                row["zero_shot_old_vs_best"] = old["gflops"] / tuned["gflops"] if old.get("ok") and tuned.get("ok") else None
            rows.append(row)
            print(f"[{time.time() - start:7.0f}s] {held} {name}: zero-shot {row['zero_shot_vs_best']}, "
                  f"99% in {row['transfer_99']} (transfer) vs {row['base_99']} (none)", file=sys.stderr)

    def med(key, missing):
        vals = [r[key] if r[key] is not None else missing for r in rows]
        return statistics.median(vals) if vals else None
    zs = [r["zero_shot_vs_best"] for r in rows if r["zero_shot_vs_best"] is not None]
    summary = {
        "layers": len(rows),
        "trials_base": args.trials_base, "trials_transfer": args.trials_transfer,
        "median_trials_to_95_without": med("base_95", 2 * args.trials_base),
        "median_trials_to_99_without": med("base_99", 2 * args.trials_base),
        "median_trials_to_95_with": None if args.skip_transfer else med("transfer_95", 2 * args.trials_transfer),
        "median_trials_to_99_with": None if args.skip_transfer else med("transfer_99", 2 * args.trials_transfer),
        "zero_shot_vs_best_median": statistics.median(zs) if zs else None,
        "zero_shot_vs_best_min": min(zs) if zs else None,
        "zero_shot_below_0.6": sum(1 for z in zs if z < 0.6),
        "zero_shot_old_vs_best_median": statistics.median(
            [r["zero_shot_old_vs_best"] for r in rows if r.get("zero_shot_old_vs_best")] or [0]),
        "zero_shot_old_vs_best_min": min([r["zero_shot_old_vs_best"] for r in rows if r.get("zero_shot_old_vs_best")] or [0]),
        "zero_shot_vs_onednn_median": statistics.median([r["zero_shot_vs_onednn"] for r in rows if r["zero_shot_vs_onednn"]] or [0]),
        "best_vs_onednn_median": statistics.median([r["best_vs_onednn"] for r in rows if r["best_vs_onednn"]] or [0]),
        "note": "trials_to counts a layer that never reached the level as twice its budget",
    }
    out = {"summary": summary, "rows": rows}
    path = os.path.join(args.out, "results", "transfer.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print(f"{'network':20} {'layer':38} {'95% w/o':>7} {'95% w':>6} {'99% w/o':>7} {'99% w':>6} {'zs/best':>8} {'zs/dnnl':>8} {'zsold/best':>8}")
    fmt = lambda v: "-" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v))
    for r in rows:
        print(f"{r['network']:20} {r['layer'][:38]:38} {fmt(r['base_95']):>7} {fmt(r['transfer_95']):>6} {fmt(r['base_99']):>7} "
              f"{fmt(r['transfer_99']):>6} {fmt(r['zero_shot_vs_best']):>8} {fmt(r['zero_shot_vs_onednn']):>8} {fmt(r.get('zero_shot_old_vs_best')):>8}")
    print(json.dumps(summary, indent=1))
    print(f"written: {path}")


if __name__ == "__main__":
    main()
