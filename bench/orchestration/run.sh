#!/usr/bin/env bash
# graft vs Snakemake on trivial shell stages: what the orchestrator itself costs.
#
# usage: bench/orchestration/run.sh [GRAFT_BINARY] [WORK_DIR]
#   GRAFT_BINARY  default: $GRAFT, else build-bench/graft in the repository
#   WORK_DIR      default: a fresh mktemp dir (removed at the end unless KEEP=1)
# environment:
#   N=50          stages in the chain and branches in the fan-out
#   K=25          the chain stage whose extra input file changes in the "change" scenario
#   RUNS=10       hyperfine runs for the cold and change scenarios (no-op: --warmup 2 --runs 10)
#   NOOP_RUNS=10  hyperfine runs for the no-op scenario
#   GATHER=1      add a final gather stage to the fan-out (0: leave it out)
#   MAX_LOAD=     if set (e.g. 1.5), wait up to 15 min for the 1-min load average to drop below it
#   OUT_DIR=      if set, results are also written to $OUT_DIR/results.jsonl
#   KEEP=0        keep the work dir
#
# Scenarios, for each tool and workflow:
#   cold    outputs, cache and metadata removed before every run (hyperfine --prepare)
#   noop    everything up to date; the tool only has to find that out
#   change  one input rewritten with fresh content before every run: in the chain the extra input
#           of stage K (stages K..N rerun), in the fan-out the source data (everything reruns).
#           Fresh content each time, so graft cannot restore the result from its cache.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

GRAFT_BIN="${1:-${GRAFT:-$repo/build-bench/graft}}"
WORK="${2:-}"
N="${N:-50}"
K="${K:-25}"
RUNS="${RUNS:-10}"
NOOP_RUNS="${NOOP_RUNS:-10}"
GATHER="${GATHER:-1}"
MAX_LOAD="${MAX_LOAD:-}"
KEEP="${KEEP:-0}"

die() { echo "run.sh: $*" >&2; exit 2; }

[[ -x "$GRAFT_BIN" ]] || die "graft binary '$GRAFT_BIN' not found or not executable; build it with
  ninja -C build-bench graft graft_shell   (or pass its path as the first argument / set \$GRAFT)"
GRAFT_BIN="$(cd "$(dirname "$GRAFT_BIN")" && pwd)/$(basename "$GRAFT_BIN")"
for tool in snakemake hyperfine jq awk; do
    command -v "$tool" >/dev/null || die "'$tool' is required but not on PATH"
done
[[ "$N" =~ ^[0-9]+$ && "$N" -ge 2 ]] || die "N must be an integer >= 2 (got '$N')"
[[ "$K" =~ ^[0-9]+$ && "$K" -ge 2 && "$K" -le "$N" ]] || die "K must be in [2, N] (got '$K')"

if [[ -z "$WORK" ]]; then
    WORK="$(mktemp -d -t graft-bench-orch.XXXXXX)"
    [[ "$KEEP" == 1 ]] || trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"

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

# ---------------------------------------------------------------------------------------------
# machine and versions
# ---------------------------------------------------------------------------------------------
cpu_model="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
graft_version="$("$GRAFT_BIN" --version 2>&1 | head -1)"
smk_version="$(snakemake --version)"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "== machine"
echo "nproc:     $(nproc)"
echo "cpu:       $cpu_model"
echo "kernel:    $(uname -sr)"
echo "load:      $load_before (1/5/15 min, before)"
echo "graft:     $graft_version ($GRAFT_BIN)"
echo "snakemake: $smk_version"
echo "hyperfine: $(hyperfine --version)"
echo "N=$N K=$K runs(cold/change)=$RUNS runs(noop)=$NOOP_RUNS gather=$GATHER work=$WORK"
echo

# ---------------------------------------------------------------------------------------------
# workflow generation
# ---------------------------------------------------------------------------------------------
# Layout: $WORK/<workflow>/{graft,smk}/ each with its own data/ (identical content).
#   chain:  c1 reads data/src.txt; ci reads c(i-1); cK also reads data/extra.txt.
#           each stage: cat its inputs into x, append its number.
#   fan:    src copies data/src.txt; f1..fN each read src and append their number;
#           gather (optional) concatenates all fi.

