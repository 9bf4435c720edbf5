// Checking a parsed pipeline against the stage catalogue. Every problem is collected so that one
// run of `graft check` shows them all; the validator then throws one PipelineError.
#include "core/spec/dag.hpp"
#include "core/spec/spec_detail.hpp"
#include "core/spec/pipeline_spec.hpp"

#include <fmt/format.h>

#include <set>
#include <system_error>

namespace graft {
namespace {

using detail::join;

std::vector<std::string> port_names(const std::vector<PortSpec>& ports) {
    std::vector<std::string> names;
    for (const auto& p : ports) names.push_back(p.name);
    return names;
}

std::string one_of(const std::vector<std::string>& names) { return "one of: " + join(names); }

const char* kind_word(const std::string& kind) { return kind == "dir" ? "directory" : "file"; }

class Validator {
public:
    Validator(PipelineSpec& spec, const StageCatalog& catalog) : spec_(spec), catalog_(catalog) {}

    std::vector<Diagnostic> run() {
        check_pipeline();
        for (auto& st : spec_.stages) resolve_descriptor(st);
        for (auto& st : spec_.stages) {
            if (st.descriptor) check_params(st);
            check_inputs(st);
        }
        check_augment_leaks();
        check_cycles();
        detail::sort_by_location(diags_);
        return std::move(diags_);
    }

private:
    void error(SourceLoc loc, std::string key, std::string message, std::string expected = {},
               std::string hint = {}) {
        diags_.push_back({std::move(loc), std::move(key), std::move(message), std::move(expected),
                          std::move(hint)});
    }

    SourceLoc file_loc() const { return SourceLoc{spec_.file.string(), 0, 0}; }

    void check_pipeline() {
        if (spec_.name.empty())
            error(file_loc(), "pipeline.name", "missing pipeline name", "a string",
                  "add name = \"<pipeline name>\" under [pipeline]");
        if (spec_.stages.empty())
            error(file_loc(), "stages", "the pipeline has no stages", "at least one stage",
                  "add a [stages.<id>] table with uses = \"<stage type>\"");
        std::set<std::string> seen;
        for (const auto& st : spec_.stages)
            if (!seen.insert(st.id).second)
                error(st.loc, "stages." + st.id, fmt::format("duplicate stage id '{}'", st.id),
                      "unique stage ids", "rename one of the stages");
    }

    void resolve_descriptor(StageSpec& st) {
        st.descriptor = nullptr;
        st.resolved_params = json::object();
        const std::string key = "stages." + st.id + ".uses";
        if (st.uses.empty()) {
            error(st.loc, key, fmt::format("stage '{}' has no 'uses'", st.id),
                  "the stage type to run", "add uses = \"<stage type>\"");
            return;
        }
        st.descriptor = catalog_.find(st.uses);
        if (st.descriptor) return;
        const std::vector<std::string> types = catalog_.types();
        std::string hint = did_you_mean_hint(st.uses, types);
        if (hint.empty())
            hint = "check the spelling; `graft stages` lists the installed types (plugins are found in --plugin-path, $GRAFT_PLUGIN_PATH, the build tree and the install prefix)";
        // A long list of every type would drown the message; name them only when few.
        error(st.uses_loc, key, fmt::format("unknown stage type '{}'", st.uses),
              types.size() <= 12 ? one_of(types) : std::string(), hint);
    }

    void check_params(StageSpec& st) {
        const StageDescriptor& d = *st.descriptor;
        std::vector<std::string> names;
        for (const auto& p : d.params) names.push_back(p.name);
        for (const auto& [name, value] : st.params.items()) {
            const std::string key = fmt::format("stages.{}.params.{}", st.id, name);
            auto loc_it = st.param_locs.find(name);
            const SourceLoc loc = loc_it != st.param_locs.end() ? loc_it->second : st.loc;
            const ParamSpec* p = d.find_param(name);
            if (!p) {
                if (names.empty())
                    error(loc, key, fmt::format("stage type '{}' takes no parameters", d.type), "",
                          fmt::format("remove it from [stages.{}.params]", st.id));
                else
                    error(loc, key, fmt::format("unknown parameter of stage type '{}'", d.type),
                          one_of(names), did_you_mean_hint(name, names));
                continue;
            }
            json resolved;
            if (auto problem = detail::check_param_value(*p, value, &resolved)) {
                error(loc, key, problem->message, problem->expected, problem->hint);
                continue;
            }
            st.resolved_params[name] = std::move(resolved);
        }
        for (const auto& p : d.params) {
            if (st.params.contains(p.name)) continue;
            if (p.required || !p.default_value) {
                error(st.loc, fmt::format("stages.{}.params.{}", st.id, p.name),
                      fmt::format("missing required parameter '{}' of stage type '{}'{}", p.name,
                                  d.type, p.doc.empty() ? "" : " (" + p.doc + ")"),
                      p.type,
                      fmt::format("add {} = <value> under [stages.{}.params]", p.name, st.id));
                continue;
            }
            st.resolved_params[p.name] = *p.default_value;
        }
    }

