#!/usr/bin/env python3
"""Writes pipelines/transfer-grid.toml: a small fine-tuning recipe grid for the target
"pretrained at N labels matches or beats scratch at 4N" (N = 2000 vs 8000 by default), run the
same way for both arms, so that each arm gets its best recipe chosen on the validation set and
neither is held to a recipe tuned for the other.

    bench/transfer/make_grid.py > pipelines/transfer-grid.toml
    build/graft run pipelines/transfer-grid.toml -j1 --threads 2
    bench/transfer/make_grid.py --summarize pipelines/transfer-grid.toml

The data, tokenizer and pretraining stages are those of the benchmark pipeline named by --base
(by default the 12,000-step one, same ids and params, so its cache entries are shared), as are the
labelled subsets (same split seeds). Every grid cell is fine-tuned on each seed's subset and
evaluated on the same 5,000 test reviews. --summarize prints, per arm and cell, the mean +- std of
the validation accuracy (500 reviews: what the choice is made on) and of the test accuracy, marks
each arm's best cell by mean validation accuracy, and compares the two chosen cells on test.
"""
import argparse
import json
import re
import statistics
import subprocess
import sys

SEEDS = [1, 2, 3]
# (name, params) per arm. Both arms see the same lrs and dropouts; the pretrained arm also tries
# the ULMFiT-style strategies, which have no meaning from scratch.
COMMON = 'max_len = 128\npooling = "mean"\ntruncation = "head_tail"'
STRATEGY_TAG = {"full": "lr", "scratch": "lr", "discriminative_lr": "dlr", "gradual_unfreeze": "gu"}


def cell(strategy, lr, dropout):
    """A grid cell: its name (e.g. lr5em4_d01) and its finetune params (dropout = attention dropout)."""
    name = f"{STRATEGY_TAG[strategy]}{lr.replace('e-', 'em')}_d{dropout.replace('.', '').rstrip('0') or '0'}"
    return name, f'strategy = "{strategy}"\nlr = {lr}\ndropout = {dropout}\nattention_dropout = {dropout}'