write_data() {
    mkdir -p "$1/data"
    echo "source data" >"$1/data/src.txt"
    echo "extra input of stage $K" >"$1/data/extra.txt"
}

gen_graft_chain() {
    local f="$1/chain.toml" i
    {
        echo '[pipeline]'
        echo 'name = "bench-chain"'
        echo
        echo '[stages.c1]'
        echo 'uses = "shell"'
        echo 'inputs = { prev = "data/src.txt" }'
        echo 'params = { cmd = "cat {in.prev} > {out}/x && echo 1 >> {out}/x" }'
        for ((i = 2; i <= N; i++)); do
            echo
            echo "[stages.c$i]"
            echo 'uses = "shell"'
            if ((i == K)); then
                echo "inputs = { prev = \"c$((i - 1)).out\", extra = \"data/extra.txt\" }"
                echo "params = { cmd = \"cat {in.prev}/x {in.extra} > {out}/x && echo $i >> {out}/x\" }"
            else
                echo "inputs = { prev = \"c$((i - 1)).out\" }"
                echo "params = { cmd = \"cat {in.prev}/x > {out}/x && echo $i >> {out}/x\" }"
            fi
        done
    } >"$f"
}

gen_smk_chain() {
    cat >"$1/Snakefile" <<EOF
N = $N
K = $K

def step_inputs(wc):
    i = int(wc.i)
    ins = ["data/src.txt" if i == 1 else f"out/c{i - 1}/x"]
    if i == K:
        ins.append("data/extra.txt")
    return ins

rule all:
    input: f"out/c{N}/x"

rule step:
    input: step_inputs
    output: "out/c{i}/x"
    wildcard_constraints: i=r"\d+"
    shell: "cat {input} > {output} && echo {wildcards.i} >> {output}"
EOF
}

gen_graft_fan() {
    local f="$1/fan.toml" i cmd="cat" ins=""
    {
        echo '[pipeline]'
        echo 'name = "bench-fan"'
        echo
        echo '[stages.src]'
        echo 'uses = "shell"'
        echo 'inputs = { data = "data/src.txt" }'
        echo 'params = { cmd = "cat {in.data} > {out}/x" }'
        for ((i = 1; i <= N; i++)); do
            echo
            echo "[stages.f$i]"
            echo 'uses = "shell"'
            echo 'inputs = { src = "src.out" }'
            echo "params = { cmd = \"cat {in.src}/x > {out}/x && echo $i >> {out}/x\" }"
        done
        if [[ "$GATHER" == 1 ]]; then
            for ((i = 1; i <= N; i++)); do
                ins+="${ins:+, }f$i = \"f$i.out\""
                cmd+=" {in.f$i}/x"
            done
            echo
            echo '[stages.gather]'
            echo 'uses = "shell"'
            echo "inputs = { $ins }"
            echo "params = { cmd = \"$cmd > {out}/x\" }"
        fi
    } >"$f"
}

gen_smk_fan() {
    local target='expand("out/f{i}/x", i=range(1, N + 1))'
    [[ "$GATHER" == 1 ]] && target='"out/gather/x"'
    cat >"$1/Snakefile" <<EOF
N = $N

rule all:
    input: $target

rule src:
    input: "data/src.txt"
    output: "out/src/x"
    shell: "cat {input} > {output}"

rule branch:
    input: "out/src/x"
    output: "out/f{i}/x"
    wildcard_constraints: i=r"\d+"
    shell: "cat {input} > {output} && echo {wildcards.i} >> {output}"

rule gather:
    input: expand("out/f{i}/x", i=range(1, N + 1))
    output: "out/gather/x"
    shell: "cat {input} > {output}"
EOF
}

for wf in chain fan; do
    rm -rf "${WORK:?}/$wf"
    mkdir -p "$WORK/$wf/graft" "$WORK/$wf/smk"
    write_data "$WORK/$wf/graft"
    write_data "$WORK/$wf/smk"
    "gen_graft_$wf" "$WORK/$wf/graft"
    "gen_smk_$wf" "$WORK/$wf/smk"