    void check_inputs(const StageSpec& st) {
        const StageDescriptor* d = st.descriptor;
        for (const auto& b : st.inputs) {
            const std::string key = fmt::format("stages.{}.inputs.{}", st.id, b.port);
            const PortSpec* in = d ? d->find_input(b.port) : nullptr;
            if (d && !in && !d->variadic_inputs) {
                const auto names = port_names(d->inputs);
                if (names.empty())
                    error(b.loc, key, fmt::format("stage type '{}' takes no inputs", d->type), "",
                          "remove this input");
                else
                    error(
                        b.loc, key,
                        fmt::format("unknown input port '{}' of stage type '{}'", b.port, d->type),
                        one_of(names), did_you_mean_hint(b.port, names));
            }
            if (b.kind == InputBinding::Kind::StageOutput)
                check_stage_reference(st, b, key, in);
            else
                check_path(b, key, in);
        }
        if (!d) return;
        for (const auto& port : d->inputs) {
            if (port.optional || st.find_input(port.name)) continue;
            error(st.loc, fmt::format("stages.{}.inputs.{}", st.id, port.name),
                  fmt::format("missing input '{}' of stage type '{}'{}", port.name, d->type,
                              port.doc.empty() ? "" : " (" + port.doc + ")"),
                  fmt::format("a {} of type {}", kind_word(port.kind), port.type),
                  fmt::format("bind it: inputs = {{ {} = \"<path>\" or \"<stage>.<port>\" }}",
                              port.name));
        }
    }

    void check_stage_reference(const StageSpec& st, const InputBinding& b, const std::string& key,
                               const PortSpec* in) {
        const StageSpec* producer = spec_.find(b.stage);
        if (!producer) {
            const auto ids = spec_.stage_ids();
            const auto best = did_you_mean(b.stage, ids);
            error(b.loc, key,
                  fmt::format("input '{}' = '{}': no stage '{}'", b.port, b.raw, b.stage), "",
                  best ? fmt::format("did you mean '{}.{}'?", *best, b.output) : "");
            return;
        }
        const StageDescriptor* pd = producer->descriptor;
        if (!pd) return;  // its unknown type is reported on its own `uses`
        const PortSpec* out = pd->find_output(b.output);
        if (!out) {
            const auto names = port_names(pd->outputs);
            const auto best = did_you_mean(b.output, names);
            error(b.loc, key,
                  fmt::format("stage '{}' (type '{}') has no output '{}'", producer->id, pd->type,
                              b.output),
                  names.empty() ? std::string("a stage with outputs") : one_of(names),
                  best ? fmt::format("did you mean '{}.{}'?", producer->id, *best) : "");
            return;
        }
        if (!in) return;  // unknown or variadic port: nothing to compare with
        if (!port_types_compatible(out->type, in->type)) {
            error(b.loc, key,
                  fmt::format("type mismatch: '{}' is of type {} but input '{}' of stage '{}' "
                              "takes {}",
                              b.raw, out->type, b.port, st.id, in->type),
                  fmt::format("an output of type {}", in->type),
                  "connect an output of the expected type");
        } else if (out->kind != in->kind) {
            error(b.loc, key,
                  fmt::format("'{}' is a {} but input '{}' of stage '{}' takes a {}", b.raw,
                              kind_word(out->kind), b.port, st.id, kind_word(in->kind)),
                  "", "connect an output of the expected kind");
        }
    }

    void check_path(const InputBinding& b, const std::string& key, const PortSpec* in) {
        std::error_code ec;
        const auto status = std::filesystem::status(b.path, ec);
        if (!std::filesystem::exists(status)) {
            // "claen.data" is more likely a misspelt stage reference than a missing file.
            const std::size_t dot = b.raw.find('.');
            if (dot != std::string::npos && dot > 0) {
                const std::string head = b.raw.substr(0, dot);
                const std::string tail = b.raw.substr(dot + 1);
                if (auto best = did_you_mean(head, spec_.stage_ids());
                    best && detail::is_simple_name(tail)) {
                    error(b.loc, key,
                          fmt::format("input '{}' = '{}': no stage '{}' and no file '{}'", b.port,
                                      b.raw, head, b.raw),
                          "", fmt::format("did you mean '{}.{}'?", *best, tail));
                    return;
                }
            }
            error(b.loc, key,
                  fmt::format("input '{}' = '{}': no such file or directory ({})", b.port, b.raw,
                              b.path.string()),
                  "",
                  fmt::format("paths are relative to the pipeline file's directory {}",
                              spec_.dir.string()));
            return;
        }
        if (!in) return;
        const bool is_dir = std::filesystem::is_directory(status);
        if (in->kind == "dir" && !is_dir)
            error(b.loc, key, fmt::format("input '{}' = '{}' is a file", b.port, b.raw),
                  "a directory", "");
        else if (in->kind == "file" && is_dir)
            error(b.loc, key, fmt::format("input '{}' = '{}' is a directory", b.port, b.raw),
                  "a file", "");
    }

