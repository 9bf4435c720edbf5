#!/bin/sh
# Proves examples/out-of-tree-plugin works as its README says: install graft into a scratch
# prefix, build the example plugin against it with find_package(graft), list the stage with the
# installed graft through GRAFT_PLUGIN_PATH, and run the example pipeline.
#
# usage: out_of_tree_test.sh GRAFT_BUILD_DIR EXAMPLE_SOURCE_DIR WORK_DIR CMAKE GENERATOR CXX [LAUNCHER]
# WORK_DIR is wiped first and removed on success (kept on failure, for a look at the logs).
set -eu

build_dir=$1
example_dir=$2
work=$3
cmake=$4
generator=$5
cxx=$6
launcher=${7:-}

fail() {
    echo "FAILED: $*" >&2
    for log in "$work"/*.log; do
        [ -f "$log" ] || continue
        echo "----- $log" >&2
        tail -n 40 "$log" >&2
    done
    exit 1
}

rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
plugin_build=$work/build

echo "== installing graft from $build_dir into $prefix"
"$cmake" --install "$build_dir" --prefix "$prefix" >"$work/install.log" 2>&1 ||
    fail "cmake --install $build_dir"
[ -x "$prefix/bin/graft" ] || fail "no bin/graft in the install prefix"
[ -f "$prefix/lib/cmake/graft/graftConfig.cmake" ] ||
    [ -n "$(find "$prefix" -name graftConfig.cmake)" ] || fail "no graftConfig.cmake installed"

echo "== building the example against the installed graft"
# The compiler and launcher of the graft build: same C++ ABI, and ccache hits on re-runs.
"$cmake" -S "$example_dir" -B "$plugin_build" -G "$generator" -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx" \
    ${launcher:+-DCMAKE_CXX_COMPILER_LAUNCHER="$launcher"} >"$work/configure.log" 2>&1 ||
    fail "configuring the example"
grep -q "graft_DIR:PATH=$prefix/" "$plugin_build/CMakeCache.txt" ||
    fail "find_package(graft) did not pick the installed graft: $(grep graft_DIR "$plugin_build/CMakeCache.txt")"
"$cmake" --build "$plugin_build" >"$work/build.log" 2>&1 || fail "building the example"
[ -f "$plugin_build/libmy_stage.so" ] || fail "no libmy_stage.so in $plugin_build"
if grep -q "warning:" "$work/build.log"; then fail "the example builds with warnings"; fi

echo "== graft stages example.word_count"
GRAFT_PLUGIN_PATH=$plugin_build "$prefix/bin/graft" stages example.word_count \
    >"$work/stages.log" 2>&1 || fail "graft stages example.word_count"
cat "$work/stages.log"
grep -q "^example.word_count (version 1) from $plugin_build/libmy_stage.so" "$work/stages.log" ||
    fail "graft stages does not show example.word_count from the example build"
grep -q "text_field" "$work/stages.log" || fail "graft stages does not list the parameters"

echo "== graft run pipeline.toml"
mkdir -p "$work/run"
cp -R "$example_dir/pipeline.toml" "$example_dir/data" "$work/run/"
GRAFT_PLUGIN_PATH=$plugin_build "$prefix/bin/graft" run "$work/run/pipeline.toml" \
    >"$work/run.log" 2>&1 || fail "graft run pipeline.toml"
GRAFT_PLUGIN_PATH=$plugin_build "$prefix/bin/graft" metrics "$work/run/pipeline.toml" \
    >"$work/metrics.log" 2>&1 || fail "graft metrics pipeline.toml"
cat "$work/metrics.log"
# 5 reviews, one duplicate dropped by text.clean: 8 + 5 + 4 + 4 words.
grep -Eq "^ +words +21$" "$work/metrics.log" || fail "metric words = 21 not reported"

rm -rf "$work"
echo "out-of-tree plugin example: OK"
