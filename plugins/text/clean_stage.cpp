#include "clean_stage.hpp"

#include "digest.hpp"
#include "html.hpp"
#include "line_reader.hpp"
#include "normalize.hpp"
#include "utf8.hpp"

#include <graft/jsonl.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace graft::text {
namespace {

using sdk::json;

struct CleanOptions {
    std::string text_field;
    bool strip_html = true;
    UnicodeForm unicode = UnicodeForm::nfkc;
    bool drop_invalid_utf8 = false;
    bool normalize_whitespace = true;
    bool lowercase = false;
    bool dedupe = true;
    std::int64_t min_chars = 1;
    std::int64_t max_chars = 0;
    bool drop_empty = true;
    std::string label_field;
    bool require_label = false;

    static CleanOptions from(const sdk::RunContext& ctx) {
        CleanOptions o;
        o.text_field = ctx.param<std::string>("text_field");
        o.strip_html = ctx.param<bool>("strip_html");
        try {
            o.unicode = parse_unicode_form(ctx.param<std::string>("unicode"));
        } catch (const std::invalid_argument& e) {
            throw sdk::StageError(e.what());
        }
        const auto invalid = ctx.param<std::string>("invalid_utf8");
        if (invalid != "replace" && invalid != "drop")
            throw sdk::StageError(fmt::format("invalid_utf8 = \"{}\" is not supported; use "
                                              "\"replace\" or \"drop\"",
                                              invalid));
        o.drop_invalid_utf8 = invalid == "drop";
        o.normalize_whitespace = ctx.param<bool>("normalize_whitespace");
        o.lowercase = ctx.param<bool>("lowercase");
        o.dedupe = ctx.param<bool>("dedupe");
        o.min_chars = ctx.param<std::int64_t>("min_chars");
        o.max_chars = ctx.param<std::int64_t>("max_chars");
        o.drop_empty = ctx.param<bool>("drop_empty");
        o.label_field = ctx.param<std::string>("label_field");
        o.require_label = ctx.param<bool>("require_label");
        if (o.text_field.empty())
            throw sdk::StageError("text_field is empty; name the field that holds the text");
        if (o.require_label && o.label_field.empty())
            throw sdk::StageError("require_label = true needs a label_field (it is empty)");
        if (o.min_chars < 0 || o.max_chars < 0)
            throw sdk::StageError("min_chars and max_chars must be >= 0");
        if (o.max_chars > 0 && o.min_chars > o.max_chars)
            throw sdk::StageError(fmt::format("min_chars ({}) is larger than max_chars ({}): "
                                              "every row would be dropped",
                                              o.min_chars, o.max_chars));
        return o;
    }
};

struct CleanCounts {
    std::uint64_t rows_in = 0, rows_out = 0;
    std::uint64_t dropped_empty = 0, dropped_duplicate = 0, dropped_too_short = 0;
    std::uint64_t dropped_too_long = 0, dropped_no_label = 0, dropped_invalid_utf8 = 0;
    std::uint64_t html_stripped = 0, invalid_utf8_replaced = 0, invalid_sequences = 0;
};

// The cleaning steps in order. HTML first (entities can produce NBSP or compatibility
// characters), then normalization, case, and finally whitespace, which the earlier steps may
// have introduced.
std::string clean_text(std::string text, const CleanOptions& o, bool& html_changed) {
    html_changed = false;
    if (o.strip_html && may_contain_html(text)) {
        std::string stripped = strip_html(text);
        if (stripped != text) {
            html_changed = true;
            text = std::move(stripped);
        }
    }
    if (o.unicode != UnicodeForm::none) text = normalize_unicode(std::move(text), o.unicode);
    if (o.lowercase) text = to_lower(text);
    if (o.normalize_whitespace) text = collapse_whitespace(text);
    return text;
}

class Cleaner {
public:
    Cleaner(const CleanOptions& o, const std::filesystem::path& file) : o_(o), file_(file) {}

    // Cleans one raw input line. Returns false when the row is dropped (and counts why).
    bool process(std::string& line, std::size_t line_no, json& row) {
        ++n.rows_in;
        if (!fix_utf8(line)) return false;
        row = parse_jsonl_object(line, file_, line_no);

        if (o_.require_label && !has_label(row)) {
            ++n.dropped_no_label;
            return false;
        }
        std::string& text = text_of(row, line_no);
        bool html_changed = false;
        text = clean_text(std::move(text), o_, html_changed);
        if (html_changed) ++n.html_stripped;
        return keep(text);
    }

    CleanCounts n;

private:
    // Repairs or rejects invalid UTF-8 before the JSON parser (which refuses it) sees the line.
    bool fix_utf8(std::string& line) {
        if (is_ascii(line) || is_valid_utf8(line)) return true;
        if (o_.drop_invalid_utf8) {
            ++n.dropped_invalid_utf8;
            return false;
        }
        n.invalid_sequences += repair_utf8(line);
        ++n.invalid_utf8_replaced;
        return true;
    }

    bool has_label(const json& row) const {
        const auto it = row.find(o_.label_field);
        return it != row.end() && !it->is_null();
    }

    // The row's text string (a null text becomes ""); other types are a data error.
    std::string& text_of(json& row, std::size_t line_no) const {
        // Through the underlying map: nlohmann's own iterators trip -Wnull-dereference at -O2.
        auto& fields = row.get_ref<json::object_t&>();
        const auto it = fields.find(o_.text_field);
        if (it == fields.end())
            throw sdk::StageError(fmt::format("{}:{}: row has no '{}' field (it has: {}); set "
                                              "text_field to the field that holds the text",
                                              file_.string(), line_no, o_.text_field,
                                              field_list(row)));
        json& value = it->second;
        if (value.is_null()) value = std::string();
        if (!value.is_string())
            throw sdk::StageError(fmt::format("{}:{}: field '{}' is a {}, expected a string",
                                              file_.string(), line_no, o_.text_field,
                                              value.type_name()));
        return value.get_ref<std::string&>();
    }