    // An input marked refuses_augmented (a split's data) must not read rows that derive from an
    // output marked augmented, through any number of stages: the split would put synthetic copies
    // of training rows into validation and test sets, and copies of one row on both sides.
    void check_augment_leaks() {
        for (const auto& st : spec_.stages) {
            if (!st.descriptor) continue;
            for (const auto& b : st.inputs) {
                if (b.kind != InputBinding::Kind::StageOutput) continue;
                const PortSpec* in = st.descriptor->find_input(b.port);
                if (!in || !in->refuses_augmented) continue;
                std::vector<const InputBinding*> chain;
                std::set<std::string> visited;
                if (const StageSpec* aug = find_augmented(b, chain, visited))
                    report_augment_leak(st, b, *aug, chain);
            }
        }
    }

    // The stage with an augmented output that `b` reads, directly or through the inputs of the
    // stages in between; `chain` gets the bindings from `b` up to that output.
    const StageSpec* find_augmented(const InputBinding& b, std::vector<const InputBinding*>& chain,
                                    std::set<std::string>& visited) const {
        const StageSpec* producer = spec_.find(b.stage);
        if (!producer || !producer->descriptor) return nullptr;
        chain.push_back(&b);
        const PortSpec* out = producer->descriptor->find_output(b.output);
        if (out && out->augmented) return producer;
        if (visited.insert(producer->id).second)
            for (const auto& up : producer->inputs) {
                if (up.kind != InputBinding::Kind::StageOutput) continue;
                if (const StageSpec* aug = find_augmented(up, chain, visited)) return aug;
            }
        chain.pop_back();
        return nullptr;
    }

    void report_augment_leak(const StageSpec& st, const InputBinding& b, const StageSpec& aug,
                             const std::vector<const InputBinding*>& chain) {
        std::vector<std::string> refs;
        for (const InputBinding* c : chain) refs.push_back("'" + c->raw + "'");
        const std::string via =
            chain.size() > 1 ? fmt::format(" (via {})", join(refs, " <- ")) : std::string();
        std::string aug_input = "its input";
        for (const auto& in : aug.inputs)
            if (!in.raw.empty()) {
                aug_input = fmt::format("'{}'", in.raw);
                break;
            }
        const std::string train_port =
            st.descriptor->find_output("train") ? "train" : "<output>";
        error(b.loc, fmt::format("stages.{}.inputs.{}", st.id, b.port),
              fmt::format("input '{}' of stage '{}' (type '{}') reads rows augmented by stage "
                          "'{}' ({}:{}){}; augmented copies of a row would land in the "
                          "validation and test sets and leak the training rows into them",
                          b.port, st.id, st.descriptor->type, aug.id, aug.loc.file,
                          aug.loc.line, via),
              "an input upstream of every augment stage",
              fmt::format("split first and augment only the training rows: bind '{}' to "
                          "{} (what '{}' reads) and give '{}' inputs = {{ data = \"{}.{}\" }}",
                          b.port, aug_input, aug.id, aug.id, st.id, train_port));
    }

    void check_cycles() {
        const StageGraph graph(spec_);
        const auto cycle = graph.find_cycle();
        if (!cycle) return;
        // Point at the binding that closes the cycle: the one in cycle[1] reading cycle[0].
        const StageSpec* consumer = spec_.find((*cycle)[1]);
        SourceLoc loc = consumer ? consumer->loc : file_loc();
        std::string key = "stages." + (*cycle)[1] + ".inputs";
        if (consumer)
            for (const auto& b : consumer->inputs)
                if (b.kind == InputBinding::Kind::StageOutput && b.stage == (*cycle)[0]) {
                    loc = b.loc;
                    key += "." + b.port;
                    break;
                }
        error(loc, key, "cycle: " + join(*cycle, " -> "), "",
              "a stage cannot depend on its own outputs; remove one of these input references");
    }

    PipelineSpec& spec_;
    const StageCatalog& catalog_;
    std::vector<Diagnostic> diags_;
};

}  // namespace

void validate_pipeline(PipelineSpec& spec, const StageCatalog& catalog) {
    auto diags = Validator(spec, catalog).run();
    if (!diags.empty()) throw PipelineError(std::move(diags));
}

}  // namespace graft
