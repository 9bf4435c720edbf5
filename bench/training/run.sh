#!/usr/bin/env bash
# Fine-tuning throughput: graft's finetune stage vs the same model and recipe in a plain PyTorch
# eager loop (Debian python3-torch 1.13: the same libtorch and OpenBLAS), on the same token ids.
#
# usage: bench/training/run.sh [GRAFT_BINARY] [WORK_DIR]
#   GRAFT_BINARY  default: $GRAFT, else build-bench/graft, else build/graft in the repository;
#                 its build tree must also hold the text, split, tokenize and transfer plugins
#                 and framework/ml/libgraft_tokenizer.a
#   WORK_DIR      default: a fresh mktemp dir (removed at the end unless KEEP=1)
# environment:
#   THREADS=nproc  intra-op threads for both loops (graft run --threads, torch.set_num_threads)
#   N_TRAIN=4000 N_VAL=1000  labelled IMDb rows for training / validation
#   EPOCHS=2 BATCH=32 MAX_LEN=256  the recipe (model: d_model 128, 2 pre-LN layers, 4 heads,
#                 d_ff 512, mean pooling; lr 5e-4, linear warm-up 10% and decay, AdamW wd 0.01)
#   QUICK=1       a smoke run: N_TRAIN=256 N_VAL=128 EPOCHS=1 MAX_LEN=64 (numbers mean nothing)
#   BF16=1        also train graft with precision = bf16 (0: skip)
#   PYTHON_BF16=0 also train the Python loop under torch.autocast(bf16)
#   BLAS_THREADS= if set, OPENBLAS_NUM_THREADS for both loops. Unset: OpenBLAS keeps its own
#                 default (nproc threads, a pool apart from torch's intra-op threads: LibTorch 1.13
#                 does not size it); the peak line reports what it was
#   MAX_LOAD=     if set (e.g. 1.5), wait up to 15 min for the 1-min load average to drop below it
#   SEEDS=        e.g. "1 2 3 4 5": afterwards, graft fp32 and python-shuffle fp32 (as is) again
#                 with each of these finetune stage seeds (init, dropout, data order), and the mean
#                 +- std of val accuracy and tokens/s of both (the speed target's equal accuracy)
#   OUT_DIR=      if set, results are also written to $OUT_DIR/results.jsonl
#   KEEP=0        keep the work dir
#
# Runs, one after the other on the same machine:
#   graft fp32                 graft run --force finetune (the stage's own train_tokens_per_s)
#   python-graft-order-tuned fp32
#                              eager loop on graft's exact batch plan (same seed, bucketing) in
#                              the tuned environment (TUNED_ENV below); the per-step losses are
#                              compared with graft's train_log.jsonl
#   python-shuffle fp32        the usual eager loop as it usually runs: DataLoader(shuffle=True),
#                              per-batch padding, the environment as it is
#   python-shuffle-tuned fp32  the same in the tuned environment
#   graft bf16                 (BF16=1)
#   python-shuffle bf16        (PYTHON_BF16=1)
# and a sustained torch.mm fp32/bf16 peak at 1024^2 on THREADS threads. Tokens/s count real
# (non-pad) tokens over training time (collate + forward + backward + clip + optimizer step;
# evaluation excluded), in both loops.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

die() { echo "run.sh: $*" >&2; exit 2; }

GRAFT_BIN="${1:-${GRAFT:-}}"
if [[ -z "$GRAFT_BIN" ]]; then
    GRAFT_BIN="$repo/build-bench/graft"
    [[ -x "$GRAFT_BIN" ]] || GRAFT_BIN="$repo/build/graft"
fi
WORK="${2:-}"
THREADS="${THREADS:-$(nproc)}"
if [[ "${QUICK:-0}" == 1 ]]; then
    N_TRAIN="${N_TRAIN:-256}" N_VAL="${N_VAL:-128}" EPOCHS="${EPOCHS:-1}" MAX_LEN="${MAX_LEN:-64}"
