#!/usr/bin/env python3
"""Do two convtune builds lower the same schedules to the same nest? For every record of a
tuning database (any template, any config), runs the record's schedule with both binaries and
compares the IR after the unroll step (the last step before codegen), comment lines dropped;
each run is also checked against the reference. No timing: identical nests compile to
identical kernels.

    /usr/bin/python3 benchmarks/same_nests.py --old ../build-old/convtune --new build/convtune --db tuned.jsonl
"""
import argparse, json, os, subprocess, tempfile


def spec_of(w):
    spec = (f"n={w['n']},c={w['c']},h={w['h']},w={w['w']},k={w['k']},r={w['r']},s={w['s']},"
            f"stride={w['stride_h']}:{w['stride_w']},pad={w['pad_top']}:{w['pad_left']}:{w['pad_bottom']}:{w['pad_right']},"
            f"dilation={w['dilation_h']}:{w['dilation_w']},groups={w['groups']}")
    return spec + "".join(f",{k}={w[k]}" for k in ("op", "epilogue", "count_include_pad") if k in w)


def nest_after_unroll(binary, spec, schedule_file):
    p = subprocess.run([binary, "run", "--workload", spec, "--schedule", schedule_file, "--repeat", "1",
                        "--min-repeat-ms", "1", "--dump-ir"], capture_output=True, text=True)
    text = p.stderr.split("// ---- after unroll")[-1].split("; ---- after codegen")[0]
    return "\n".join(l for l in text.splitlines() if not l.strip().startswith("// ")), "check      ok" in p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", required=True)
    ap.add_argument("--new", required=True)
    ap.add_argument("--db", required=True)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="same_nests_")
    same = different = failed = 0
    for i, line in enumerate(open(args.db)):
        r = json.loads(line)
        if "schedule" not in r:
            continue
        schedule = dict(r["schedule"])
        schedule.setdefault("template", r["template_name"])
        path = os.path.join(work, "schedule.json")
        with open(path, "w") as f:
            json.dump(schedule, f)
        spec = spec_of(r["workload"])
        (old, old_ok), (new, new_ok) = nest_after_unroll(args.old, spec, path), nest_after_unroll(args.new, spec, path)
        if not (old_ok and new_ok):
            failed += 1
            print(f"record {i}: {spec} {r['template_name']}: check failed (old {old_ok}, new {new_ok})")
        if old == new:
            same += 1
        else:
            different += 1
            print(f"record {i}: {spec} {r['template_name']}: DIFFERENT nest")
    print(f"{same} identical, {different} different, {failed} failing the check")
    raise SystemExit(1 if different or failed else 0)


if __name__ == "__main__":
    main()