done

# Reset and change scripts, run by hyperfine --prepare (files, so no quoting games).
mkdir -p "$WORK/scripts" "$WORK/json"
S="$WORK/scripts"
for wf in chain fan; do
    g="$WORK/$wf/graft" s="$WORK/$wf/smk"
    printf 'rm -rf "%s/.graft" "%s"/*.graft.lock "%s/graft.lock"\n' "$g" "$g" "$g" >"$S/reset-graft-$wf.sh"
    printf 'rm -rf "%s/out" "%s/.snakemake"\n' "$s" "$s" >"$S/reset-smk-$wf.sh"
done
# Fresh content every time (nanosecond clock), so no earlier result matches.
for tool in graft smk; do
    printf 'date +%%s%%N >> "%s/chain/%s/data/extra.txt"\n' "$WORK" "$tool" >"$S/change-$tool-chain.sh"
    printf 'date +%%s%%N >> "%s/fan/%s/data/src.txt"\n' "$WORK" "$tool" >"$S/change-$tool-fan.sh"
done

graft_cmd() { # workflow jobs
    echo "$GRAFT_BIN run -q -j $2 $WORK/$1/graft/$1.toml"
}
smk_cmd() { # workflow jobs
    echo "snakemake -c$2 --quiet -s $WORK/$1/smk/Snakefile -d $WORK/$1/smk"
}

# ---------------------------------------------------------------------------------------------
# sanity: both tools produce the same result, no-op is a no-op, change reruns what it should
# ---------------------------------------------------------------------------------------------
graft_out_file() { # workflow stage -> path of its output x in graft's object store
    local d
    d="$(jq -r --arg s "$2" '.stages[$s].outputs.out' "$WORK/$1/graft/$1.graft.lock")"
    echo "$WORK/$1/graft/.graft/objects/${d:0:2}/${d:2}/x"
}

count_ran() { grep -cE '^\[[0-9]+/[0-9]+] +ran ' || true; }

echo "== sanity checks"
for wf in chain fan; do
    last="c$N"
    [[ "$wf" == fan ]] && last="$([[ "$GATHER" == 1 ]] && echo gather || echo "f$N")"
    smk_last="out/$last/x"
    [[ "$wf" == chain ]] && smk_last="out/c$N/x"
    bash "$S/reset-graft-$wf.sh"
    bash "$S/reset-smk-$wf.sh"
    ran="$($GRAFT_BIN run -j 1 "$WORK/$wf/graft/$wf.toml" 2>&1 | count_ran)"
    $(smk_cmd "$wf" 1) >/dev/null 2>&1
    gfile="$(graft_out_file "$wf" "$last")"
    if ! cmp -s "$gfile" "$WORK/$wf/smk/$smk_last"; then
        die "$wf: graft's $last output ($gfile) differs from snakemake's ($smk_last)"
    fi
    echo "$wf: cold run: graft ran $ran stages; final output identical to snakemake's ($(wc -l <"$gfile") lines)"
    out="$($GRAFT_BIN run -j 1 "$WORK/$wf/graft/$wf.toml" 2>&1)"
    ran="$(echo "$out" | count_ran)"
    [[ "$ran" == 0 ]] || die "$wf: graft no-op rerun ran $ran stages:
$out"
    out="$(snakemake -c1 -s "$WORK/$wf/smk/Snakefile" -d "$WORK/$wf/smk" 2>&1)"
    grep -q "Nothing to be done" <<<"$out" || die "$wf: snakemake no-op rerun did something:
$out"
    echo "$wf: no-op: graft ran 0 stages; snakemake says 'Nothing to be done'"
    bash "$S/change-graft-$wf.sh"
    bash "$S/change-smk-$wf.sh"
    gran="$($GRAFT_BIN run -j 1 "$WORK/$wf/graft/$wf.toml" 2>&1 | count_ran)"
    sran="$(snakemake -c1 -s "$WORK/$wf/smk/Snakefile" -d "$WORK/$wf/smk" 2>&1 |
        grep -c '^rule ' || true)"
    echo "$wf: change: graft ran $gran stages, snakemake ran $sran jobs"
done
echo