fi
N_TRAIN="${N_TRAIN:-4000}"
N_VAL="${N_VAL:-1000}"
EPOCHS="${EPOCHS:-2}"
BATCH="${BATCH:-32}"
MAX_LEN="${MAX_LEN:-256}"
BF16="${BF16:-1}"
PYTHON_BF16="${PYTHON_BF16:-0}"
MAX_LOAD="${MAX_LOAD:-}"
KEEP="${KEEP:-0}"
PY=/usr/bin/python3 # Debian's python3-torch lives in the system interpreter, not a pyenv one

for s in ${SEEDS:-}; do
    [[ "$s" =~ ^[0-9]+$ ]] || die "SEEDS must be non-negative integers separated by spaces (got '$s')"
done
for v in THREADS N_TRAIN N_VAL EPOCHS BATCH MAX_LEN; do
    [[ "${!v}" =~ ^[0-9]+$ && "${!v}" -ge 1 ]] || die "$v must be a positive integer (got '${!v}')"
done
[[ "$MAX_LEN" -ge 8 ]] || die "MAX_LEN must be >= 8 (the finetune stage's minimum), got $MAX_LEN"

[[ -x "$GRAFT_BIN" ]] || die "graft binary '$GRAFT_BIN' not found or not executable; build it with
  cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DGRAFT_BUILD_TESTS=OFF &&
  ninja -C build-bench graft graft_text graft_split graft_tokenize graft_transfer graft_tokenizer
  (or pass its path as the first argument / set \$GRAFT)"
GRAFT_BIN="$(cd "$(dirname "$GRAFT_BIN")" && pwd)/$(basename "$GRAFT_BIN")"
BUILD_DIR="$(dirname "$GRAFT_BIN")"
TOKENIZER_LIB="$BUILD_DIR/framework/ml/libgraft_tokenizer.a"
[[ -f "$TOKENIZER_LIB" ]] || die "$TOKENIZER_LIB is missing; build it with
  cmake --build $BUILD_DIR --target graft_tokenizer"
[[ -f "$repo/data/imdb/reviews.json" ]] || die "data/imdb/reviews.json is missing; scripts/setup.sh fetches it"
for tool in jq c++ pkg-config; do
    command -v "$tool" >/dev/null || die "'$tool' is required but not on PATH"
done

if ! "$PY" -c 'import torch' 2>/dev/null; then
    [[ "$(id -u)" == 0 ]] || die "python3-torch is not installed; as root: apt-get install -y --no-install-recommends python3-torch"
    echo "installing python3-torch (Debian's PyTorch 1.13)..." >&2
    apt-get install -y --no-install-recommends python3-torch >/dev/null ||
        { apt-get update -qq && apt-get install -y --no-install-recommends python3-torch >/dev/null; } ||
        die "apt-get install python3-torch failed"
fi
torch_version="$("$PY" -c 'import torch; print(torch.__version__)')"

if [[ -z "$WORK" ]]; then
    WORK="$(mktemp -d -t graft-bench-train.XXXXXX)"
    [[ "$KEEP" == 1 ]] || trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
R="$WORK/results"
mkdir -p "$R" "$WORK/ids"

load1() { cut -d' ' -f1 /proc/loadavg; }
if [[ -n "$MAX_LOAD" ]]; then
    waited=0
    until awk -v l="$(load1)" -v m="$MAX_LOAD" 'BEGIN { exit !(l < m) }'; do
        if ((waited >= 900)); then
            echo "load still $(load1) after 15 min; measuring anyway (see the load column)" >&2
            break
        fi
        echo "load $(load1) >= $MAX_LOAD, waiting..." >&2
        sleep 10
        waited=$((waited + 10))
    done
fi

if [[ -n "${BLAS_THREADS:-}" ]]; then
    [[ "$BLAS_THREADS" =~ ^[0-9]+$ && "$BLAS_THREADS" -ge 1 ]] || die "BLAS_THREADS must be a positive integer"
    export OPENBLAS_NUM_THREADS="$BLAS_THREADS"
fi

