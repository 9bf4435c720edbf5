// A pipeline.toml parsed into plain structs (parse), then checked against the stage catalogue
// (validate). Precedence of parameter values: stage defaults < pipeline file < --set overrides.
#pragma once

#include "core/spec/descriptor.hpp"
#include "core/spec/diagnostic.hpp"
#include "core/spec/hpsearch_spec.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace graft {

struct InputBinding {
    enum class Kind { Path, StageOutput };
    std::string port;
    std::string raw;  // as written: "data/raw.jsonl" or "clean.data"
    Kind kind = Kind::Path;
    std::string stage;                // StageOutput: producing stage id
    std::string output;               // StageOutput: producing stage's output port
    std::filesystem::path path;       // Path: absolute (relative paths resolved to the file's dir)
    SourceLoc loc;
};

struct StageSpec {
    std::string id;
    std::string uses;
    SourceLoc loc;       // of the [stages.<id>] header
    SourceLoc uses_loc;
    std::vector<InputBinding> inputs;          // sorted by port name
    json params = json::object();              // as written (file, then --set), before defaults
    std::map<std::string, SourceLoc> param_locs;
    // Filled by validate(): every schema param present (defaults applied, ints widened to float
    // where the schema says float), ready to hash and hand to the plugin.
    json resolved_params = json::object();
    const StageDescriptor* descriptor = nullptr;  // filled by validate()
    // `exclusive = true|false` in the file: overrides the stage type's own flag (a shell stage
    // running a heavy program can ask to run alone). Not part of the cache key.
    std::optional<bool> exclusive;
    bool runs_exclusively() const;
    // `seed = N` in the file: this stage draws its seed from N instead of [pipeline] seed (still
    // mixed with the stage id), so one stage can be re-run over seeds while its upstream stays
    // cached. Part of the cache key through the seed it yields.
    std::optional<std::uint64_t> seed;
    // A sweep variant (see sweep.hpp): the stage it was copied from, and the swept values it
    // carries (label -> value, in sweep order). Empty for ordinary stages.
    std::string variant_of;
    json variant_params = json::object();

    const InputBinding* find_input(std::string_view port) const;
};

// The [sweep] section: a grid (or a seeded random subset of it) over stage parameters. Parsing
// expands the stages into variants (sweep.hpp); what stays here names them for `graft metrics`.
struct SweepParam {
    std::string stage;   // "finetune" of "finetune.lr"
    std::string param;   // "lr"
    std::string label;   // in variant ids: the param name, or "stage:param" when two share it
    std::vector<json> values;
    std::vector<SourceLoc> value_locs;
    SourceLoc loc;       // of the "stage.param" key
};

struct SweepVariant {
    std::string id;                 // the metric stage's copy, e.g. "eval@lr=0.0001,epochs=4"
    json params = json::object();   // label -> value
};

struct SweepSpec {
    enum class Mode { Grid, Random };
    Mode mode = Mode::Grid;
    std::size_t samples = 0;  // Random: how many grid points (all of them when >= grid size)
    std::string metric_stage;
    std::string metric;
    bool maximize = true;     // goal = "max"
    SourceLoc loc;            // of [sweep]
    SourceLoc metric_loc;
    std::vector<SweepParam> params;
    std::vector<SweepVariant> variants;  // filled by expansion, in grid order
};

// The [report] section (report.hpp): the stages and metrics of the pipeline's results table.
struct ReportSpec {
    std::string title;
    std::vector<std::string> stages;      // after validation: swept stages replaced by their variants
    std::vector<SourceLoc> stage_locs;    // as written, one per listed stage
    std::vector<std::string> metrics;
    SourceLoc loc;                        // of [report]
};

struct PipelineSpec {
    std::filesystem::path file;  // absolute path of pipeline.toml
    std::filesystem::path dir;   // its directory: base for relative paths
    std::string name;
    std::uint64_t seed = 0;
    std::vector<StageSpec> stages;  // in file order (sweep variants in place of their stage)
    std::optional<SweepSpec> sweep;
    std::optional<ReportSpec> report;      // [report]: the results table (report.hpp)
    std::optional<HpSearchSpec> hpsearch;  // [hpsearch]: run by `graft hpsearch` (hpsearch.hpp)

    const StageSpec* find(std::string_view id) const;
    StageSpec* find(std::string_view id);
    std::vector<std::string> stage_ids() const;
};

// One `--set KEY=VALUE` from the command line. VALUE is parsed as a TOML value
// (`[0.7,0.15,0.15]`, `true`, `3`, `"x"`); if that fails it is taken as a bare string.
struct Override {
    std::string key;
    std::string value;
    int index = 0;  // position on the command line, for diagnostics
};
// Parses "KEY=VALUE"; throws PipelineError when there is no '='.
Override parse_override(std::string_view text, int index);

// Reads and parses a pipeline file, applies overrides. Throws PipelineError with every problem
// found (syntax errors, unknown sections/keys, wrong value types, malformed input references).
PipelineSpec parse_pipeline(const std::filesystem::path& file,
                            const std::vector<Override>& overrides = {});
// Same, from text (tests); `file` is used for messages and as the base directory.
PipelineSpec parse_pipeline_text(std::string_view text, const std::filesystem::path& file,
                                 const std::vector<Override>& overrides = {});

// Checks the spec against the catalogue: unknown stage types, unknown/missing/mistyped params,
// out-of-range values, unknown or type-incompatible ports, missing required inputs, dangling
// references, missing input files, cycles (the cycle is printed). Fills resolved_params and
// descriptor. Throws PipelineError listing every problem.
void validate_pipeline(PipelineSpec& spec, const StageCatalog& catalog);

// The fully resolved pipeline as TOML text (`graft config`): every stage with all params,
// defaults included, in file order.
std::string pipeline_to_toml(const PipelineSpec& spec);

}  // namespace graft