GRID = {
    "pretrained": [cell("full", lr, d) for lr in ("5e-4", "1e-3") for d in ("0.0", "0.1")] + [
        cell("full", "2e-4", "0.1"), cell("full", "3e-4", "0.1"), cell("full", "5e-4", "0.2"),
        cell("discriminative_lr", "1e-3", "0.1"), cell("gradual_unfreeze", "1e-3", "0.1"),
    ],
    "scratch": [cell("scratch", lr, d) for lr in ("3e-4", "1e-3") for d in ("0.0", "0.1")] + [
        cell("scratch", "2e-4", "0.0"), cell("scratch", "5e-4", "0.0"),
    ],
}
# More passes than the benchmark, with evaluations several times an epoch and patience counted in
# evaluations, so that early stopping (not the epoch count) ends each run at its best step.
EPOCHS = 8
PATIENCE = 4
EVALS_PER_EPOCH = 4
BATCH = 16


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default="pipelines/transfer-benchmark-12k.toml",
                    help="benchmark pipeline whose data/tokenizer/pretrain and label stages are reused")
    ap.add_argument("--n", type=int, default=2000, help="labels of the pretrained arm (scratch gets 4N)")
    ap.add_argument("--summarize", metavar="PIPELINE", help="print the grid's table from graft metrics")
    ap.add_argument("--graft", default="build/graft")
    a = ap.parse_args()
    if a.summarize:
        return summarize(a.summarize, a.graft)
    text = open(a.base, encoding="utf-8").read()
    shared = text[text.index("[stages.import]"):text.index("[stages.labels_")].rstrip() + "\n"
    out = [HEADER.format(n=a.n, n4=4 * a.n, base=a.base), "[pipeline]", 'name = "transfer-grid"',
           "seed = 17", "", shared]
    for kind, n in [("pretrained", a.n), ("scratch", 4 * a.n)]:
        for s in SEEDS:
            labels = f"labels_n{n}_s{s}"
            block = re.search(r"^\[stages\." + labels + r"\]\n(.*?)(?=^\[stages\.(?!" + labels + r"\.))",
                              text, re.M | re.S)
            if not block:
                sys.exit(f"make_grid.py: {a.base} has no stage {labels}")
            if f"[stages.{labels}]" not in "\n".join(out):
                out.append(f"[stages.{labels}]\n{block.group(1).rstrip()}\n")
            every = max(1, n // BATCH // EVALS_PER_EPOCH)
            for cell, params in GRID[kind]:
                sid = f"{kind}_n{n}_{cell}_s{s}"
                out.append(f"""[stages.{sid}]
uses = "finetune"
inputs = {{ train = "{labels}.train", val = "split.val", model = "pretrain.model" }}
[stages.{sid}.params]
{params}
epochs = {EPOCHS}
patience = {PATIENCE}
eval_every = {every}
batch_size = {BATCH}
{COMMON}
[stages.eval_{sid}]
uses = "evaluate"
inputs = {{ model = "{sid}.model", data = "split.test" }}
[stages.eval_{sid}.params]
max_len = 128
""")
    sys.stdout.write("\n".join(out))


def summarize(pipeline, graft):
    raw = subprocess.run([graft, "metrics", pipeline, "--json"], check=True, capture_output=True,
                         text=True).stdout
    metrics = json.loads(raw)
    cells = {}  # (kind, n, cell) -> {"val": [...], "test": [...]}
    for stage, m in metrics.items():
        mm = re.fullmatch(r"(eval_)?(pretrained|scratch)_n(\d+)_(.+)_s(\d+)", stage)
        if not mm:
            continue
        c = cells.setdefault((mm.group(2), int(mm.group(3)), mm.group(4)), {"val": [], "test": []})
        if mm.group(1) and "accuracy" in m:
            c["test"].append(float(m["accuracy"]))
        elif not mm.group(1) and "val_accuracy" in m:
            c["val"].append(float(m["val_accuracy"]))
    if not cells:
        sys.exit(f"make_grid.py: no grid metrics yet in {pipeline}; run it first")

    def fmt(v):
        if not v:
            return "not run"
        return f"{statistics.mean(v):.4f} ± {statistics.stdev(v) if len(v) > 1 else 0.0:.4f} (n={len(v)})"

    best = {}
    for (kind, n, cell), c in cells.items():
        if c["val"] and (kind not in best or statistics.mean(c["val"]) > statistics.mean(cells[best[kind]]["val"])):
            best[kind] = (kind, n, cell)
    print("| arm | labels | cell | val accuracy | test accuracy | chosen |")
    print("|---|---:|---|---:|---:|:---:|")
    for key in sorted(cells):
        kind, n, cell = key
        print(f"| {kind} | {n} | {cell} | {fmt(cells[key]['val'])} | {fmt(cells[key]['test'])} | "
              f"{'yes' if best.get(kind) == key else ''} |")
    if "pretrained" in best and "scratch" in best and all(cells[best[k]]["test"] for k in best):
        p, s = (statistics.mean(cells[best[k]]["test"]) for k in ("pretrained", "scratch"))
        print(f"\nchosen on validation: pretrained@{best['pretrained'][1]} {p:.4f} vs "
              f"scratch@{best['scratch'][1]} {s:.4f} on test: {100 * (p - s):+.2f} points "
              f"({'met' if p >= s else 'not met'})")


HEADER = """# GENERATED by bench/transfer/make_grid.py from {base}; edit the script, then
# bench/transfer/make_grid.py > pipelines/transfer-grid.toml
#
# The fine-tuning recipe grid for "pretrained at {n} labels >= scratch at {n4}": learning rate x
# dropout (and, for the pretrained arm, discriminative lr and gradual unfreezing), head_tail
# truncation, 3 seeds each, chosen on the validation set.
#   build/graft run pipelines/transfer-grid.toml -j1 --threads 2
#   bench/transfer/make_grid.py --summarize pipelines/transfer-grid.toml
# Not run in CI: about an hour on 2 cores after the 23-minute pretraining. Scratch arms read pretrain.model for
# its architecture only (strategy = "scratch" initialises every weight afresh).
"""

if __name__ == "__main__":
    main()