# ---------------------------------------------------------------------------------------------
# measurements
# ---------------------------------------------------------------------------------------------
# hyperfine results: $WORK/json/<tool>-<workflow>-<scenario>-j<jobs>.json
measure() { # tool workflow scenario jobs
    local tool="$1" wf="$2" sc="$3" j="$4" cmd prep=() opts=()
    if [[ "$tool" == graft ]]; then cmd="$(graft_cmd "$wf" "$j")"; else cmd="$(smk_cmd "$wf" "$j")"; fi
    case "$sc" in
    cold) prep=(--prepare "bash $S/reset-$tool-$wf.sh"); opts=(--runs "$RUNS") ;;
    noop) opts=(--warmup 2 --runs "$NOOP_RUNS") ;;
    change) prep=(--prepare "bash $S/change-$tool-$wf.sh"); opts=(--runs "$RUNS") ;;
    esac
    # Leave the workflow complete before no-op and change runs.
    [[ "$sc" == cold ]] || $cmd >/dev/null 2>&1
    load1 >"$WORK/json/$tool-$wf-$sc-j$j.load"
    hyperfine --style basic "${opts[@]}" "${prep[@]}" --export-json \
        "$WORK/json/$tool-$wf-$sc-j$j.json" --command-name "$tool $wf $sc -j$j" "$cmd" |
        grep -E '^(Benchmark|  Time|  Range)' || true
}

# Bare cost of the commands, measured two ways; the overhead is computed against the cheaper
# one, so graft is not credited with a slow launcher:
#   loop:  N `sh -c` doing the chain's work, spawned from a bash loop (bash forks)
#   spawn: one stage's command, `sh -c 'cat 1/x > 2/x && echo 2 >> 2/x'`, started directly by
#          hyperfine -N (posix_spawn like graft, no shell in between), times N
# Measured right after graft's cold chain, so both see the same machine load.
measure_bare() {
    B="$WORK/bare"
    rm -rf "$B"
    mkdir -p "$B"
    cp "$WORK/chain/graft/data/src.txt" "$B/src.txt"
    cat >"$S/bare.sh" <<EOF
cd "$B"
sh -c 'cat src.txt > 1/x && echo 1 >> 1/x'
for ((i = 2; i <= $N; i++)); do
    sh -c "cat \$((i - 1))/x > \$i/x && echo \$i >> \$i/x"
done
EOF
    printf 'rm -rf "%s"/[0-9]* && for ((i = 1; i <= %d; i++)); do mkdir "%s/$i"; done\n' "$B" "$N" "$B" \
        >"$S/reset-bare.sh"
    load1 >"$WORK/json/bare-loop.load"
    hyperfine --style basic --warmup 1 --runs "$((RUNS * 2))" --prepare "bash $S/reset-bare.sh" \
        --export-json "$WORK/json/bare-loop.json" --command-name "bare loop: $N x sh -c from bash" \
        "bash $S/bare.sh" | grep -E '^(Benchmark|  Time|  Range)' || true
    bash "$S/reset-bare.sh"
    bash "$S/bare.sh"
    load1 >"$WORK/json/bare-spawn.load"
    (cd "$B" && hyperfine --style basic -N --warmup 5 --runs "$((RUNS * 10))" \
        --export-json "$WORK/json/bare-spawn.json" --command-name "bare spawn: 1 x sh -c" \
        "sh -c 'cat 1/x > 2/x && echo 2 >> 2/x'" | grep -E '^(Benchmark|  Time|  Range)' || true)
}

echo "== measurements"
for wf in chain fan; do
    jobs_list=(1)
    [[ "$wf" == fan ]] && jobs_list=(1 2)
    for j in "${jobs_list[@]}"; do
        for sc in cold noop change; do
            for tool in graft smk; do
                measure "$tool" "$wf" "$sc" "$j"
                [[ "$tool-$wf-$sc-$j" != graft-chain-cold-1 ]] || measure_bare
            done
        done
    done
done

load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
echo

