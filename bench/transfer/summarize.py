#!/usr/bin/env python3
"""Prints the transfer-benchmark table (mean +- std over seeds) from `graft metrics --json`.

    bench/transfer/summarize.py pipelines/transfer-benchmark.toml [--graft build/graft] [--metric accuracy]
                                [--baselines-from pipelines/transfer-benchmark.toml]

Rows: labelled-set size N. Columns: pretrained fine-tune, scratch, bag of words. Then the two
targets of the transfer issue: pretrained - scratch at N = 500, and whether pretrained at N
matches or beats scratch at 4N. Seeds that have not run yet are left out (and counted).
"""
import argparse
import json
import re
import statistics
import subprocess
import sys

KINDS = [("pretrained", "eval_pretrained_"), ("scratch", "eval_scratch_"), ("bag of words", "bow_")]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pipeline")
    ap.add_argument("--graft", default="build/graft")
    ap.add_argument("--metric", default="accuracy")
    ap.add_argument("--baselines-from", metavar="PIPELINE",
                    help="take the scratch and bag-of-words cells from this pipeline (e.g. "
                         "transfer-benchmark.toml when only the pretrained arms of a variant ran; "
                         "scratch uses the checkpoint's architecture, not its weights)")
    a = ap.parse_args()

    def metrics_of(pipeline):
        raw = subprocess.run([a.graft, "metrics", pipeline, "--json"], check=True,
                             capture_output=True, text=True).stdout
        return json.loads(raw)

    sources = [(metrics_of(a.pipeline), {k for k, _ in KINDS})]
    if a.baselines_from:
        sources = [(sources[0][0], {"pretrained"}),
                   (metrics_of(a.baselines_from), {"scratch", "bag of words"})]
    cells = {}  # (kind, n) -> [values]
    for metrics, kinds in sources:
        for stage, m in metrics.items():
            for kind, prefix in KINDS:
                mm = re.fullmatch(re.escape(prefix) + r"n(\d+)_s(\d+)", stage)
                if kind in kinds and mm and a.metric in m:
                    cells.setdefault((kind, int(mm.group(1))), []).append(float(m[a.metric]))
    if not cells:
        sys.exit(f"summarize.py: no benchmark metrics yet in {a.pipeline}; run it first")
    sizes = sorted({n for _, n in cells})

    def fmt(vals):
        if not vals:
            return "not run"
        sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
        return f"{statistics.mean(vals):.3f} ± {sd:.3f} (n={len(vals)})"

    print(f"| labels | " + " | ".join(k for k, _ in KINDS) + " |")
    print("|---:|" + "---:|" * len(KINDS))
    for n in sizes:
        print(f"| {n} | " + " | ".join(fmt(cells.get((k, n), [])) for k, _ in KINDS) + " |")
    mean = lambda k, n: statistics.mean(cells[(k, n)]) if cells.get((k, n)) else None
    p, s = mean("pretrained", 500), mean("scratch", 500)
    if p is not None and s is not None:
        print(f"\npretrained - scratch at 500 labels: {100 * (p - s):+.1f} points (target: >= +5)")
    for n in sizes:
        p, s4 = mean("pretrained", n), mean("scratch", 4 * n)
        if p is not None and s4 is not None:
            verdict = "matches or beats" if p >= s4 else "is below"
            print(f"pretrained at {n} ({p:.3f}) {verdict} scratch at {4 * n} ({s4:.3f})")


if __name__ == "__main__":
    main()
