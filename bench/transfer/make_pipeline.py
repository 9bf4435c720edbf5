#!/usr/bin/env python3
"""Writes pipelines/transfer-benchmark.toml: the sample-efficiency curve of transfer learning on
IMDb. For N in {100, 500, 2000, 8000} labelled reviews and 3 seeds, a pretrained encoder fine-tuned
on N labels, the same architecture trained from scratch on them, and a TF-IDF logistic regression,
all evaluated on the same 5,000 held-out test reviews. Every (N, seed) draws its own N-row subset
of an 8,000-row labelled pool (stratified), so the spread covers data and training variance.

    bench/transfer/make_pipeline.py > pipelines/transfer-benchmark.toml
    build/graft run pipelines/transfer-benchmark.toml -j2 --threads 2
    bench/transfer/summarize.py pipelines/transfer-benchmark.toml   # mean +- std table
    bench/transfer/make_pipeline.py --pretrain-steps 12000 > pipelines/transfer-benchmark-12k.toml
                                                          # the same with twice the pretraining

The data, tokenizer and pretraining stages are the quickstart's (same ids and params), except that
the split holds out an 8,000-review labelled pool instead of 500; the pretraining text (the
unlabelled rest) is therefore smaller and the tokenizer and pretraining run once more.
"""
import argparse
import re
import sys

SIZES = [100, 500, 2000, 8000]
SEEDS = [1, 2, 3]
# Epochs by labelled-set size: about the same number of optimizer steps for the small sets,
# fewer passes over the big ones (early stopping on the validation set picks the best epoch).
EPOCHS = {100: 30, 500: 10, 2000: 5, 8000: 3}
PATIENCE = {100: 8, 500: 4, 2000: 2, 8000: 1}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quickstart", default="pipelines/quickstart.toml",
                    help="pipeline whose data/tokenizer/pretrain stages are reused verbatim")
    ap.add_argument("--pretrain-steps", type=int,
                    help="override the quickstart's pretraining max_steps (more compute, same recipe)")
    args = ap.parse_args()
    shared, arms = quickstart_parts(args.quickstart)
    shared = shared.replace("sizes = [500, 500, 5000]", "sizes = [8000, 500, 5000]")
    if args.pretrain_steps:
        steps = re.search(r"^max_steps = \d+", shared, re.M)
        if not steps:
            sys.exit("make_pipeline.py: the quickstart's pretrain has no max_steps line to override")
        shared = shared[:steps.start()] + f"max_steps = {args.pretrain_steps}" + shared[steps.end():]
    out = [HEADER, "[pipeline]", 'name = "transfer-benchmark"', "seed = 17", "", shared]
    report = []
    for n in SIZES:
        for s in SEEDS:
            tag = f"n{n}_s{s}"
            out.append(f"""[stages.labels_{tag}]
uses = "split"
inputs = {{ data = "split.train" }}
[stages.labels_{tag}.params]
sizes = [{n}, 0]
stratify = "label"
seed = {1000 * s + n}
""")
            for kind, ft in arms.items():
                out.append(finetune_and_eval(f"{kind}_{tag}", f"labels_{tag}.train", ft, n))
                report.append(f"eval_{kind}_{tag}")
            out.append(f"""[stages.bow_{tag}]
uses = "classic"
inputs = {{ train = "labels_{tag}.train", test = "split.test" }}
""")
            report.append(f"bow_{tag}")
    out += report_section("IMDb test accuracy (5,000 reviews) by labelled-set size and seed", report,
                          ["accuracy", "macro_f1", "roc_auc"])
    sys.stdout.write("\n".join(out) + "\n")


def quickstart_parts(path):
    """The quickstart's stages up to its first fine-tuning stage (shared verbatim), and the
    params of its two fine-tuning arms: each keeps its own (the scratch baseline its own, better,
    lr)."""
    text = open(path, encoding="utf-8").read()
    cut = text.index("[stages.finetune]")
    shared = text[text.index("[stages.import]"):cut].rstrip() + "\n"
    if "sizes = [500, 500, 5000]" not in shared:
        sys.exit("make_pipeline.py: the quickstart's split no longer has sizes = [500, 500, 5000]")
    return shared, {"pretrained": finetune_params(text[cut:], "finetune"),
                    "scratch": finetune_params(text[cut:], "scratch")}


def finetune_and_eval(sid, train, ft, n):
    """A fine-tuning stage `sid` on `train` (n labelled rows) from the pretrained model, with the
    arm's params `ft`, and its evaluation `eval_<sid>` on the test split."""
    return f"""[stages.{sid}]
uses = "finetune"
inputs = {{ train = "{train}", val = "split.val", model = "pretrain.model" }}
[stages.{sid}.params]
strategy = "{ft["strategy"]}"
epochs = {EPOCHS[n]}
patience = {PATIENCE[n]}
{ft["common"]}
[stages.eval_{sid}]
uses = "evaluate"
inputs = {{ model = "{sid}.model", data = "split.test" }}
[stages.eval_{sid}.params]
max_len = {ft["max_len"]}
"""


def report_section(title, stages, metrics):
    return ["[report]", f'title = "{title}"', "stages = [" + ", ".join(f'"{r}"' for r in stages) + "]",
            "metrics = [" + ", ".join(f'"{m}"' for m in metrics) + "]"]


def finetune_params(section, stage):
    """The quickstart's params of a fine-tuning stage other than epochs/patience."""
    head = f"[stages.{stage}.params]"
    if head not in section:
        sys.exit(f"make_pipeline.py: the quickstart has no {head}")
    body = section[section.index(head) + len(head):]
    body = body[:body.index("[stages.")] if "[stages." in body else body
    keep, strategy, max_len = [], "full", "128"
    for line in body.strip().splitlines():
        key = line.split("=", 1)[0].strip()
        value = line.split("=", 1)[1].split("#", 1)[0].strip() if "=" in line else ""
        if key == "strategy":
            strategy = value.strip('"')
        elif key in ("epochs", "patience", ""):
            continue
        else:
            if key == "max_len":
                max_len = value
            keep.append(f"{key} = {value}")
    return {"strategy": strategy, "common": "\n".join(keep), "max_len": max_len}


HEADER = """# GENERATED by bench/transfer/make_pipeline.py from pipelines/quickstart.toml; edit those, then
# bench/transfer/make_pipeline.py > pipelines/transfer-benchmark.toml
#
# The sample-efficiency curve: N in {100, 500, 2000, 8000} labelled IMDb reviews x 3 seeds x
# {pretrained, scratch, bag of words}, all tested on the same 5,000 held-out reviews.
#   build/graft run pipelines/transfer-benchmark.toml -j2 --threads 2
#   bench/transfer/summarize.py pipelines/transfer-benchmark.toml
# Not run in CI: fine-tuning on 8,000 reviews x 6 takes hours on 2 cores.
"""

if __name__ == "__main__":
    main()
