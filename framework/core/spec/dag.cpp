// The stage graph on Boost.Graph. Vertex i is spec.stages[i]; an edge runs from a producing stage
// to a consuming one (one edge per pair, however many ports connect them). Every traversal is
// deterministic: vertices are visited in file order and edges were added in sorted order.
#include "core/spec/dag.hpp"

#include "core/spec/spec_detail.hpp"

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/depth_first_search.hpp>
#include <fmt/format.h>

#include <functional>
#include <map>
#include <queue>
#include <set>
#include <stdexcept>

namespace graft {
namespace {

using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS>;
using Vertex = boost::graph_traits<Graph>::vertex_descriptor;
using Edge = boost::graph_traits<Graph>::edge_descriptor;

// Records DFS tree parents and the first back edge, which closes a cycle. Boost copies visitors,
// so the results live outside and the visitor holds pointers.
class CycleVisitor : public boost::default_dfs_visitor {
public:
    CycleVisitor(std::vector<Vertex>* parent, std::optional<std::pair<Vertex, Vertex>>* back)
        : parent_(parent), back_(back) {}
    void tree_edge(Edge e, const Graph& g) {
        (*parent_)[boost::target(e, g)] = boost::source(e, g);
    }
    void back_edge(Edge e, const Graph& g) {
        if (!*back_) *back_ = std::make_pair(boost::source(e, g), boost::target(e, g));
    }

private:
    std::vector<Vertex>* parent_;
    std::optional<std::pair<Vertex, Vertex>>* back_;
};

std::string dot_quote(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out + '"';
}

// Mermaid labels are quoted strings where '"' must be an entity.
std::string mermaid_quote(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"')
            out += "#quot;";
        else if (c == '\n')
            out += "<br/>";
        else
            out += c;
    }
    return out + '"';
}

// The path inputs of a pipeline as graph nodes: one per distinct resolved path, labelled with
// the reference as first written, in order of first appearance.
struct PathNodes {
    std::vector<std::pair<std::string, std::string>> nodes;  // (absolute path, label)
    std::map<std::string, std::size_t> index;

    explicit PathNodes(const PipelineSpec& spec) {
        for (const auto& st : spec.stages)
            for (const auto& b : st.inputs)
                if (b.kind == InputBinding::Kind::Path &&
                    index.emplace(b.path.string(), nodes.size()).second)
                    nodes.emplace_back(b.path.string(), b.raw);
    }
};

}  // namespace

struct StageGraph::Impl {
    Graph graph;
    std::vector<std::string> ids;
    std::map<std::string, std::size_t, std::less<>> index;
    std::vector<std::vector<std::size_t>> up, down;
};

StageGraph::StageGraph(const PipelineSpec& spec) : impl_(std::make_unique<Impl>()) {
    const std::size_t n = spec.stages.size();
    impl_->graph = Graph(n);
    impl_->up.resize(n);
    impl_->down.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        impl_->ids.push_back(spec.stages[i].id);
        impl_->index.emplace(spec.stages[i].id, i);  // a duplicate id keeps its first stage
    }
    std::set<std::pair<std::size_t, std::size_t>> edges;  // (producer, consumer)
    for (std::size_t i = 0; i < n; ++i)
        for (const auto& b : spec.stages[i].inputs)
            if (b.kind == InputBinding::Kind::StageOutput)
                if (auto j = index(b.stage)) edges.emplace(*j, i);
    for (const auto& [from, to] : edges) {
        boost::add_edge(from, to, impl_->graph);
        impl_->down[from].push_back(to);
        impl_->up[to].push_back(from);
    }
    for (auto& v : impl_->up) std::sort(v.begin(), v.end());
}

StageGraph::~StageGraph() = default;
StageGraph::StageGraph(StageGraph&&) noexcept = default;
StageGraph& StageGraph::operator=(StageGraph&&) noexcept = default;

std::size_t StageGraph::size() const { return impl_->ids.size(); }

const std::vector<std::string>& StageGraph::ids() const { return impl_->ids; }

std::optional<std::size_t> StageGraph::index(std::string_view id) const {
    auto it = impl_->index.find(id);
    if (it == impl_->index.end()) return std::nullopt;
    return it->second;
}

const std::vector<std::size_t>& StageGraph::upstream(std::size_t i) const {
    return impl_->up.at(i);
}

const std::vector<std::size_t>& StageGraph::downstream(std::size_t i) const {
    return impl_->down.at(i);
}

std::optional<std::vector<std::string>> StageGraph::find_cycle() const {
    const Graph& g = impl_->graph;
    std::vector<Vertex> parent(boost::num_vertices(g));
    std::optional<std::pair<Vertex, Vertex>> back;
    boost::depth_first_search(g, boost::visitor(CycleVisitor(&parent, &back)));
    if (!back) return std::nullopt;
    // Back edge u -> v: v is an ancestor of u on the DFS stack, so v -> ... -> u -> v.
    const auto [u, v] = *back;
    std::vector<std::string> path;
    for (Vertex x = u; x != v; x = parent[x]) path.push_back(impl_->ids[x]);
    path.push_back(impl_->ids[v]);
    std::reverse(path.begin(), path.end());
    path.push_back(impl_->ids[v]);
    return path;
}

