#include "concat_stage.hpp"

#include "digest.hpp"
#include "line_reader.hpp"
#include "utf8.hpp"

#include <graft/jsonl.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace graft::text {
namespace {

using sdk::json;
namespace fs = std::filesystem;

struct ConcatOptions {
    std::string text_field;
    std::vector<std::string> keep_fields;  // empty: keep every field
    bool dedupe = true;
    std::vector<std::string> ports;     // output inputs, in name order
    std::vector<std::string> excluded;  // excluded inputs, in name order

    static ConcatOptions from(const sdk::RunContext& ctx) {
        ConcatOptions o;
        o.text_field = ctx.param<std::string>("text_field");
        o.keep_fields = ctx.param<std::vector<std::string>>("keep_fields");
        o.dedupe = ctx.param<bool>("dedupe");
        if (o.text_field.empty())
            throw sdk::StageError("text_field is empty; name the field that holds the text");
        auto names = ctx.input_names();
        std::sort(names.begin(), names.end());
        if (names.empty())
            throw sdk::StageError("text.concat has no inputs; connect one or more JSONL files, "
                                  "e.g. inputs = { reviews = \"clean.data\", books = "
                                  "\"books.data\" }");
        const auto exclude = ctx.param<std::vector<std::string>>("exclude_ports");
        for (const auto& port : exclude)
            if (!std::binary_search(names.begin(), names.end(), port))
                throw sdk::StageError(fmt::format(
                    "exclude_ports names '{}', but no input of that name is connected (inputs: "
                    "{}); list input port names of this stage",
                    port, fmt::join(names, ", ")));
        for (const auto& name : names)
            (std::find(exclude.begin(), exclude.end(), name) != exclude.end() ? o.excluded
                                                                               : o.ports)
                .push_back(name);
        if (o.ports.empty())
            throw sdk::StageError(fmt::format(
                "every input ({}) is in exclude_ports, so nothing would be written; connect the "
                "inputs to concatenate as well",
                fmt::join(names, ", ")));
        return o;
    }
};

struct ConcatCounts {
    std::map<std::string, std::uint64_t> rows_in;  // per port
    std::uint64_t rows_out = 0, dropped_duplicate = 0, dropped_excluded = 0;
    std::uint64_t excluded_texts = 0;  // distinct texts in the excluded inputs
    std::uint64_t invalid_utf8_replaced = 0;
};

class Concatenator {
public:
    Concatenator(sdk::RunContext& ctx, const ConcatOptions& o) : ctx_(ctx), o_(o) {}

    // Collects the texts of an excluded input.
    void exclude(const std::string& port) {
        for_each_row(port, [&](json&, const std::string& text) {
            if (excluded_.insert(digest(collapse_whitespace(text))).second) ++n.excluded_texts;
        });
    }

    // Appends an input's rows to `out`, minus excluded and (with dedupe) repeated texts.
    void append(const std::string& port, sdk::JsonlWriter& out) {
        for_each_row(port, [&](json& row, const std::string& text) {
            const Digest128 key = digest(collapse_whitespace(text));
            if (excluded_.count(key) > 0) {
                ++n.dropped_excluded;
                return;
            }
            if (o_.dedupe && !seen_.insert(key).second) {
                ++n.dropped_duplicate;
                return;
            }
            out.write(o_.keep_fields.empty() ? row : project(row));
            ++n.rows_out;
        });
    }

    // keep_fields that no output row had, for a warning.
    std::vector<std::string> unused_keep_fields() const {
        std::vector<std::string> out;
        for (const auto& f : o_.keep_fields)
            if (f != o_.text_field && found_fields_.count(f) == 0) out.push_back(f);
        return out;
    }

    ConcatCounts n;

private:
    // Calls fn(row, text) for each row of the port's file (invalid UTF-8 replaced first).
    template <class Fn>
    void for_each_row(const std::string& port, Fn fn) {
        const fs::path file = ctx_.input(port.c_str());
        if (fs::is_directory(file))
            throw sdk::StageError(fmt::format("input '{}' = '{}' is a directory; text.concat "
                                              "takes JSONL files",
                                              port, file.string()));
        LineReader reader(file);
        std::string line;
        std::uint64_t& rows = n.rows_in[port];
        while (reader.next(line)) {
            if (is_blank_line(line)) continue;
            if (rows % 1000 == 0) {
                ctx_.check_cancelled();
                ctx_.progress(rows, 0, "rows");
            }
            ++rows;
            n.invalid_utf8_replaced += repair_utf8(line);
            json row = parse_jsonl_object(line, file, reader.line_number());
            const std::string text = text_of(row, port, file, reader.line_number());
            fn(row, text);
        }
    }

