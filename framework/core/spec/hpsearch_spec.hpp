// The [hpsearch] section of a pipeline file: a sequential model-based search (TPE, or plain
// random search) over stage parameters, ranked by one stage's metric. `graft hpsearch FILE` runs
// one trial at a time through the ordinary runner and records each finished trial in a journal
// (hpsearch_journal.hpp), so an interrupted search continues where it stopped.
//
//   [hpsearch]
//   metric = "eval.accuracy"      # "<stage>.<metric>"
//   goal = "max"                  # or "min"
//   trials = 20                   # the budget: trials in the journal, the recorded ones included
//   startup_trials = 5            # random trials before the model takes over
//   algorithm = "tpe"             # or "random"
//   [hpsearch.params]
//   "train.lr" = { min = 1e-5, max = 1e-2, log = true }
//   "train.layers" = { min = 1, max = 8, int = true }
//   "train.strategy" = { choices = ["full", "freeze_lower"] }
#pragma once

#include "core/spec/descriptor.hpp"
#include "core/spec/diagnostic.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace graft {

// One searched parameter: "<stage>.<param>", or "<stage>.<param>.<key>" for one entry of a
// table-typed param (a shell stage's env = { ... }).
struct HpParam {
    enum class Kind { Float, Int, Choice };
    std::string name;   // as written: "train.lr"
    std::string stage;  // "train"
    std::string param;  // "lr"
    std::string key;    // entry of a table param; empty for a plain param
    Kind kind = Kind::Float;
    double low = 0, high = 0;  // Float and Int, inclusive
    bool log = false;          // sample and model in log space (low > 0)
    std::vector<json> choices; // Choice
    SourceLoc loc;             // of the key
    SourceLoc value_loc;       // of the { ... } space
};

struct HpSearchSpec {
    enum class Algorithm { Tpe, Random };
    std::string metric_stage;
    std::string metric;
    bool maximize = true;
    std::size_t trials = 20;
    std::size_t startup_trials = 5;
    std::size_t candidates = 24;  // TPE: points drawn from the good density per proposal
    double gamma = 0.25;          // TPE: fraction of finished trials that count as good
    Algorithm algorithm = Algorithm::Tpe;
    bool has_seed = false;        // seed given under [hpsearch]; else the pipeline seed
    std::uint64_t seed = 0;
    std::vector<HpParam> params;  // in file order
    SourceLoc loc;                // of [hpsearch]
    SourceLoc metric_loc;
};

}  // namespace graft
