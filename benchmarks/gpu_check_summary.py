#!/usr/bin/env python3
"""Summarises what benchmarks/gpu_device_check.sh wrote into DIR: per layer, how many sampled
configs were right on the GPU (and why the others failed), each bench row, and convtune's best
over PyTorch's (cuDNN) time on the same layer and batch. Prints a table, writes DIR/summary.json.

usage: gpu_check_summary.py DIR
"""
import json
import sys
from pathlib import Path


def objects(path):
    """The JSON objects of a file of concatenated (pretty-printed) documents."""
    if not path.exists():
        return []
    text, out, at = path.read_text(), [], 0
    decoder = json.JSONDecoder()
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            return out
        obj, at = decoder.raw_decode(text, at)
        out.append(obj)


def spec(workload):
    """The layer's shape as the torch script writes it (n, c, h, w, k, r, s, stride, pad, groups)."""
    w = workload
    s = f"n={w['n']},c={w['c']},h={w['h']},w={w['w']},k={w['k']},r={w['r']},s={w['s']}"
    return s, w["n"]


def main():
    root = Path(sys.argv[1])
    summary = {"measure": [], "bench": [], "vs_torch": []}
    print("== configs checked against the CPU reference, then timed")
    for m in objects(root / "measure.jsonl"):
        results = m.get("results", [])
        ok = [r for r in results if r.get("ok")]
        errors = sorted({str(r.get("error", ""))[:90] for r in results if not r.get("ok")})
        best = max((r["gflops"] for r in ok), default=0)
        row = {"workload": m["workload"], "configs": len(results), "ok": len(ok), "best_gflops": best, "errors": errors}
        summary["measure"].append(row)
        print(f"  {spec(m['workload'])[0]:58s} {len(ok)}/{len(results)} ok, best {best:9.1f} GFLOP/s  {' | '.join(errors)}")

    torch = {}
    tj = root / "torch.json"
    if tj.exists():
        t = json.loads(tj.read_text())
        summary["torch"] = {k: t.get(k) for k in ("device", "torch", "cudnn", "tf32")}
        for r in t["rows"]:
            torch[(r["spec"].split(",stride")[0].replace(f"n={r['batch']},", "", 1), r["batch"])] = r
    print("== bench (GPU rows; ratio = convtune GFLOP/s over PyTorch's conv2d, cuDNN, same layer and batch)")
    for b in objects(root / "bench.jsonl"):
        for layer in b.get("layers", []):
            s, n = spec(layer["workload"])
            key = (s.replace(f"n={n},", "", 1), n)
            t = torch.get(key)
            for r in layer["results"]:
                row = {"workload": s, "backend": r["backend"], "ok": r["ok"], "gflops": r.get("gflops"),
                       "median_ms": r.get("median_ms"), "detail": r.get("detail", r.get("unavailable", ""))}
                if t and r["ok"]:
                    row["torch_gflops"] = t["gflops"]
                    row["ratio_vs_torch"] = r["gflops"] / t["gflops"]
                summary["bench"].append(row)
                ratio = f"{row['ratio_vs_torch']:.3f}x torch ({t['gflops']:.0f})" if "ratio_vs_torch" in row else ""
                gf = f"{r['gflops']:9.1f}" if r.get("gflops") else "        -"
                print(f"  {s:48s} {r['backend']:10s} {gf} GFLOP/s {ratio}  {str(row['detail'])[:70]}")
    (root / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
