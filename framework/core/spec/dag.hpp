// The stage graph of a validated pipeline, on Boost.Graph: edges run from producer to consumer.
#pragma once

#include "core/spec/pipeline_spec.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace graft {

class StageGraph {
public:
    // Builds the graph from the stages' StageOutput input bindings (dangling references ignored:
    // validate_pipeline reports those).
    explicit StageGraph(const PipelineSpec& spec);
    ~StageGraph();
    StageGraph(StageGraph&&) noexcept;
    StageGraph& operator=(StageGraph&&) noexcept;

    std::size_t size() const;
    const std::vector<std::string>& ids() const;  // index -> stage id, in file order
    std::optional<std::size_t> index(std::string_view id) const;
    const std::vector<std::size_t>& upstream(std::size_t i) const;    // direct producers, sorted
    const std::vector<std::size_t>& downstream(std::size_t i) const;  // direct consumers, sorted

    // A cycle as stage ids, first repeated at the end ("a", "b", "a"), or nullopt.
    std::optional<std::vector<std::string>> find_cycle() const;
    // Topological order (producers first; ties broken by file order). Throws PipelineError on a
    // cycle.
    std::vector<std::size_t> topological_order() const;
    // The given stages and everything upstream of them, in topological order.
    std::vector<std::size_t> with_upstream(const std::vector<std::size_t>& targets) const;
    // Everything downstream of the given stages (inclusive).
    std::vector<std::size_t> with_downstream(const std::vector<std::size_t>& roots) const;

    // Graphviz dot / mermaid flowchart; edges labelled "out_port -> in_port".
    std::string to_dot(const PipelineSpec& spec) const;
    std::string to_mermaid(const PipelineSpec& spec) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace graft