# ---------------------------------------------------------------------------------------------
# machine and versions
# ---------------------------------------------------------------------------------------------
cpu_model="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
cpu_flags="$(grep -m1 '^flags' /proc/cpuinfo)"
bf16_isa="none (bf16 is emulated through fp32)"
[[ "$cpu_flags" == *" avx512_bf16"* ]] && bf16_isa="avx512_bf16"
[[ "$cpu_flags" == *" amx_bf16"* ]] && bf16_isa="$bf16_isa amx_bf16 (graft caps oneDNN at AVX512_CORE_BF16)"
graft_version="$("$GRAFT_BIN" --version 2>&1 | head -1)"
build_type="$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || true)"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "== machine"
echo "nproc:     $(nproc)"
echo "cpu:       $cpu_model (bf16 ISA: $bf16_isa)"
echo "kernel:    $(uname -sr)"
echo "load:      $load_before (1/5/15 min, before)"
echo "graft:     $graft_version ($GRAFT_BIN, ${build_type:-unknown} build)"
echo "torch:     $torch_version ($PY)"
echo "openblas:  OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-unset} (both loops)"
echo "threads=$THREADS train=$N_TRAIN val=$N_VAL epochs=$EPOCHS batch=$BATCH max_len=$MAX_LEN work=$WORK"
echo

# Both loops run under graft's oneDNN ISA cap (runtime.cpp): bf16 stays off the AMX path.
export ONEDNN_MAX_CPU_ISA="${ONEDNN_MAX_CPU_ISA:-AVX512_CORE_BF16}"
export DNNL_MAX_CPU_ISA="${DNNL_MAX_CPU_ISA:-AVX512_CORE_BF16}"

# ---------------------------------------------------------------------------------------------
# data: graft imports, cleans and splits IMDb and trains the tokenizer; encode_ids turns the split
# rows into token ids with graft's tokenizer, exactly as the finetune stage does
# ---------------------------------------------------------------------------------------------
cp "$here/training.toml" "$WORK/training.toml"
ln -sfn "$repo/data" "$WORK/data"
P="$WORK/training.toml"
LOCK="$WORK/training.graft.lock"
SETS=(--set "stages.split.params.sizes=[$N_TRAIN,$N_VAL]"
      --set "stages.finetune.params.epochs=$EPOCHS"
      --set "stages.finetune.params.batch_size=$BATCH"
      --set "stages.finetune.params.max_len=$MAX_LEN")
graft() { "$GRAFT_BIN" "$@"; }

echo "== data"
graft run -q -j 1 --threads "$THREADS" "$P" split tokenizer "${SETS[@]}"
object() { # stage port -> path of the output in the object store
    local d
    d="$(jq -r --arg s "$1" --arg p "$2" '.stages[$s].outputs[$p] // empty' "$LOCK")"
    [[ -n "$d" ]] || die "$LOCK has no output $1.$2"
    echo "$WORK/.graft/objects/${d:0:2}/${d:2}"
}
train_rows="$(object split train)"
val_rows="$(object split val)"
tokenizer_json="$(object tokenizer tokenizer)/tokenizer.json"
[[ -f "$train_rows" && -f "$val_rows" && -f "$tokenizer_json" ]] ||
    die "split/tokenizer outputs not found where the lock file says ($train_rows, $val_rows, $tokenizer_json)"

ENCODE="$WORK/encode_ids"
# shellcheck disable=SC2046  # pkg-config prints several flags
c++ -std=c++20 -O2 -I"$repo/framework" "$here/encode_ids.cpp" "$TOKENIZER_LIB" \
    $(pkg-config --cflags --libs libutf8proc) -lfmt -o "$ENCODE"
"$ENCODE" "$tokenizer_json" "$MAX_LEN" text label "$train_rows" "$WORK/ids/train.jsonl" "$WORK/ids/meta.json"
"$ENCODE" "$tokenizer_json" "$MAX_LEN" text label "$val_rows" "$WORK/ids/val.jsonl"
echo "train ids: $(jq -c . "$WORK/ids/meta.json")"
echo

# ---------------------------------------------------------------------------------------------
# runs
# ---------------------------------------------------------------------------------------------
echo '{}' >"$R/loads.json"
note_load() { # run name
    jq --arg k "$1" --arg v "$(load1)" '.[$k] = ($v | tonumber)' "$R/loads.json" >"$R/loads.tmp"
    mv "$R/loads.tmp" "$R/loads.json"
}