    std::string text_of(const json& row, const std::string& port, const fs::path& file,
                        std::size_t line_no) const {
        const auto& fields = row.get_ref<const json::object_t&>();
        const auto it = fields.find(o_.text_field);
        if (it == fields.end())
            throw sdk::StageError(fmt::format("input '{}': {}:{}: row has no '{}' field (it has: "
                                              "{}); set text_field to the field that holds the "
                                              "text",
                                              port, file.string(), line_no, o_.text_field,
                                              field_list(row)));
        if (it->second.is_null()) return std::string();
        if (!it->second.is_string())
            throw sdk::StageError(fmt::format("input '{}': {}:{}: field '{}' is a {}, expected a "
                                              "string",
                                              port, file.string(), line_no, o_.text_field,
                                              it->second.type_name()));
        return it->second.get<std::string>();
    }

    // The text field plus the keep_fields the row has.
    json project(json& row) {
        json out = json::object();
        out[o_.text_field] = std::move(row[o_.text_field]);
        for (const auto& f : o_.keep_fields) {
            if (f == o_.text_field) continue;
            auto it = row.find(f);
            if (it == row.end()) continue;
            found_fields_.insert(f);
            out[f] = std::move(*it);
        }
        return out;
    }

    sdk::RunContext& ctx_;
    const ConcatOptions& o_;
    DigestSet excluded_, seen_;
    std::set<std::string> found_fields_;
};

}  // namespace

sdk::Descriptor ConcatStage::describe() {
    return sdk::Descriptor(
               "text.concat", "1",
               "Concatenates JSONL datasets (inputs of any port names, in port-name order) into "
               "one. Can keep only some fields (keep_fields = [\"text\"] turns labeled reviews "
               "into unlabeled text), drop duplicate texts, and drop every row whose text also "
               "occurs in the inputs named in exclude_ports, which are not written themselves: "
               "the guard against test data leaking into pretraining text. Texts are compared "
               "after the whitespace normalization of text.clean (runs of Unicode whitespace "
               "become one space, both ends trimmed); the rows themselves are not changed. "
               "Metrics: "
               "rows_in_<port>, rows_out, dropped_duplicate, dropped_excluded.")
        .variadic_inputs()
        .output("data", "jsonl", "the concatenated rows")
        .param_string("text_field", "text", "field holding the text (every row needs it)")
        .param("keep_fields", "list<string>", json::array(),
               "fields to keep in each output row; the text field is always kept. [] = keep "
               "every field")
        .param_bool("dedupe", true,
                    "drop rows whose text equals that of an earlier row, across all inputs "
                    "(the first occurrence is kept)")
        .param("exclude_ports", "list<string>", json::array(),
               "inputs that are not written; instead any row of the other inputs whose text "
               "equals a text in them is dropped (e.g. [\"test\"]: no test review appears in "
               "the output)");
}

void ConcatStage::run(sdk::RunContext& ctx) {
    const ConcatOptions opts = ConcatOptions::from(ctx);
    Concatenator cat(ctx, opts);
    for (const auto& port : opts.excluded) cat.exclude(port);
    sdk::JsonlWriter writer(ctx.output("data"));
    for (const auto& port : opts.ports) cat.append(port, writer);
    writer.close();

    const ConcatCounts& n = cat.n;
    for (const auto& [port, rows] : n.rows_in)
        ctx.metric("rows_in_" + port, static_cast<double>(rows));
    ctx.metric("rows_out", static_cast<double>(n.rows_out));
    ctx.metric("dropped_duplicate", static_cast<double>(n.dropped_duplicate));
    ctx.metric("dropped_excluded", static_cast<double>(n.dropped_excluded));
    ctx.metric("excluded_texts", static_cast<double>(n.excluded_texts));
    ctx.metric("invalid_utf8_replaced", static_cast<double>(n.invalid_utf8_replaced));
    std::vector<std::string> parts;
    for (const auto& port : opts.ports)
        parts.push_back(fmt::format("{} {}", port, n.rows_in.at(port)));
    const std::string excluded = opts.excluded.empty()
                                     ? std::string("none")
                                     : fmt::format("{}", fmt::join(opts.excluded, ", "));
    ctx.info("concatenated {} -> {} rows; dropped {} duplicate and {} found in the excluded "
             "inputs ({}: {} distinct texts)",
             fmt::join(parts, " + "), n.rows_out, n.dropped_duplicate, n.dropped_excluded,
             excluded, n.excluded_texts);
    for (const auto& f : cat.unused_keep_fields())
        ctx.warn("keep_fields names '{}', but no output row has that field", f);
    if (n.invalid_utf8_replaced > 0)
        ctx.warn("{} invalid UTF-8 sequences were replaced with U+FFFD", n.invalid_utf8_replaced);
}

}  // namespace graft::text
