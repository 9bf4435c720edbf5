#include "core/spec/dag.hpp"

#include <catch2/catch.hpp>

#include "fake_catalog.hpp"

using namespace graft;

namespace {

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

PipelineSpec parse(std::string_view text) {
    return parse_pipeline_text(text, "/work/p/pipeline.toml");
}

// Diamond written "out of order": d reads b and c, both read a; e is independent.
const char* const kDiamond = R"([pipeline]
name = "diamond"
[stages.d]
uses = "join"
inputs = { left = "b.out", right = "c.out" }
[stages.c]
uses = "step"
inputs = { in = "a.out" }
[stages.e]
uses = "step"
inputs = { in = "data/e.jsonl" }
[stages.b]
uses = "step"
inputs = { in = "a.out", also = "a.other" }
[stages.a]
uses = "source"
inputs = { in = "data/raw.jsonl" }
)";

std::vector<std::string> names(const StageGraph& g, const std::vector<std::size_t>& idx) {
    std::vector<std::string> out;
    for (std::size_t i : idx) out.push_back(g.ids()[i]);
    return out;
}

}  // namespace

TEST_CASE("the graph indexes stages in file order with sorted neighbours", "[spec][dag]") {
    const PipelineSpec spec = parse(kDiamond);
    const StageGraph g(spec);
    REQUIRE(g.size() == 5);
    CHECK(g.ids() == std::vector<std::string>{"d", "c", "e", "b", "a"});
    CHECK(g.index("b") == 3u);
    CHECK_FALSE(g.index("zz"));
    CHECK(names(g, g.upstream(0)) == std::vector<std::string>{"c", "b"});
    CHECK(names(g, g.downstream(4)) == std::vector<std::string>{"c", "b"});
    CHECK(g.upstream(3).size() == 1);  // two ports from a, one edge
    CHECK(g.downstream(2).empty());
}

TEST_CASE("topological order puts producers first, ties by file order", "[spec][dag]") {
    const PipelineSpec spec = parse(kDiamond);
    const StageGraph g(spec);
    CHECK(names(g, g.topological_order()) == std::vector<std::string>{"e", "a", "c", "b", "d"});
    // Deterministic: the same answer every time and from a fresh graph.
    CHECK(g.topological_order() == StageGraph(spec).topological_order());
}

TEST_CASE("with_upstream and with_downstream select closures in topological order", "[spec][dag]") {
    const PipelineSpec spec = parse(kDiamond);
    const StageGraph g(spec);
    CHECK(names(g, g.with_upstream({*g.index("d")})) ==
          std::vector<std::string>{"a", "c", "b", "d"});
    CHECK(names(g, g.with_upstream({*g.index("b")})) == std::vector<std::string>{"a", "b"});
    CHECK(names(g, g.with_upstream({*g.index("e"), *g.index("c")})) ==
          std::vector<std::string>{"e", "a", "c"});
    CHECK(names(g, g.with_downstream({*g.index("c")})) == std::vector<std::string>{"c", "d"});
    CHECK(names(g, g.with_downstream({*g.index("a")})) ==
          std::vector<std::string>{"a", "c", "b", "d"});
    CHECK(g.with_downstream({}).empty());
    CHECK_THROWS_AS(g.with_upstream({99}), std::out_of_range);
}

TEST_CASE("find_cycle returns the cycle path and topological_order refuses it", "[spec][dag]") {
    CHECK_FALSE(StageGraph(parse(kDiamond)).find_cycle());
    const PipelineSpec spec = parse(R"([pipeline]
name = "loop"
[stages.x]
uses = "s"
inputs = { in = "data/raw.jsonl" }
[stages.a]
uses = "s"
inputs = { in = "c.out", seed = "x.out" }
[stages.b]
uses = "s"
inputs = { in = "a.out" }
[stages.c]
uses = "s"
inputs = { in = "b.out" }
)");
    const StageGraph g(spec);
    const auto cycle = g.find_cycle();
    REQUIRE(cycle);
    CHECK(*cycle == std::vector<std::string>{"a", "b", "c", "a"});
    const std::string msg = test::error_of([&] { g.topological_order(); });
    CHECK(contains(msg, "cycle: a -> b -> c -> a"));

    const StageGraph self(
        parse("[pipeline]\nname = \"s\"\n[stages.a]\nuses = \"s\"\n"
              "inputs = { in = \"a.out\" }\n"));
    CHECK(self.find_cycle() == std::vector<std::string>{"a", "a"});
}

TEST_CASE("dangling references add no edges", "[spec][dag]") {
    PipelineSpec spec = parse(kDiamond);
    spec.stages[0].inputs.push_back(
        InputBinding{"x", "ghost.out", InputBinding::Kind::StageOutput, "ghost", "out", {}, {}});
    const StageGraph g(spec);
    CHECK(g.upstream(0).size() == 2);
    CHECK(g.topological_order().size() == 5);
}

TEST_CASE("to_dot draws stages, files and labelled edges", "[spec][dag]") {
    const PipelineSpec spec = parse(kDiamond);
    const std::string dot = StageGraph(spec).to_dot(spec);
    CHECK(dot.rfind("digraph \"diamond\" {\n  rankdir=LR;\n", 0) == 0);
    CHECK(contains(dot, "\"a\" [label=\"a\\nsource\"];"));
    CHECK(contains(dot, "\"a\" -> \"b\" [label=\"out -> in\"];"));
    CHECK(contains(dot, "\"a\" -> \"b\" [label=\"other -> also\"];"));
    CHECK(contains(dot, "\"c\" -> \"d\" [label=\"out -> right\"];"));
    CHECK(contains(dot, "\"file:data/raw.jsonl\" [shape=note, label=\"data/raw.jsonl\"];"));
    CHECK(contains(dot, "\"file:data/raw.jsonl\" -> \"a\" [label=\"in\"];"));
    CHECK(dot.back() == '\n');
    CHECK(contains(dot, "}\n"));
}

TEST_CASE("to_dot and to_mermaid escape quotes", "[spec][dag]") {
    const PipelineSpec spec = parse(R"([pipeline]
name = "say \"hi\""
[stages.a]
uses = "s"
inputs = { in = "data/we \"quote\".txt" }
)");
    const StageGraph g(spec);
    const std::string dot = g.to_dot(spec);
    CHECK(contains(dot, "digraph \"say \\\"hi\\\"\" {"));
    CHECK(contains(dot, "label=\"data/we \\\"quote\\\".txt\""));
    const std::string mm = g.to_mermaid(spec);
    CHECK(contains(mm, "f0[(\"data/we #quot;quote#quot;.txt\")]"));
    CHECK_FALSE(contains(mm, "\"quote\""));
}

TEST_CASE("to_mermaid is a flowchart with the same nodes and edges", "[spec][dag]") {
    const PipelineSpec spec = parse(kDiamond);
    const std::string mm = StageGraph(spec).to_mermaid(spec);
    CHECK(mm.rfind("flowchart LR\n", 0) == 0);
    CHECK(contains(mm, "s4[\"a<br/>source\"]"));
    CHECK(contains(mm, "s4 -->|\"out -> in\"| s3"));     // a -> b
    CHECK(contains(mm, "s1 -->|\"out -> right\"| s0"));  // c -> d
    CHECK(contains(mm, "f1[(\"data/raw.jsonl\")]"));
    CHECK(contains(mm, "f1 -->|\"in\"| s4"));
}