std::vector<std::size_t> StageGraph::topological_order() const {
    // Kahn's algorithm with a min-heap on the stage index: among the stages that are ready, the
    // one written first in the file runs first, so the order never depends on container details.
    const Graph& g = impl_->graph;
    const std::size_t n = boost::num_vertices(g);
    std::vector<std::size_t> indegree(n);
    std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready;
    for (std::size_t v = 0; v < n; ++v) {
        indegree[v] = boost::in_degree(v, g);
        if (indegree[v] == 0) ready.push(v);
    }
    std::vector<std::size_t> order;
    order.reserve(n);
    while (!ready.empty()) {
        const std::size_t u = ready.top();
        ready.pop();
        order.push_back(u);
        for (auto [it, end] = boost::out_edges(u, g); it != end; ++it) {
            const std::size_t w = boost::target(*it, g);
            if (--indegree[w] == 0) ready.push(w);
        }
    }
    if (order.size() != n) {
        const auto cycle = find_cycle();
        throw PipelineError(Diagnostic{
            {},
            "stages",
            "cycle: " + detail::join(cycle.value_or(std::vector<std::string>{}), " -> "),
            "",
            "a stage cannot depend on its own outputs; remove one of these input references"});
    }
    return order;
}

namespace {

// Everything reachable from `start` along `next` (inclusive), as a membership mask.
std::vector<bool> reachable(const std::vector<std::size_t>& start,
                            const std::vector<std::vector<std::size_t>>& next) {
    std::vector<bool> seen(next.size(), false);
    std::vector<std::size_t> stack;
    for (std::size_t s : start) {
        if (s >= next.size())
            throw std::out_of_range(
                fmt::format("stage index {} out of range ({} stages)", s, next.size()));
        stack.push_back(s);
    }
    while (!stack.empty()) {
        const std::size_t v = stack.back();
        stack.pop_back();
        if (seen[v]) continue;
        seen[v] = true;
        for (std::size_t w : next[v])
            if (!seen[w]) stack.push_back(w);
    }
    return seen;
}

}  // namespace

std::vector<std::size_t> StageGraph::with_upstream(const std::vector<std::size_t>& targets) const {
    const auto keep = reachable(targets, impl_->up);
    std::vector<std::size_t> out;
    for (std::size_t v : topological_order())
        if (keep[v]) out.push_back(v);
    return out;
}

std::vector<std::size_t> StageGraph::with_downstream(const std::vector<std::size_t>& roots) const {
    const auto keep = reachable(roots, impl_->down);
    std::vector<std::size_t> out;
    for (std::size_t v : topological_order())
        if (keep[v]) out.push_back(v);
    return out;
}

std::string StageGraph::to_dot(const PipelineSpec& spec) const {
    const PathNodes paths(spec);
    std::string out = fmt::format("digraph {} {{\n  rankdir=LR;\n  node [shape=box];\n",
                                  dot_quote(spec.name.empty() ? "pipeline" : spec.name));
    for (const auto& st : spec.stages)
        out +=
            fmt::format("  {} [label={}];\n", dot_quote(st.id), dot_quote(st.id + "\n" + st.uses));
    for (std::size_t i = 0; i < paths.nodes.size(); ++i)
        out += fmt::format("  {} [shape=note, label={}];\n",
                           dot_quote("file:" + paths.nodes[i].second),
                           dot_quote(paths.nodes[i].second));
    for (const auto& st : spec.stages)
        for (const auto& b : st.inputs) {
            if (b.kind == InputBinding::Kind::Path) {
                const auto& node = paths.nodes[paths.index.at(b.path.string())];
                out += fmt::format("  {} -> {} [label={}];\n", dot_quote("file:" + node.second),
                                   dot_quote(st.id), dot_quote(b.port));
            } else if (index(b.stage)) {
                out += fmt::format("  {} -> {} [label={}];\n", dot_quote(b.stage), dot_quote(st.id),
                                   dot_quote(b.output + " -> " + b.port));
            }
        }
    return out + "}\n";
}

std::string StageGraph::to_mermaid(const PipelineSpec& spec) const {
    // Mermaid node ids must be plain identifiers (and some words are reserved), so stages are
    // s<index> and files f<index>; the real names are in the labels.
    const PathNodes paths(spec);
    std::string out = "flowchart LR\n";
    for (std::size_t i = 0; i < spec.stages.size(); ++i)
        out += fmt::format("    s{}[{}]\n", i,
                           mermaid_quote(spec.stages[i].id + "<br/>" + spec.stages[i].uses));
    for (std::size_t i = 0; i < paths.nodes.size(); ++i)
        out += fmt::format("    f{}[({})]\n", i, mermaid_quote(paths.nodes[i].second));
    for (std::size_t i = 0; i < spec.stages.size(); ++i)
        for (const auto& b : spec.stages[i].inputs) {
            if (b.kind == InputBinding::Kind::Path)
                out += fmt::format("    f{} -->|{}| s{}\n", paths.index.at(b.path.string()),
                                   mermaid_quote(b.port), i);
            else if (auto j = index(b.stage))
                out += fmt::format("    s{} -->|{}| s{}\n", *j,
                                   mermaid_quote(b.output + " -> " + b.port), i);
        }
    return out;
}

}  // namespace graft