echo "== fp32/bf16 matmul peak (torch.mm 1024^2, $THREADS threads)"
note_load peak
"$PY" "$here/train_eager.py" peak --threads "$THREADS" --size 1024 --seconds 3 --out "$R/peak.json"
echo

run_graft() { # precision [extra graft run args...]
    local prec="$1" model
    shift
    echo "== graft $prec${*:+ ($*)}"
    note_load "graft $prec"
    if ! graft run -j 1 --threads "$THREADS" "$P" finetune --force finetune "${SETS[@]}" \
        --set "stages.finetune.params.precision=$prec" "$@" >"$R/graft-$prec.log" 2>&1; then
        cat "$R/graft-$prec.log" >&2
        die "graft run failed for precision $prec (log above, also in $R/graft-$prec.log)"
    fi
    grep -E 'LibTorch|step [0-9]+/|best validation|ran |warning' "$R/graft-$prec.log" || true
    # The lock keeps the previous entry when a run does not record one: check it is this run's.
    jq -e --arg p "$prec" '.stages.finetune | .params.precision == $p and (.metrics.train_tokens_per_s != null)' \
        "$LOCK" >/dev/null || die "$LOCK holds no finetune metrics for precision $prec"
    jq '.stages.finetune | .metrics + {precision: .params.precision}' "$LOCK" >"$R/graft-$prec.json"
    model="$(object finetune model)"
    cp "$model/train_log.jsonl" "$R/graft-$prec.train_log.jsonl"
    jq -c '{steps, train_tokens_per_s, train_seconds, val_accuracy}' "$R/graft-$prec.json"
    echo
}

# A tuned environment for the "-tuned" Python runs: OpenMP workers wait passively, OpenBLAS's pool
# has the intra-op threads, and glibc malloc serves big blocks from the heap. graft itself applies
# the malloc part (framework/ml/train/runtime.hpp) and the OpenBLAS part when you export
# OMP_WAIT_POLICY=PASSIVE; it leaves OpenMP's default wait policy alone.
TUNED_ENV=(OMP_WAIT_POLICY=PASSIVE "OPENBLAS_NUM_THREADS=${BLAS_THREADS:-$THREADS}"
           GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647)

SEED=""
run_python() { # order precision [tuned]
    local order="$1" prec="$2" tuned="${3:-}" name
    name="python-$([[ "$1" == graft ]] && echo graft-order || echo "$1")${tuned:+-tuned} $2" # the report's run names
    local env_prefix=()
    [[ -n "$tuned" ]] && env_prefix=(env "${TUNED_ENV[@]}")
    echo "== $name${tuned:+ (${TUNED_ENV[*]})}"
    note_load "$name"
    "${env_prefix[@]}" "$PY" "$here/train_eager.py" train --train "$WORK/ids/train.jsonl" --val "$WORK/ids/val.jsonl" \
        --meta "$WORK/ids/meta.json" --order "$order" --precision "$prec" --seed "$SEED" \
        --threads "$THREADS" --epochs "$EPOCHS" --batch-size "$BATCH" --max-len "$MAX_LEN" \
        --out "$R/python-$order${tuned:+-tuned}-$prec.json" --log "$R/python-$order${tuned:+-tuned}-$prec.log.jsonl" |
        jq -c '{steps, tokens_per_s, train_seconds, val_accuracy, pad_fraction}'
    echo
}

