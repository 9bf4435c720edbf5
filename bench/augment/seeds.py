#!/usr/bin/env python3
"""Runs pipelines/augment.toml once per seed and prints the augmentation table: test accuracy
without and with EDA augmentation, mean +- std over seeds, and the paired difference (augmented -
plain, same seed, same labelled rows), for each model at 100 and 500 labels.

    bench/augment/seeds.py [--graft build/graft] [--seeds 17 18 19] [--no-run] [--workspace DIR]

Each seed S re-runs the labelled draws, the augment stages and the fine-tunes with
`--set stages.<id>.seed=S` (the data, tokenizer and pretraining stay cached), then reads
`graft metrics --json`. --no-run only reads the latest run's metrics (one seed). Python 3 standard
library only.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
import seeds  # noqa: E402  bench/seeds.py: mean_std, common_args, run_and_read
PIPELINE = os.path.join(ROOT, "pipelines", "augment.toml")
SIZES = [100, 500]
MODELS = [("pretrained", "eval_pretrained_{aug}n{n}"), ("scratch", "eval_scratch_{aug}n{n}"),
          ("bag of words", "bow_{aug}n{n}")]


def reseeded(n):
    return [f"labels_n{n}", f"aug_n{n}"] + [f"{k}_{aug}n{n}" for k in ("pretrained", "scratch")
                                           for aug in ("", "aug_")]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    seeds.common_args(ap)
    ap.add_argument("--no-run", action="store_true", help="read the latest run's metrics only")
    a = ap.parse_args()
    cells = {}  # (n, model) -> {"plain": [], "aug": [], "delta": []}
    for seed in (a.seeds[:1] if a.no_run else a.seeds):
        sets = [f"stages.{st}.seed={seed}" for n in SIZES for st in reseeded(n)]
        m = seeds.run_and_read(a.graft, PIPELINE, sets, a.workspace, run=not a.no_run)
        for n in SIZES:
            for model, pattern in MODELS:
                plain = m.get(pattern.format(aug="", n=n), {}).get("accuracy")
                aug = m.get(pattern.format(aug="aug_", n=n), {}).get("accuracy")
                c = cells.setdefault((n, model), {"plain": [], "aug": [], "delta": []})
                if plain is not None:
                    c["plain"].append(float(plain))
                if aug is not None:
                    c["aug"].append(float(aug))
                if plain is not None and aug is not None:
                    c["delta"].append(100 * (float(aug) - float(plain)))
    if not any(c["plain"] for c in cells.values()):
        sys.exit(f"seeds.py: no metrics yet in {PIPELINE}; run it first")
    print(f"seeds: {' '.join(map(str, a.seeds[:1] if a.no_run else a.seeds))}; test accuracy on 5,000 reviews")
    print("| labels | model | plain | EDA x4 | augmented - plain (points) |")
    print("|---:|---|---:|---:|---:|")
    for n in SIZES:
        for model, _ in MODELS:
            c = cells[(n, model)]
            print(f"| {n} | {model} | {seeds.mean_std(c['plain'], '.3f', '.3f')} | "
                  f"{seeds.mean_std(c['aug'], '.3f', '.3f')} | {seeds.mean_std(c['delta'], '+.1f', '.1f')} |")


if __name__ == "__main__":
    main()
