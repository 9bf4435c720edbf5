#!/usr/bin/python3
"""The Python side of bench/training: graft's fine-tuning model and recipe in a plain PyTorch eager
loop (Debian python3-torch 1.13, the same libtorch and OpenBLAS that graft links).

Subcommands
  train   train the classifier on token ids made by encode_ids (graft's tokenizer), print and write
          a JSON result (real tokens/s, accuracy, per-step losses)
  peak    sustained fp32 (and bf16) torch.mm throughput on T threads: the machine's matmul peak
  report  combine graft's and Python's results into the benchmark table and JSON lines

The model mirrors framework/ml/model/{transformer,heads}.cpp module for module: token + learned
position embeddings -> LayerNorm -> dropout; pre-LN blocks (x + drop(attn(LN(x))), then
h + drop(ff(LN(h)))) with q scaled by 1/sqrt(head_dim) before QK^T, an additive -1e9 padding
mask, exact GELU; a final LayerNorm; mean pooling over real tokens -> dropout -> linear.
Parameters are created in graft's order and re-initialised like graft (normal(0, 0.02) in
LibTorch's pre-order module walk, zero biases, unit LayerNorms), from torch.manual_seed(seed) where
seed is the finetune stage's seed from the lock file, so with --order graft both loops start from
the same weights and draw the same dropout masks.

The recipe mirrors framework/ml/train/{trainer,optim,batching}.cpp: AdamW (betas 0.9/0.999,
eps 1e-8) with weight decay on everything but biases and norm weights, linear warm-up (round(0.1 x
total steps)) and linear decay applied per step, gradient clipping at global norm 1 (graft's rule,
see clip_gradients), evaluation after every epoch, the best epoch's accuracy reported.

Batch order (--order):
  shuffle  the usual loop: torch DataLoader(shuffle=True) over the rows, each batch padded to its
           own longest row (per-batch dynamic padding, no length bucketing)
  graft    graft's plan exactly: its seeded mt19937_64 Fisher-Yates shuffle, length bucketing in
           windows of 64 batches, batch shuffle (batching.cpp), so every step sees the same rows
           as graft's; the per-step losses are then compared with graft's train_log.jsonl

Timing: like graft's trainer, the sum over optimizer steps of (collate + forward + backward + clip
+ optimizer step); data loading before training and evaluation are excluded. Real tokens = non-pad
tokens of the batches trained on.
"""

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

MASK_FILL = -1.0e9  # graft's mask_fill_value for fp32/bf16 scores
IGNORE_INDEX = -100
BUCKET_SIZE = 64  # TrainerOptions::bucket_size default, which the finetune stage keeps


# ---- model (framework/ml/model) -------------------------------------------------------------


class Embeddings(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.token = nn.Embedding(a["vocab_size"], a["d_model"])
        self.position = nn.Embedding(a["max_len"], a["d_model"])
        self.norm = nn.LayerNorm(a["d_model"], eps=a["layer_norm_eps"])
        self.dropout = nn.Dropout(a["dropout"])

    def forward(self, ids):
        positions = torch.arange(ids.size(1), dtype=torch.long)
        x = self.token(ids) + self.position(positions).unsqueeze(0)
        return self.dropout(self.norm(x))


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, a):
        super().__init__()
        d = a["d_model"]
        self.n_heads = a["n_heads"]
        self.head_dim = d // a["n_heads"]
        self.query = nn.Linear(d, d)
        self.key = nn.Linear(d, d)
        self.value = nn.Linear(d, d)
        self.output = nn.Linear(d, d)
        self.attention_dropout = nn.Dropout(a["attention_dropout"])

    def forward(self, x, additive_mask):
        batch, length = x.size(0), x.size(1)

        def split_heads(t):
            return t.view(batch, length, self.n_heads, self.head_dim).transpose(1, 2)

        q = split_heads(self.query(x)) * (1.0 / math.sqrt(self.head_dim))
        k = split_heads(self.key(x))
        v = split_heads(self.value(x))
        scores = torch.matmul(q, k.transpose(-2, -1))
        scores = scores + additive_mask.to(scores.dtype)
        probabilities = self.attention_dropout(torch.softmax(scores, -1))
        context = (torch.matmul(probabilities, v).transpose(1, 2)
                   .reshape(batch, length, self.n_heads * self.head_dim))
        return self.output(context)