run_graft fp32
# The stage's seed (same init, dropout and data order), read exactly: jq 1.6 rounds 64-bit integers.
stage_seed() { "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["stages"]["finetune"]["seed"])' "$LOCK"; }
SEED="$(stage_seed)"
run_python graft fp32 tuned
run_python shuffle fp32
run_python shuffle fp32 tuned
if [[ "$BF16" == 1 ]]; then run_graft bf16; fi
if [[ "$PYTHON_BF16" == 1 ]]; then run_python shuffle bf16; fi
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------
jq -n --arg cpu "$cpu_model" --arg kernel "$(uname -sr)" --arg graft "$graft_version" \
    --arg build "${build_type:-unknown}" --arg torch "$torch_version" --arg isa "$bf16_isa" \
    --arg lb "$load_before" --arg la "$load_after" --argjson nproc "$(nproc)" \
    --arg blas "${OPENBLAS_NUM_THREADS:-unset}" \
    --argjson threads "$THREADS" --argjson ntrain "$N_TRAIN" --argjson nval "$N_VAL" \
    --argjson epochs "$EPOCHS" --argjson batch "$BATCH" --argjson maxlen "$MAX_LEN" \
    --slurpfile loads "$R/loads.json" \
    '{nproc: $nproc, cpu: $cpu, bf16_isa: $isa, kernel: $kernel, graft: $graft, graft_build: $build,
      torch: $torch, openblas_num_threads_env: $blas, load_before: $lb, load_after: $la, threads: $threads, train_rows: $ntrain,
      val_rows: $nval, epochs: $epochs, batch_size: $batch, max_len: $maxlen,
      load1_before_run: $loads[0]}' >"$R/machine.json"

report=(--machine "$R/machine.json" --peak "$R/peak.json" --graft-fp32 "$R/graft-fp32.json"
        --log "graft fp32=$R/graft-fp32.train_log.jsonl"
        --python "python-graft-order-tuned fp32=$R/python-graft-tuned-fp32.json"
        --log "python-graft-order-tuned fp32=$R/python-graft-tuned-fp32.log.jsonl"
        --python "python-shuffle fp32=$R/python-shuffle-fp32.json"
        --log "python-shuffle fp32=$R/python-shuffle-fp32.log.jsonl"
        --python "python-shuffle-tuned fp32=$R/python-shuffle-tuned-fp32.json"
        --log "python-shuffle-tuned fp32=$R/python-shuffle-tuned-fp32.log.jsonl"
        --graft-log "$R/graft-fp32.train_log.jsonl" --python-graft-log "$R/python-graft-tuned-fp32.log.jsonl"
        --jsonl "$R/results.jsonl")
if [[ "$BF16" == 1 ]]; then
    report+=(--graft-bf16 "$R/graft-bf16.json" --log "graft bf16=$R/graft-bf16.train_log.jsonl")
fi
if [[ "$PYTHON_BF16" == 1 ]]; then
    report+=(--python "python-shuffle bf16=$R/python-shuffle-bf16.json"
             --log "python-shuffle bf16=$R/python-shuffle-bf16.log.jsonl")
fi
echo "== results ($THREADS threads; real = non-pad tokens; GFLOP/s = useful training FLOPs / train s)"
"$PY" "$here/train_eager.py" report "${report[@]}"
echo "load (1 min) before each run: $(jq -c . "$R/loads.json")"
echo "load: $load_before before, $load_after after (1/5/15 min); work dir $WORK"
if [[ -n "${SEEDS:-}" ]]; then
    # After the report: these runs reuse (and then move away) the main runs' file names.
    mkdir -p "$R/seeds"
    g_runs=() p_runs=()
    for s in $SEEDS; do
        run_graft fp32 --set "stages.finetune.seed=$s"
        mv "$R/graft-fp32.json" "$R/seeds/graft-$s.json"
        SEED="$(stage_seed)"
        run_python shuffle fp32
        mv "$R/python-shuffle-fp32.json" "$R/seeds/python-$s.json"
        g_runs+=("$R/seeds/graft-$s.json") p_runs+=("$R/seeds/python-$s.json")
    done
    echo "== seeds ($SEEDS): graft fp32 vs python-shuffle fp32 (as is), best-epoch val accuracy"
    "$PY" "$here/train_eager.py" seeds --graft "${g_runs[@]}" --python "${p_runs[@]}" --jsonl "$R/seeds.jsonl"
    cat "$R/seeds.jsonl" >>"$R/results.jsonl"
fi
if [[ -n "${OUT_DIR:-}" ]]; then
    mkdir -p "$OUT_DIR"
    cp "$R/results.jsonl" "$OUT_DIR/results.jsonl"
    echo "results written to $OUT_DIR/results.jsonl"
fi
