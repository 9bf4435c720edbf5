#!/usr/bin/env python3
"""Re-runs chosen stages of a pipeline over seeds and prints mean +- std of their metrics.

    bench/seeds.py PIPELINE --stages A B ... [--seeds 17 18 19] [--metrics accuracy ...]
                   [--show S1 S2 ...] [--set KEY=VALUE ...] [--graft build/graft] [--threads 1]
                   [--workspace DIR]

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


def common_args(ap):
    """--graft, --seeds and --workspace, as every seed script here takes them."""
    ap.add_argument("--graft", default=os.path.join(ROOT, "build", "graft"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[17, 18, 19])
    ap.add_argument("--workspace", help="graft -w DIR (default: .graft beside the pipeline)")


def run_and_read(graft, pipeline, sets, workspace=None, threads="1", run=True):
    """`graft run PIPELINE --set S ...` (niced, one stage at a time, waiting for the workspace's
    lock) unless run is false, then the pipeline's latest metrics (`graft metrics --json`)."""
    ws = ["-w", workspace] if workspace else []
    if run:
        cmd = ["nice", "-n", "10", graft, "run", pipeline, "-j1", "--threads", threads, "--wait"] + ws
        for s in sets:
            cmd += ["--set", s]
        print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    out = subprocess.run([graft, "metrics", pipeline, "--json"] + ws, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pipeline")
    ap.add_argument("--stages", nargs="+", required=True, help="stages to re-seed")
    ap.add_argument("--metrics", nargs="+", default=["accuracy"])
    ap.add_argument("--show", nargs="+", help="stages to tabulate (default: all with a metric)")
    ap.add_argument("--threads", default="1")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="sets",
                    help="also pass graft --set KEY=VALUE to every run (repeatable), e.g. "
                         "stages.finetune.params.lr=5e-4")
    common_args(ap)
    a = ap.parse_args()
    values = {}  # stage -> metric -> [values]
    for seed in a.seeds:
        sets = a.sets + [f"stages.{st}.seed={seed}" for st in a.stages]
        for stage, metrics in run_and_read(a.graft, a.pipeline, sets, a.workspace, a.threads).items():
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