class FeedForward(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.intermediate = nn.Linear(a["d_model"], a["d_ff"])
        self.output = nn.Linear(a["d_ff"], a["d_model"])

    def forward(self, x):
        return self.output(F.gelu(self.intermediate(x)))


class TransformerLayer(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.pre_ln = a["pre_ln"]
        self.attention = MultiHeadSelfAttention(a)
        self.attention_norm = nn.LayerNorm(a["d_model"], eps=a["layer_norm_eps"])
        self.feed_forward = FeedForward(a)
        self.output_norm = nn.LayerNorm(a["d_model"], eps=a["layer_norm_eps"])
        self.dropout = nn.Dropout(a["dropout"])

    def forward(self, x, additive_mask):
        if self.pre_ln:
            h = x + self.dropout(self.attention(self.attention_norm(x), additive_mask))
            return h + self.dropout(self.feed_forward(self.output_norm(h)))
        h = self.attention_norm(x + self.dropout(self.attention(x, additive_mask)))
        return self.output_norm(h + self.dropout(self.feed_forward(h)))


def init_module_weights(module, std):
    """graft's init_module_weights over LibTorch's Module::apply order (pre-order: a module, then
    its children depth-first), which is what nn.Module.modules() yields."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Linear):
                m.weight.normal_(0.0, std)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.Embedding):
                m.weight.normal_(0.0, std)
            elif isinstance(m, nn.LayerNorm):
                m.weight.fill_(1.0)
                m.bias.zero_()


class TransformerEncoder(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.embeddings = Embeddings(a)
        self.layers = nn.ModuleList([TransformerLayer(a) for _ in range(a["n_layers"])])
        self.final_norm = nn.LayerNorm(a["d_model"], eps=a["layer_norm_eps"]) if a["pre_ln"] else None
        init_module_weights(self, a["initializer_range"])

    def forward(self, ids, attention_mask):
        x = self.embeddings(ids)
        batch, length = ids.shape
        allowed = attention_mask.ne(0).view(batch, 1, 1, length)
        additive_mask = torch.zeros(allowed.shape, dtype=x.dtype).masked_fill_(
            allowed.logical_not(), MASK_FILL)
        for layer in self.layers:
            x = layer(x, additive_mask)
        if self.final_norm is not None:
            x = self.final_norm(x)
        return x


class SequenceClassificationHead(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.pooling = a["pooling"]
        self.dropout = nn.Dropout(a["classifier_dropout"])
        self.classifier = nn.Linear(a["d_model"], a["num_labels"])
        init_module_weights(self, a["initializer_range"])

    def forward(self, hidden, attention_mask):
        if self.pooling == "cls":
            pooled = hidden.select(1, 0)
        else:
            weights = attention_mask.ne(0).to(hidden.dtype).unsqueeze(-1)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp_min(1.0)
        return self.classifier(self.dropout(pooled))


class SequenceClassifier(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.encoder = TransformerEncoder(a)
        self.head = SequenceClassificationHead(a)

    def forward(self, ids, attention_mask):
        return self.head(self.encoder(ids, attention_mask), attention_mask)


# ---- batching (framework/ml/train/batching.cpp) ---------------------------------------------

MASK64 = (1 << 64) - 1


class MT19937_64:
    """std::mt19937_64 (seeded with one integer), the engine of graft's data order."""

    def __init__(self, seed):
        self.mt = [0] * 312
        self.mt[0] = seed & MASK64
        for i in range(1, 312):
            prev = self.mt[i - 1]
            self.mt[i] = (6364136223846793005 * (prev ^ (prev >> 62)) + i) & MASK64
        self.index = 312

    def _twist(self):
        mt = self.mt
        for i in range(312):
            x = (mt[i] & 0xFFFFFFFF80000000) | (mt[(i + 1) % 312] & 0x7FFFFFFF)
            xa = x >> 1
            if x & 1:
                xa ^= 0xB5026F5AA96619E9
            mt[i] = mt[(i + 156) % 312] ^ xa
        self.index = 0

    def __call__(self):
        if self.index >= 312:
            self._twist()
        y = self.mt[self.index]
        self.index += 1
        y ^= (y >> 29) & 0x5555555555555555
        y ^= (y << 17) & 0x71D67FFFEDA60000
        y ^= (y << 37) & 0xFFF7EEE000000000
        y ^= y >> 43
        return y & MASK64


def uniform_below(rng, bound):
    if bound <= 1:
        return 0
    limit = MASK64 - (MASK64 % bound)
    draw = rng()
    while draw >= limit:
        draw = rng()
    return draw % bound


def deterministic_shuffle(items, rng):
    for i in range(len(items), 1, -1):
        j = uniform_below(rng, i)
        items[i - 1], items[j] = items[j], items[i - 1]


def plan_batches(lengths, batch_size, bucket_size, shuffle, rng):
    order = list(range(len(lengths)))
    if shuffle:
        deterministic_shuffle(order, rng)
    if bucket_size > 0:
        window = batch_size * bucket_size
        for start in range(0, len(order), window):
            # sorted() is stable, as graft's std::stable_sort
            order[start:start + window] = sorted(order[start:start + window], key=lambda i: lengths[i])
    batches = [order[s:s + batch_size] for s in range(0, len(order), batch_size)]
    if shuffle and bucket_size > 0:
        deterministic_shuffle(batches, rng)
    return batches


def collate(rows, pad_id):
    """Per-batch dynamic padding: ids [B, T] padded to the longest row, mask 1 on real tokens."""
    lengths = torch.tensor([len(ids) for ids, _ in rows], dtype=torch.long)
    ids = nn.utils.rnn.pad_sequence([torch.tensor(ids, dtype=torch.long) for ids, _ in rows],
                                    batch_first=True, padding_value=pad_id)
    mask = (torch.arange(ids.size(1)).unsqueeze(0) < lengths.unsqueeze(1)).long()
    labels = torch.tensor([label for _, label in rows], dtype=torch.long)
    return ids, mask, labels


# ---- recipe (framework/ml/train/trainer.cpp, optim.cpp) ---------------------------------------


def is_no_decay_parameter(name):
    return name == "bias" or name.endswith(".bias") or "norm" in name or "LayerNorm" in name \
        or "layer_norm" in name


def param_groups(model, weight_decay):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if is_no_decay_parameter(name) else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def lr_factor(step, warmup, total):
    """graft's LrSchedule::factor for the linear schedule."""
    total = max(total, 1)
    warmup = min(max(warmup, 0), total)
    if step < warmup:
        return (step + 1) / warmup
    if warmup >= total:
        return 0.0
    return 1.0 - min(1.0, (step - warmup) / (total - warmup))


def clip_gradients(params, max_norm):
    """graft's clip_gradients: per-tensor fp32 norms, their global norm in fp64, scale only when
    it exceeds max_norm (torch.nn.utils.clip_grad_norm_ computes the same norm in fp32 and always
    multiplies)."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return 0.0
    total = torch.stack([g.detach().norm(2).double() for g in grads]).norm(2).item()
    if max_norm > 0 and math.isfinite(total) and total > max_norm:
        coefficient = max_norm / (total + 1e-6)
        with torch.no_grad():
            for g in grads:
                g.mul_(coefficient)
    return total


def read_ids(path):
    rows = []
    with open(path) as f:
        for line_no, line in enumerate(f, 1):
            if line.strip():
                row = json.loads(line)
                if not row["ids"]:
                    sys.exit(f"{path}:{line_no}: a row without tokens")
                rows.append((row["ids"], row["label"]))
    if not rows:
        sys.exit(f"{path}: no rows")
    return rows


def training_flops(lengths, a):
    """Useful training FLOPs of one pass over sequences of these real lengths (padding excluded):
    per sequence of n tokens, 3 x forward (backward = 2 x forward) where the forward is
      2 n L (4 d^2 + 2 d d_ff)    the q/k/v/output and feed-forward matmuls
      + 4 n^2 L d                 QK^T and probabilities x V
      + 2 d C                     the classifier on the pooled vector
    Embedding look-ups, LayerNorm, softmax, GELU, the optimizer and the backward of the token
    embedding (a scatter) are not counted."""
    d, L, dff, C = a["d_model"], a["n_layers"], a["d_ff"], a["num_labels"]
    per_token = 2 * L * (4 * d * d + 2 * d * dff)
    total = 0
    for n in lengths:
        total += per_token * n + 4 * n * n * L * d + 2 * d * C
    return 3 * total


def evaluate(model, batches, bf16):
    model.eval()
    correct = n = 0
    loss_sum = 0.0
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for ids, mask, labels in batches:
            logits = model(ids, mask)
            loss_sum += F.cross_entropy(logits.float(), labels).item() * len(labels)
            correct += (logits.argmax(-1) == labels).sum().item()
            n += len(labels)
    model.train()
    return {"accuracy": correct / n, "loss": loss_sum / n}


def cmd_train(args):
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(args.threads)  # as graft's init_runtime
    except RuntimeError:
        pass
    bf16 = args.precision == "bf16"
    meta = json.load(open(args.meta))
    train_rows = read_ids(args.train)
    val_rows = read_ids(args.val)
    labels = sorted({label for _, label in train_rows})  # graft: std::set order
    label_id = {label: i for i, label in enumerate(labels)}
    for _, label in val_rows:
        if label not in label_id:
            sys.exit(f"validation label {label!r} never occurs in the training rows")
    train = [(ids, label_id[label]) for ids, label in train_rows]
    val = [(ids, label_id[label]) for ids, label in val_rows]
    longest = max(len(ids) for ids, _ in train + val)
    if longest > args.max_len:
        sys.exit(f"a row has {longest} tokens, more than max_len = {args.max_len}: encode with the same max_len")

    arch = {"vocab_size": meta["vocab_size"], "max_len": args.max_len, "d_model": args.d_model,
            "n_layers": args.n_layers, "n_heads": args.n_heads, "d_ff": args.d_ff,
            "dropout": 0.1, "attention_dropout": 0.1, "pre_ln": True, "layer_norm_eps": 1e-12,
            "initializer_range": 0.02, "pooling": args.pooling,
            "classifier_dropout": args.classifier_dropout, "num_labels": len(labels)}
    torch.manual_seed(args.seed)  # the finetune stage seeds before building the model
    model = SequenceClassifier(arch)
    model.train()
    params = [p for p in model.parameters()]
    optimizer = torch.optim.AdamW(param_groups(model, args.weight_decay), lr=args.lr,
                                  betas=(0.9, 0.999), eps=1e-8)
    base_lrs = [g["lr"] for g in optimizer.param_groups]

    batches_per_epoch = (len(train) + args.batch_size - 1) // args.batch_size
    total_steps = batches_per_epoch * args.epochs
    warmup = int(math.floor(args.warmup_ratio * total_steps + 0.5))  # std::llround
    lengths = [len(ids) for ids, _ in train]

    # Evaluation batches as graft makes them: no shuffle, bucketed (sorted within windows).
    eval_plan = plan_batches([len(ids) for ids, _ in val], args.batch_size, BUCKET_SIZE, False, None)
    eval_batches = [collate([val[i] for i in b], meta["pad_id"]) for b in eval_plan]

    torch.manual_seed(args.seed)  # the trainer reseeds at the start of fit()
    data_rng = MT19937_64(args.seed)
    loader_generator = torch.Generator().manual_seed(args.seed)
    loader = torch.utils.data.DataLoader(train, batch_size=args.batch_size, shuffle=True,
                                         generator=loader_generator,
                                         collate_fn=lambda rows: collate(rows, meta["pad_id"]))
    step = 0
    train_seconds = 0.0
    real_tokens = padded_tokens = 0
    log = []
    evals = []
    for epoch in range(args.epochs):
        if args.order == "graft":
            plan = plan_batches(lengths, args.batch_size, BUCKET_SIZE, True, data_rng)
            batch_source = (collate([train[i] for i in b], meta["pad_id"]) for b in plan)
        else:
            batch_source = iter(loader)
        while True:
            factor = lr_factor(step, warmup, total_steps)
            for group, base in zip(optimizer.param_groups, base_lrs):
                group["lr"] = base * factor
            start = time.perf_counter()
            batch = next(batch_source, None)  # collate (and, for the DataLoader, sampling)
            if batch is None:
                break
            ids, mask, target = batch
            for p in params:
                p.grad = None
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits = model(ids, mask)
                loss = F.cross_entropy(logits.float(), target, ignore_index=IGNORE_INDEX)
            loss = loss.float()
            value = loss.item()
            if not math.isfinite(value):
                sys.exit(f"training diverged: loss {value} at step {step + 1}")
            loss.backward()
            grad_norm = clip_gradients(params, 1.0)
            optimizer.step()
            seconds = time.perf_counter() - start
            train_seconds += seconds
            tokens = int(mask.sum())
            real_tokens += tokens
            padded_tokens += mask.numel()
            step += 1
            log.append({"step": step, "epoch": epoch, "loss": value, "tokens": tokens,
                        "grad_norm": grad_norm, "tokens_per_s": tokens / seconds})
        result = evaluate(model, eval_batches, bf16)
        result.update({"epoch": epoch, "step": step})
        evals.append(result)
        print(f"epoch {epoch}: step {step}/{total_steps} loss {log[-1]['loss']:.4f} val accuracy "
              f"{result['accuracy']:.4f} ({real_tokens / train_seconds:.0f} real tok/s so far)",
              file=sys.stderr)

    best = None
    for e in evals:  # graft's record_eval: strictly better (min_delta 0) wins
        if best is None or e["accuracy"] > best["accuracy"]:
            best = e
    out = {"kind": "python", "order": args.order, "precision": args.precision,
           "threads": torch.get_num_threads(), "openblas_threads": openblas_threads(),
           "torch": torch.__version__, "seed": args.seed,
           "train_rows": len(train), "val_rows": len(val), "epochs": args.epochs, "steps": step,
           "batch_size": args.batch_size, "real_tokens": real_tokens, "padded_tokens": padded_tokens,
           "pad_fraction": 1 - real_tokens / padded_tokens, "train_seconds": train_seconds,
           "tokens_per_s": real_tokens / train_seconds,
           "useful_flops": training_flops(lengths, arch) * args.epochs,
           "val_accuracy": best["accuracy"], "best_epoch": best["epoch"],
           "val_accuracy_last": evals[-1]["accuracy"], "evals": evals,
           "parameters": sum(p.numel() for p in params), "arch": arch}
    if args.log:
        with open(args.log, "w") as f:
            for line in log:
                f.write(json.dumps(line) + "\n")
    with open(args.out, "w") as f:
        json.dump(out, f)
    print(json.dumps({k: v for k, v in out.items() if k not in ("evals", "arch")}))


def openblas_threads():
    """The thread count of the OpenBLAS that torch loaded (ATen does not set it: OpenBLAS keeps its
    own pool, nproc threads unless OPENBLAS_NUM_THREADS says otherwise); None if not OpenBLAS."""
    import ctypes
    try:
        return int(ctypes.CDLL("libopenblas.so.0").openblas_get_num_threads())
    except (OSError, AttributeError):
        return None


def cmd_peak(args):
    torch.set_num_threads(args.threads)
    out = {"kind": "peak", "threads": torch.get_num_threads(), "openblas_threads": openblas_threads(),
           "size": args.size}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        a = torch.randn(args.size, args.size).to(dtype)
        b = torch.randn(args.size, args.size).to(dtype)
        for _ in range(3):
            torch.mm(a, b)  # warm-up: thread pool, BLAS/oneDNN initialisation
        best = 0.0
        iterations = 0
        start = time.perf_counter()
        # Sustained: the best of 0.25 s windows over args.seconds (a neighbour's burst lowers a
        # window, never raises one).
        while time.perf_counter() - start < args.seconds:
            window = time.perf_counter()
            n = 0
            while time.perf_counter() - window < 0.25:
                torch.mm(a, b)
                n += 1
            best = max(best, 2.0 * args.size ** 3 * n / (time.perf_counter() - window) / 1e9)
            iterations += n
        out[f"{name}_gflops"] = best
    print(json.dumps(out))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f)


def compare_logs(graft_log, python_log):
    """Per-step agreement of graft's train_log.jsonl and the --order graft Python log."""
    g = [json.loads(l) for l in open(graft_log) if l.strip()]
    p = [json.loads(l) for l in open(python_log) if l.strip()]
    n = min(len(g), len(p))
    same_tokens = all(g[i]["tokens"] == p[i]["tokens"] for i in range(n)) and len(g) == len(p)
    diffs = [abs(g[i]["loss"] - p[i]["loss"]) for i in range(n)]
    return {"steps_graft": len(g), "steps_python": len(p), "same_tokens_every_step": same_tokens,
            "loss_abs_diff_step1": diffs[0] if diffs else None,
            "loss_abs_diff_max_first10": max(diffs[:10]) if diffs else None,
            "loss_abs_diff_max": max(diffs) if diffs else None}


WARMUP_SKIP = 5  # steps left out of the steady-state rate (thread pools, allocator, caches)


def steady_rate(log_path):
    """Real tokens/s over the steps after the first WARMUP_SKIP (all steps when there are fewer
    than 4 x WARMUP_SKIP), from a per-step log with tokens and tokens_per_s (graft's train_log or
    the Python log)."""
    steps = [json.loads(l) for l in open(log_path) if l.strip()]
    skip = WARMUP_SKIP if len(steps) >= 4 * WARMUP_SKIP else 0
    kept = steps[skip:]
    seconds = sum(s["tokens"] / s["tokens_per_s"] for s in kept if s["tokens_per_s"] > 0)
    return (sum(s["tokens"] for s in kept) / seconds if seconds > 0 else 0.0), skip


def cmd_report(args):
    peak = json.load(open(args.peak))
    machine = json.load(open(args.machine))
    graft = {f"graft {k}": json.load(open(v))
             for k, v in (("fp32", args.graft_fp32), ("bf16", args.graft_bf16)) if v}
    python = {}
    for spec in args.python:
        name, path = spec.split("=", 1)
        python[name] = json.load(open(path))
    logs = dict(spec.split("=", 1) for spec in args.log)
    useful = python[next(iter(python))]["useful_flops"]  # same rows x epochs for every run
    steps_total = python[next(iter(python))]["steps"]
    loads = machine.get("load1_before_run", {})
    same_plan_pad = python.get("python-graft-order-tuned fp32", {}).get("pad_fraction")

    runs = []
    for name in list(graft) + list(python):
        if name in graft:
            g = graft[name]
            tps, seconds, acc, pad = g["train_tokens_per_s"], g["train_seconds"], g["val_accuracy"], same_plan_pad
        else:
            p = python[name]
            tps, seconds, acc, pad = p["tokens_per_s"], p["train_seconds"], p["val_accuracy"], p["pad_fraction"]
        steady, skip = steady_rate(logs[name]) if name in logs else (None, 0)
        achieved = useful / seconds / 1e9 if seconds > 0 else 0.0
        runs.append({"kind": "run", "run": name, "real_tokens_per_s": tps,
                     "steady_real_tokens_per_s": steady, "steady_skips_steps": skip,
                     "train_seconds": seconds, "val_accuracy": acc, "pad_fraction": pad,
                     "useful_gflops": achieved, "fraction_of_fp32_peak": achieved / peak["fp32_gflops"],
                     "load1_before": loads.get(name)})

    def fmt(v, spec, missing="?"):
        return format(v, spec) if v is not None else missing

    print(f"{'run':24} {'real tok/s':>10} {'steady':>8} {'train s':>8} {'val acc':>8} {'pad':>6} "
          f"{'GFLOP/s':>8} {'%fp32 peak':>10} {'load':>5}")
    for r in runs:
        pad = f"{100 * r['pad_fraction']:.1f}%" if r["pad_fraction"] is not None else "?"
        print(f"{r['run']:24} {r['real_tokens_per_s']:10.0f} {fmt(r['steady_real_tokens_per_s'], '8.0f'):>8} "
              f"{r['train_seconds']:8.1f} {100 * r['val_accuracy']:7.2f}% {pad:>6} {r['useful_gflops']:8.1f} "
              f"{100 * r['fraction_of_fp32_peak']:9.1f}% {fmt(r['load1_before'], '5.2f'):>5}")
    skip = runs[0]["steady_skips_steps"]
    print(f"({steps_total} steps; steady = after the first {skip} steps; GFLOP/s = useful training "
          f"FLOPs (training_flops) / train s)")
    print(f"fp32 matmul peak ({peak['size']}^2 torch.mm, {peak['threads']} threads, OpenBLAS "
          f"{peak.get('openblas_threads')} threads): "
          f"{peak['fp32_gflops']:.1f} GFLOP/s; bf16 {peak['bf16_gflops']:.1f} GFLOP/s")

    by_name = {r["run"]: r for r in runs}
    g32 = by_name.get("graft fp32")
    summary = {"kind": "summary"}
    for name, r in by_name.items():
        if not g32 or not name.startswith("python-") or not name.endswith("fp32"):
            continue
        key = name.replace(" fp32", "").replace("python-", "")
        ratio = g32["real_tokens_per_s"] / r["real_tokens_per_s"]
        steady = (g32["steady_real_tokens_per_s"] / r["steady_real_tokens_per_s"]
                  if g32["steady_real_tokens_per_s"] and r["steady_real_tokens_per_s"] else None)
        dacc = 100 * (g32["val_accuracy"] - r["val_accuracy"])
        summary[f"ratio_vs_{key}"] = ratio
        summary[f"steady_ratio_vs_{key}"] = steady
        summary[f"accuracy_points_vs_{key}"] = dacc
        print(f"graft fp32 / {name}: {ratio:.2f}x real tokens/s, steady {fmt(steady, '.2f')}x "
              f"(target >= 1.5x: {'met' if ratio >= 1.5 else 'NOT met'}); accuracy {dacc:+.2f} points "
              f"(target within 0.5: {'met' if abs(dacc) <= 0.5 else 'NOT met'})")
    if "graft bf16" in by_name and g32:
        b = by_name["graft bf16"]
        summary["graft_bf16_over_fp32"] = b["real_tokens_per_s"] / g32["real_tokens_per_s"]
        summary["graft_bf16_accuracy_points"] = 100 * (b["val_accuracy"] - g32["val_accuracy"])
        print(f"graft bf16 / fp32: {summary['graft_bf16_over_fp32']:.2f}x real tokens/s, accuracy "
              f"{summary['graft_bf16_accuracy_points']:+.2f} points")
    if args.graft_log and args.python_graft_log:
        check = compare_logs(args.graft_log, args.python_graft_log)
        summary["replication"] = check
        print(f"replication (graft fp32 vs python --order graft): same tokens every step: "
              f"{check['same_tokens_every_step']}; |loss diff| step 1 {check['loss_abs_diff_step1']:.2e}, "
              f"max over the first 10 steps {check['loss_abs_diff_max_first10']:.2e}, "
              f"max {check['loss_abs_diff_max']:.2e} ({check['steps_graft']} steps)")
        if not check["same_tokens_every_step"]:
            print("WARNING: the Python loop no longer sees graft's batches (its plan, seed or token ids "
                  "differ from the finetune stage's): the graft-order comparison is not like for like; "
                  "check train_eager.py against framework/ml/train/batching.cpp and the stage")
    if args.jsonl:
        with open(args.jsonl, "w") as f:
            for line in [dict(machine, kind="machine"), dict(peak)] + runs + [summary]:
                f.write(json.dumps(line) + "\n")


def cmd_seeds(args):
    """Mean +- sample std of val accuracy and real tokens/s over seeds, per loop, and the
    accuracy difference of the means: the equal-accuracy half of the speed target."""
    def load(paths, rate_key):
        runs = [json.load(open(p)) for p in paths]
        return ([100 * r["val_accuracy"] for r in runs], [r[rate_key] for r in runs])

    def mean_std(xs):
        m = sum(xs) / len(xs)
        sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0
        return m, sd

    g_acc, g_tps = load(args.graft, "train_tokens_per_s")
    p_acc, p_tps = load(args.python, "tokens_per_s")
    print(f"{'loop':22} {'seeds':>5} {'val acc (points)':>18} {'real tok/s':>16}   per seed")
    for name, acc, tps in (("graft fp32", g_acc, g_tps), ("python-shuffle fp32", p_acc, p_tps)):
        (am, asd), (tm, tsd) = mean_std(acc), mean_std(tps)
        print(f"{name:22} {len(acc):5d} {am:10.2f} +- {asd:4.2f} {tm:9.0f} +- {tsd:4.0f}   "
              + ", ".join(f"{a:.2f}" for a in acc))
    if len(g_acc) != len(p_acc):
        sys.exit("seeds: --graft and --python need one result per seed each, in the same order")
    # Paired by seed: the same seed gives both loops the same initial weights (init_module_weights
    # replicates graft's init), so a pair differs in data order and padding only.
    diffs = [g - p for g, p in zip(g_acc, p_acc)]
    diff, dsd = mean_std(diffs)
    se = dsd / math.sqrt(len(diffs))
    ratio = mean_std(g_tps)[0] / mean_std(p_tps)[0]
    print(f"graft - python accuracy, paired by seed: {diff:+.2f} +- {se:.2f} points (mean +- standard "
          f"error; per seed " + ", ".join(f"{d:+.2f}" for d in diffs) + "); target within 0.5: "
          f"{'met' if abs(diff) <= 0.5 else 'NOT met'}"
          f"{' (the standard error exceeds 0.5: more seeds would be needed to resolve it)' if se > 0.5 else ''}")
    print(f"graft / python real tokens/s (means): {ratio:.2f}x")
    if args.jsonl:
        with open(args.jsonl, "w") as f:
            f.write(json.dumps({"kind": "seeds", "graft_accuracy": g_acc, "python_accuracy": p_acc,
                                "graft_tokens_per_s": g_tps, "python_tokens_per_s": p_tps,
                                "accuracy_points_diff": diff, "accuracy_points_diff_se": se, "paired_diffs": diffs,
                                "ratio": ratio}) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train the eager-mode classifier")
    t.add_argument("--train", required=True, help="token ids JSONL (encode_ids)")
    t.add_argument("--val", required=True)
    t.add_argument("--meta", required=True, help="encode_ids META.json (vocab_size, pad_id)")
    t.add_argument("--out", required=True, help="result JSON")
    t.add_argument("--log", help="per-step JSONL (step, epoch, loss, tokens, grad_norm)")
    t.add_argument("--order", choices=["shuffle", "graft"], default="shuffle")
    t.add_argument("--seed", type=int, required=True, help="the finetune stage's seed (lock file)")
    t.add_argument("--threads", type=int, required=True)
    t.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    for name, kind, default in (("epochs", int, 2), ("batch-size", int, 32), ("max-len", int, 256),
                                ("d-model", int, 128), ("n-layers", int, 2), ("n-heads", int, 4),
                                ("d-ff", int, 512), ("lr", float, 5e-4), ("warmup-ratio", float, 0.1),
                                ("weight-decay", float, 0.01), ("classifier-dropout", float, 0.1)):
        t.add_argument(f"--{name}", type=kind, default=default)
    t.add_argument("--pooling", choices=["mean", "cls"], default="mean")
    p = sub.add_parser("peak", help="sustained torch.mm GFLOP/s")
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--out")
    r = sub.add_parser("report", help="the benchmark table from the results")
    r.add_argument("--machine", required=True)
    r.add_argument("--peak", required=True)
    r.add_argument("--graft-fp32")
    r.add_argument("--graft-bf16")
    r.add_argument("--python", action="append", default=[], help="NAME=result.json (repeatable)")
    r.add_argument("--log", action="append", default=[],
                   help="NAME=per-step log (graft's train_log.jsonl or the Python --log), for the steady rate")
    r.add_argument("--graft-log")
    r.add_argument("--python-graft-log")
    r.add_argument("--jsonl")
    sd = sub.add_parser("seeds", help="accuracy and speed over seeds: graft vs the shuffled loop")
    sd.add_argument("--graft", nargs="+", required=True, help="graft-fp32 result JSONs, one per seed")
    sd.add_argument("--python", nargs="+", required=True, help="python-shuffle fp32 result JSONs")
    sd.add_argument("--jsonl")
    args = parser.parse_args()
    {"train": cmd_train, "peak": cmd_peak, "report": cmd_report, "seeds": cmd_seeds}[args.command](args)


if __name__ == "__main__":
    main()
