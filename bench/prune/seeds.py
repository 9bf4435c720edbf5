#!/usr/bin/env python3
"""Runs pipelines/prune.toml once per seed and prints the pruning table, mean +- std over seeds.

    bench/prune/seeds.py [--graft build/graft] [--seeds 17 18 19] [--vary prune|pipeline] [--no-run]
                         [--workspace DIR]

By default each seed S re-runs only the pruning stages, with `--set stages.<cell>.seed=S` for
every cell: the teacher (pretraining and fine-tuning, 10+ minutes here) stays cached, and the
spread covers pruning and the fine-tuning between steps. `--vary pipeline` sets
`--set pipeline.seed=S` instead, which re-trains the teacher per seed too (the whole pipeline's
spread, and an hour more). Then `graft metrics --json`. Every cell is reported as test accuracy, accuracy
relative to that seed's teacher (pruned / teacher), the prune stage's measured sparsity and its
batch-1 latency speedup (unstructured sparsity gives none: dense kernels multiply the zeros).
--no-run only reads the metrics of the latest run (one seed). Python 3 standard library only.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
import seeds  # noqa: E402  bench/seeds.py: mean_std
PIPELINE = os.path.join(ROOT, "pipelines", "prune.toml")
CELLS = ["u50_oneshot", "u50_iter", "u80_iter", "u80_oneshot", "u90_oneshot", "s33"]


def run_seed(graft, seed, run, vary, ws):
    if run:
        sets = [f"pipeline.seed={seed}"] if vary == "pipeline" else [f"stages.{c}.seed={seed}" for c in CELLS]
        cmd = ["nice", "-n", "10", graft, "run", PIPELINE, "-j1", "--threads", "1", "--wait"] + ws
        for s in sets:
            cmd += ["--set", s]
        subprocess.run(cmd, check=True)
    out = subprocess.run([graft, "metrics", PIPELINE, "--json"] + ws, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def mean_std(values):
    return seeds.mean_std(values, ".4f", ".4f")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--graft", default=os.path.join(ROOT, "build", "graft"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[17, 18, 19])
    ap.add_argument("--no-run", action="store_true", help="read the latest run's metrics only")
    ap.add_argument("--workspace", help="graft -w DIR (default: .graft beside the pipeline)")
    ap.add_argument("--vary", choices=["prune", "pipeline"], default="prune",
                    help="re-seed the pruning stages only (default) or the whole pipeline")
    a = ap.parse_args()
    seeds = a.seeds[:1] if a.no_run else a.seeds
    rows = {c: {"accuracy": [], "relative": [], "sparsity": [], "speedup": []} for c in CELLS}
    teacher = []
    for seed in seeds:
        m = run_seed(a.graft, seed, not a.no_run, a.vary, ["-w", a.workspace] if a.workspace else [])
        if "accuracy" not in m.get("eval_finetune", {}):
            sys.exit(f"seeds.py: no teacher accuracy (eval_finetune) in {PIPELINE}; run it first")
        t = float(m["eval_finetune"]["accuracy"])
        teacher.append(t)
        for c in CELLS:
            acc = m.get(f"eval_{c}", {}).get("accuracy")
            if acc is None:
                continue
            rows[c]["accuracy"].append(float(acc))
            rows[c]["relative"].append(float(acc) / t)
            for k in ("sparsity", "speedup"):
                if k in m.get(c, {}):
                    rows[c][k].append(float(m[c][k]))
    print(f"seeds ({a.vary} stages): {' '.join(map(str, seeds))}; teacher (eval_finetune) accuracy {mean_std(teacher)}")
    print(f"{'cell':<12} {'accuracy':>18} {'pruned/teacher':>18} {'sparsity':>18} {'speedup':>18}")
    for c in CELLS:
        r = rows[c]
        print(f"{c:<12} {mean_std(r['accuracy']):>18} {mean_std(r['relative']):>18} "
              f"{mean_std(r['sparsity']):>18} {mean_std(r['speedup']):>18}")


if __name__ == "__main__":
    main()
