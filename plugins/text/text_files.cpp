#include "text_files.hpp"

#include "line_reader.hpp"
#include "utf8.hpp"

#include <algorithm>
#include <cctype>
#include <system_error>
#include <utility>

namespace graft::text {

namespace fs = std::filesystem;

Segment parse_segment(std::string_view name) {
    if (name == "paragraph") return Segment::paragraph;
    if (name == "line") return Segment::line;
    if (name == "file") return Segment::file;
    throw sdk::StageError(fmt::format("segment = \"{}\" is not supported; use \"paragraph\" "
                                      "(blank-line separated), \"line\" or \"file\"",
                                      name));
}

namespace {

bool has_txt_extension(const fs::path& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext == ".txt";
}

}  // namespace

std::vector<fs::path> list_text_files(const fs::path& dir) {
    std::vector<std::pair<std::string, fs::path>> found;  // (relative '/' path, path)
    std::error_code ec;
    fs::recursive_directory_iterator it(dir, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        const fs::directory_entry& entry = *it;
        std::error_code type_ec;
        if (!entry.is_regular_file(type_ec) || !has_txt_extension(entry.path())) continue;
        found.emplace_back(entry.path().lexically_relative(dir).generic_string(), entry.path());
    }
    if (ec)
        throw sdk::StageError(fmt::format("cannot list '{}': {}", dir.string(), ec.message()));
    if (found.empty())
        throw sdk::StageError(fmt::format(
            "no .txt files under '{}'; format \"text\" imports the *.txt files of a directory "
            "(for a JSONL, JSON or CSV file, connect that file to the `data` input instead)",
            dir.string()));
    std::sort(found.begin(), found.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<fs::path> files;
    files.reserve(found.size());
    for (auto& f : found) files.push_back(std::move(f.second));
    return files;
}

void TextImporter::run(const fs::path& input) {
    if (!fs::is_directory(input)) {
        import_file(input, input.filename().generic_string());
        return;
    }
    for (const auto& file : list_text_files(input)) {
        ctx_.check_cancelled();
        import_file(file, file.lexically_relative(input).generic_string());
    }
}

// Reads line by line (LineReader drops "\r" and a leading byte order mark), repairing invalid
// UTF-8 first so that the segment can always be written as JSON.
void TextImporter::import_file(const fs::path& file, const std::string& source) {
    ++n.files;
    LineReader reader(file);
    std::string line, pending;  // pending: the paragraph or file being collected
    bool has_pending = false;
    const auto flush = [&] {
        if (has_pending) emit(pending, source);
        pending.clear();
        has_pending = false;
    };
    while (reader.next(line)) {
        n.invalid_utf8_replaced += repair_utf8(line);
        if (segment_ == Segment::line) {
            emit(line, source);
            continue;
        }
        if (segment_ == Segment::paragraph && is_all_space(line)) {
            flush();
            continue;
        }
        if (has_pending) pending += '\n';
        pending += line;
        has_pending = true;
    }
    flush();
}

void TextImporter::emit(std::string_view segment, const std::string& source) {
    const std::string_view text = trim_space(segment);
    if (text.empty()) return;
    if (static_cast<std::int64_t>(count_code_points(text)) < min_chars_) {
        ++n.dropped_too_short;
        return;
    }
    if (n.rows % 1000 == 0) {
        ctx_.check_cancelled();
        ctx_.progress(n.rows, 0, "rows");
    }
    out_.write(sdk::json{{"text", std::string(text)}, {"source", source}});
    ++n.rows;
}

}  // namespace graft::text
