// Test support for the spec layer: a stage catalogue built from descriptor JSON (as a plugin would
// publish it), a self-cleaning temporary directory and helpers to capture PipelineErrors.
#pragma once

#include "core/spec/descriptor.hpp"
#include "core/spec/diagnostic.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace graft::test {

// Three ordinary stage types plus a variadic one, covering every param type and port kind.
inline const char* const kDescriptorsJson = R"([
  {"type": "text.clean", "version": "1", "doc": "cleans text rows",
   "inputs":  [{"name": "data", "type": "jsonl", "kind": "file", "doc": "rows"}],
   "outputs": [{"name": "data", "type": "jsonl", "kind": "file", "doc": "clean rows"}],
   "params": [
     {"name": "dedupe", "type": "bool", "doc": "drop duplicates", "default": false},
     {"name": "min_chars", "type": "int", "doc": "shortest row kept", "default": 0, "min": 0},
     {"name": "mode", "type": "string", "doc": "how hard", "default": "fast",
      "choices": ["fast", "thorough"]}
   ]},
  {"type": "split", "version": "2", "doc": "splits rows",
   "inputs":  [{"name": "data", "type": "jsonl", "kind": "file", "doc": "rows"}],
   "outputs": [{"name": "train", "type": "jsonl", "kind": "file", "doc": ""},
               {"name": "val", "type": "jsonl", "kind": "file", "doc": ""},
               {"name": "test", "type": "jsonl", "kind": "file", "doc": ""}],
   "params": [
     {"name": "ratios", "type": "list<float>", "doc": "split sizes", "default": [0.8, 0.1, 0.1],
      "min": 0, "max": 1},
     {"name": "stratify", "type": "string", "doc": "label field", "default": ""},
     {"name": "method", "type": "string", "doc": "", "default": "random",
      "choices": ["random", "hash"]}
   ]},
  {"type": "train", "version": "1", "doc": "trains a model",
   "inputs":  [{"name": "train", "type": "jsonl", "kind": "file", "doc": "training rows"},
               {"name": "init", "type": "model", "kind": "dir", "doc": "start from",
                "optional": true}],
   "outputs": [{"name": "model", "type": "model", "kind": "dir", "doc": "weights"},
               {"name": "metrics", "type": "any", "kind": "file", "doc": ""}],
   "params": [
     {"name": "lr", "type": "float", "doc": "learning rate", "required": true, "min": 0},
     {"name": "epochs", "type": "int", "doc": "", "default": 3, "min": 1, "max": 100},
     {"name": "layers", "type": "list<int>", "doc": "", "default": [64, 32]},
     {"name": "tags", "type": "list<string>", "doc": "", "default": []},
     {"name": "extra", "type": "table", "doc": "", "default": {}},
     {"name": "anything", "type": "any", "doc": "", "default": null}
   ]},
  {"type": "shell", "version": "1", "doc": "runs a command", "variadic_inputs": true,
   "inputs": [], "outputs": [{"name": "out", "type": "any", "kind": "file", "doc": ""}],
   "params": [{"name": "cmd", "type": "string", "doc": "the command"}]}
])";

class FakeCatalog final : public StageCatalog {
public:
    FakeCatalog() {
        for (const auto& j : json::parse(kDescriptorsJson)) {
            StageDescriptor d = descriptor_from_json(j);
            const std::string type = d.type;
            descriptors_.emplace(type, std::move(d));
        }
    }
    const StageDescriptor* find(std::string_view type) const override {
        auto it = descriptors_.find(std::string(type));
        return it == descriptors_.end() ? nullptr : &it->second;
    }
    std::vector<std::string> types() const override {
        std::vector<std::string> out;
        for (const auto& [type, d] : descriptors_) out.push_back(type);
        return out;
    }

private:
    std::map<std::string, StageDescriptor> descriptors_;
};

using TempDir = graft::testing::TempDir;

// The diagnostics of the PipelineError that `f` throws; fails the test if it throws none.
template <class F>
std::vector<Diagnostic> diagnostics_of(F&& f) {
    try {
        f();
    } catch (const PipelineError& e) {
        return e.diagnostics();
    }
    FAIL("expected a PipelineError");
    return {};
}

// The formatted message of the PipelineError that `f` throws.
template <class F>
std::string error_of(F&& f) {
    return format_diagnostics(diagnostics_of(std::forward<F>(f)));
}

}  // namespace graft::test