# ---------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------
# Medians are the headline numbers: on a shared machine a neighbour's burst lands on a few runs
# and drags the mean; the JSON lines keep mean, stddev, min and CPU times too.
stat() { jq -r ".results[0].$2 // 0" "$WORK/json/$1.json"; }     # name field
cpu() { jq -r '.results[0] | .user + .system' "$WORK/json/$1.json"; } # mean user+sys, children too
fmt_ms() { awk -v s="$1" 'BEGIN { printf "%.1f ms", s * 1e3 }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }

[[ -n "${OUT_DIR:-}" ]] && mkdir -p "$OUT_DIR" && : >"$OUT_DIR/results.jsonl"
emit() { [[ -z "${OUT_DIR:-}" ]] || echo "$1" >>"$OUT_DIR/results.jsonl"; }

emit "$(jq -cn --arg cpu "$cpu_model" --arg kernel "$(uname -sr)" --arg graft "$graft_version" \
    --arg smk "$smk_version" --arg lb "$load_before" --arg la "$load_after" --arg work "$WORK" \
    --arg fs "$(df -T "$WORK" | awk 'NR == 2 { print $2 }')" \
    --argjson nproc "$(nproc)" --argjson n "$N" --argjson k "$K" --argjson runs "$RUNS" \
    '{kind: "machine", nproc: $nproc, cpu: $cpu, kernel: $kernel, graft: $graft,
      snakemake: $smk, load_before: $lb, load_after: $la, work_dir: $work, work_fs: $fs,
      n: $n, k: $k, runs: $runs}')"

echo "== results: median wall time (mean ± stddev); ratio = snakemake / graft, of the medians"
printf '%-8s %-8s %-3s %28s %30s %8s %10s\n' workflow scenario -j graft snakemake ratio "load g/s"
for wf in chain fan; do
    jobs_list=(1)
    [[ "$wf" == fan ]] && jobs_list=(1 2)
    for j in "${jobs_list[@]}"; do
        for sc in cold noop change; do
            g="graft-$wf-$sc-j$j" s="smk-$wf-$sc-j$j"
            printf '%-8s %-8s %-3s %28s %30s %7sx %10s\n' "$wf" "$sc" "$j" \
                "$(fmt_ms "$(stat "$g" median)") ($(fmt_ms "$(stat "$g" mean)") ± $(
                    fmt_ms "$(stat "$g" stddev)"))" \
                "$(fmt_ms "$(stat "$s" median)") ($(fmt_ms "$(stat "$s" mean)") ± $(
                    fmt_ms "$(stat "$s" stddev)"))" \
                "$(div "$(stat "$s" median)" "$(stat "$g" median)")" \
                "$(cat "$WORK/json/$g.load")/$(cat "$WORK/json/$s.load")"
            emit "$(jq -cn --arg wf "$wf" --arg sc "$sc" --argjson j "$j" --argjson n "$N" \
                --slurpfile g "$WORK/json/$g.json" --slurpfile s "$WORK/json/$s.json" \
                --argjson gl "$(cat "$WORK/json/$g.load")" --argjson sl "$(cat "$WORK/json/$s.load")" \
                'def pick: .results[0] | {median, mean, stddev, min, max, user, system,
                                          runs: (.times | length)};
                 ($g[0] | pick) as $G | ($s[0] | pick) as $S |
                 {kind: "timing", workflow: $wf, scenario: $sc, jobs: $j, n: $n,
                  graft_s: $G, snakemake_s: $S, ratio_median: ($S.median / $G.median),
                  graft_load1: $gl, snakemake_load1: $sl}')"
        done
    done
done

