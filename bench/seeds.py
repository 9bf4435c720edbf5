#!/usr/bin/env python3
"""Re-runs chosen stages of a pipeline over seeds and prints mean +- std of their metrics.

    bench/seeds.py PIPELINE --stages A B ... [--seeds 17 18 19] [--metrics accuracy ...]
                   [--show S1 S2 ...] [--graft build/graft] [--threads 1] [--workspace DIR]

For each seed S: `graft run PIPELINE --set stages.A.seed=S --set stages.B.seed=S ...`, so only
the named stages (and what depends on them) re-run while everything upstream stays cached, then
`graft metrics PIPELINE --json`. The table has one row per stage in --show (default: every stage
that reported one of --metrics) and one column per metric. A seed
equal to [pipeline] seed reproduces the plain run (restored from the cache). Standard library only.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mean_std(values, value_format=".4g", spread_format=".2g"):
    """'mean +- sample std' of a list ('-' when empty; the value alone for one)."""
    if not values:
        return "-"
    if len(values) == 1:
        return format(values[0], value_format)
    return f"{format(statistics.mean(values), value_format)} +- {format(statistics.stdev(values), spread_format)}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pipeline")
    ap.add_argument("--stages", nargs="+", required=True, help="stages to re-seed")
    ap.add_argument("--seeds", type=int, nargs="+", default=[17, 18, 19])
    ap.add_argument("--metrics", nargs="+", default=["accuracy"])
    ap.add_argument("--show", nargs="+", help="stages to tabulate (default: all with a metric)")
    ap.add_argument("--graft", default=os.path.join(ROOT, "build", "graft"))
    ap.add_argument("--threads", default="1")
    ap.add_argument("--workspace", help="graft -w DIR (default: .graft beside the pipeline)")
    a = ap.parse_args()
    values = {}  # stage -> metric -> [values]
    ws = ["-w", a.workspace] if a.workspace else []
    for seed in a.seeds:
        cmd = ["nice", "-n", "10", a.graft, "run", a.pipeline, "-j1", "--threads", a.threads, "--wait"] + ws
        for st in a.stages:
            cmd += ["--set", f"stages.{st}.seed={seed}"]
        print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        out = subprocess.run([a.graft, "metrics", a.pipeline, "--json"] + ws, check=True,
                             capture_output=True, text=True)
        for stage, metrics in json.loads(out.stdout).items():
            if not isinstance(metrics, dict):
                continue
            for m in a.metrics:
                if isinstance(metrics.get(m), (int, float)):
                    values.setdefault(stage, {}).setdefault(m, []).append(float(metrics[m]))
    show = a.show or sorted(values)
    width = max(len(s) for s in show) + 2
    print(f"seeds of {' '.join(a.stages)}: {' '.join(map(str, a.seeds))}")
    print(f"{'stage':<{width}}" + "".join(f"{m:>22}" for m in a.metrics))
    for s in show:
        print(f"{s:<{width}}" + "".join(f"{mean_std(values.get(s, {}).get(m, [])):>22}" for m in a.metrics))


if __name__ == "__main__":
    main()
