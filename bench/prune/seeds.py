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
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
import seeds  # noqa: E402  bench/seeds.py: mean_std, common_args, run_and_read
PIPELINE = os.path.join(ROOT, "pipelines", "prune.toml")
CELLS = ["u50_oneshot", "u50_iter", "u80_iter", "u80_oneshot", "u90_oneshot", "s33"]


def mean_std(values):
    return seeds.mean_std(values, ".4f", ".4f")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    seeds.common_args(ap)
    ap.add_argument("--no-run", action="store_true", help="read the latest run's metrics only")
    ap.add_argument("--vary", choices=["prune", "pipeline"], default="prune",
                    help="re-seed the pruning stages only (default) or the whole pipeline")
    a = ap.parse_args()
    chosen = a.seeds[:1] if a.no_run else a.seeds
    rows = {c: {"accuracy": [], "relative": [], "sparsity": [], "speedup": []} for c in CELLS}
    teacher = []
    for seed in chosen:
        sets = [f"pipeline.seed={seed}"] if a.vary == "pipeline" else [f"stages.{c}.seed={seed}" for c in CELLS]
        m = seeds.run_and_read(a.graft, PIPELINE, sets, a.workspace, run=not a.no_run)
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
    print(f"seeds ({a.vary} stages): {' '.join(map(str, chosen))}; teacher (eval_finetune) accuracy {mean_std(teacher)}")
    print(f"{'cell':<12} {'accuracy':>18} {'pruned/teacher':>18} {'sparsity':>18} {'speedup':>18}")
    for c in CELLS:
        r = rows[c]
        print(f"{c:<12} {mean_std(r['accuracy']):>18} {mean_std(r['relative']):>18} "
              f"{mean_std(r['sparsity']):>18} {mean_std(r['speedup']):>18}")


if __name__ == "__main__":
    main()