# Per-stage overhead of graft beyond the command, from the cold chain:
#   wall: (graft median - bare median) / N, bare = the cheaper of the two bare measurements
#   cpu:  (graft user+sys - bare user+sys) / N; CPU time does not grow when a neighbour holds
#         the CPU, so it bounds what graft itself spends, whatever the load
gcold="$(stat graft-chain-cold-j1 median)"
bare_loop="$(stat bare-loop median)"
bare_spawn="$(awk -v b="$(stat bare-spawn median)" -v n="$N" 'BEGIN { print b * n }')"
bare="$(awk -v a="$bare_loop" -v b="$bare_spawn" 'BEGIN { print (a < b ? a : b) }')"
bare_loop_cpu="$(cpu bare-loop)"
bare_spawn_cpu="$(awk -v b="$(cpu bare-spawn)" -v n="$N" 'BEGIN { print b * n }')"
bare_cpu="$(awk -v a="$bare_loop_cpu" -v b="$bare_spawn_cpu" 'BEGIN { print (a < b ? a : b) }')"
gcold_cpu="$(cpu graft-chain-cold-j1)"
per_ms() { awk -v s="$1" -v n="$N" 'BEGIN { printf "%.3f", s / n * 1e3 }'; }
overhead_ms="$(awk -v g="$gcold" -v b="$bare" -v n="$N" 'BEGIN { printf "%.3f", (g - b) / n * 1e3 }')"
overhead_cpu_ms="$(awk -v g="$gcold_cpu" -v b="$bare_cpu" -v n="$N" \
    'BEGIN { printf "%.3f", (g - b) / n * 1e3 }')"
noop_chain="$(div "$(stat smk-chain-noop-j1 median)" "$(stat graft-chain-noop-j1 median)")"
noop_fan="$(div "$(stat smk-fan-noop-j1 median)" "$(stat graft-fan-noop-j1 median)")"
verdict() { awk -v ok="$1" 'BEGIN { print (ok ? "met" : "NOT met") }'; }

echo
echo "bare command per stage (median): $(per_ms "$bare_loop") ms from a bash loop," \
    "$(per_ms "$bare_spawn") ms by posix_spawn (hyperfine -N);" \
    "CPU $(per_ms "$bare_loop_cpu") / $(per_ms "$bare_spawn_cpu") ms"
echo "graft cold chain (median): $(fmt_ms "$gcold") for $N stages = $(per_ms "$gcold") ms per stage;" \
    "CPU (user+sys, with children) $(per_ms "$gcold_cpu") ms per stage"
echo "graft per-stage overhead beyond the command: wall $overhead_ms ms, CPU $overhead_cpu_ms ms" \
    "  (target < 2 ms wall: $(verdict "$(awk -v o="$overhead_ms" 'BEGIN { print (o < 2) }')"))"
echo "load (1 min) before: graft cold chain $(cat "$WORK/json/graft-chain-cold-j1.load")," \
    "bare loop $(cat "$WORK/json/bare-loop.load"), bare spawn $(cat "$WORK/json/bare-spawn.load")"
if awk -v o="$overhead_ms" 'BEGIN { exit !(o < 0) }'; then
    echo "WARNING: negative overhead: the bare and graft measurements saw different load; rerun"
fi
echo "no-op re-run speedup over snakemake (medians): chain ${noop_chain}x, fan ${noop_fan}x" \
    "  (target >= 15x: $(verdict "$(awk -v a="$noop_chain" -v b="$noop_fan" \
        'BEGIN { print (a >= 15 && b >= 15) }')"))"
echo "load: $load_before before, $load_after after (1/5/15 min); work dir $WORK" \
    "($(df -T "$WORK" | awk 'NR == 2 { print $2 }'))"
emit "$(jq -cn --argjson o "$overhead_ms" --argjson oc "$overhead_cpu_ms" --argjson n "$N" \
    --argjson g "$(per_ms "$gcold")" --argjson gc "$(per_ms "$gcold_cpu")" \
    --argjson bl "$(per_ms "$bare_loop")" --argjson bs "$(per_ms "$bare_spawn")" \
    --argjson blc "$(per_ms "$bare_loop_cpu")" --argjson bsc "$(per_ms "$bare_spawn_cpu")" \
    '{kind: "overhead", workflow: "chain", n: $n,
      graft_overhead_ms_per_stage: $o, graft_overhead_cpu_ms_per_stage: $oc,
      graft_cold_ms_per_stage: $g, graft_cold_cpu_ms_per_stage: $gc,
      bare_loop_ms_per_stage: $bl, bare_spawn_ms_per_stage: $bs,
      bare_loop_cpu_ms_per_stage: $blc, bare_spawn_cpu_ms_per_stage: $bsc}')"
if [[ -n "${OUT_DIR:-}" ]]; then
    echo "results written to $OUT_DIR/results.jsonl"
fi