    // The filters, in the order their counters are charged.
    bool keep(const std::string& text) {
        if (o_.drop_empty && is_all_space(text)) {
            ++n.dropped_empty;
            return false;
        }
        const auto chars = static_cast<std::int64_t>(count_code_points(text));
        if (chars < o_.min_chars) {
            ++n.dropped_too_short;
            return false;
        }
        if (o_.max_chars > 0 && chars > o_.max_chars) {
            ++n.dropped_too_long;
            return false;
        }
        if (o_.dedupe && !seen_.insert(digest(text)).second) {
            ++n.dropped_duplicate;
            return false;
        }
        return true;
    }

    const CleanOptions& o_;
    std::filesystem::path file_;
    DigestSet seen_;  // digests of the cleaned texts already written
};

void report(sdk::RunContext& ctx, const CleanCounts& n) {
    ctx.metric("rows_in", static_cast<double>(n.rows_in));
    ctx.metric("rows_out", static_cast<double>(n.rows_out));
    ctx.metric("dropped_empty", static_cast<double>(n.dropped_empty));
    ctx.metric("dropped_duplicate", static_cast<double>(n.dropped_duplicate));
    ctx.metric("dropped_too_short", static_cast<double>(n.dropped_too_short));
    ctx.metric("dropped_too_long", static_cast<double>(n.dropped_too_long));
    ctx.metric("dropped_no_label", static_cast<double>(n.dropped_no_label));
    ctx.metric("dropped_invalid_utf8", static_cast<double>(n.dropped_invalid_utf8));
    ctx.metric("html_stripped", static_cast<double>(n.html_stripped));
    ctx.metric("invalid_utf8_replaced", static_cast<double>(n.invalid_utf8_replaced));
    ctx.info("cleaned {} rows -> {} kept; dropped {} duplicate, {} empty, {} too short, {} too "
             "long, {} unlabeled, {} invalid UTF-8; HTML stripped in {} rows; invalid UTF-8 "
             "replaced in {} rows ({} sequences)",
             n.rows_in, n.rows_out, n.dropped_duplicate, n.dropped_empty, n.dropped_too_short,
             n.dropped_too_long, n.dropped_no_label, n.dropped_invalid_utf8, n.html_stripped,
             n.invalid_utf8_replaced, n.invalid_sequences);
}

}  // namespace

sdk::Descriptor CleanStage::describe() {
    return sdk::Descriptor(
               "text.clean", "1",
               "Cleans the text of a JSONL dataset: strips HTML and decodes entities, normalizes "
               "Unicode and whitespace, optionally lower-cases, then drops empty, too short, too "
               "long, unlabeled and duplicate rows (duplicates are judged on the cleaned text; "
               "the first occurrence is kept). Row order and all other fields are preserved.")
        .input("data", "jsonl", "rows to clean")
        .output("data", "jsonl", "cleaned rows")
        .param_string("text_field", "text", "field holding the text to clean")
        .param_bool("strip_html", true,
                    "remove tags and comments (block tags such as <br> and <p> become a line "
                    "break), drop <script>/<style> bodies, decode entities (&amp; &#39; &#x27;)")
        .param_string("unicode", "NFKC",
                      "Unicode normalization: NFKC also folds compatibility characters (ligatures "
                      "such as \"ﬁ\", full-width forms) to their plain equivalents",
                      {"NFC", "NFKC", "none"})
        .param_string("invalid_utf8", "replace",
                      "rows with invalid UTF-8 bytes: \"replace\" each bad sequence with U+FFFD, "
                      "or \"drop\" the row",
                      {"replace", "drop"})
        .param_bool("normalize_whitespace", true,
                    "collapse runs of Unicode whitespace (incl. NBSP and line breaks) to one "
                    "space and trim both ends")
        .param_bool("lowercase", false, "lower-case the text (Unicode simple case mapping)")
        .param_bool("dedupe", true,
                    "drop rows whose cleaned text equals that of an earlier row")
        .param_int("min_chars", 1,
                   "drop rows whose cleaned text has fewer code points (with drop_empty = false, "
                   "set it to 0 to keep empty rows)",
                   0)
        .param_int("max_chars", 0, "drop rows whose cleaned text has more code points; 0 = no "
                   "limit", 0)
        .param_bool("drop_empty", true, "drop rows whose cleaned text is empty or blank")
        .param_string("label_field", "label", "field holding the label (for require_label)")
        .param_bool("require_label", false, "drop rows without a (non-null) label field");
}

void CleanStage::run(sdk::RunContext& ctx) {
    const CleanOptions opts = CleanOptions::from(ctx);
    const std::filesystem::path in = ctx.input("data");
    LineReader reader(in);
    sdk::JsonlWriter writer(ctx.output("data"));
    Cleaner cleaner(opts, in);

    std::string line;
    json row;
    while (reader.next(line)) {
        if (is_blank_line(line)) continue;
        if (cleaner.n.rows_in % 1000 == 0) {
            ctx.check_cancelled();
            ctx.progress(cleaner.n.rows_in, 0, "rows");
        }
        if (!cleaner.process(line, reader.line_number(), row)) continue;
        writer.write(row);
        ++cleaner.n.rows_out;
    }
    writer.close();
    ctx.progress(cleaner.n.rows_in, cleaner.n.rows_in, "rows");
    report(ctx, cleaner.n);
}

}  // namespace graft::text
