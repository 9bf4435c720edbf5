// Plain-text import for text.import's format "text": a .txt file, or every *.txt file under a
// directory, cut into rows by paragraph, line or whole file.
#pragma once

#include <graft/jsonl.hpp>
#include <graft/stage.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace graft::text {

enum class Segment { paragraph, line, file };

// "paragraph", "line" or "file"; throws sdk::StageError for anything else.
Segment parse_segment(std::string_view name);

// Every regular file under `dir` (recursively) whose extension is .txt (any case), sorted by
// its path relative to `dir` ('/'-separated, byte order) so the row order never depends on the
// file system. Throws sdk::StageError when there is none.
std::vector<std::filesystem::path> list_text_files(const std::filesystem::path& dir);

struct TextImportCounts {
    std::uint64_t rows = 0;
    std::uint64_t files = 0;
    std::uint64_t dropped_too_short = 0;      // segments with fewer than min_chars code points
    std::uint64_t invalid_utf8_replaced = 0;  // bad sequences replaced with U+FFFD
};

// Writes {"text": segment, "source": relative path} rows for `input` (a file or a directory).
// Segments are trimmed of surrounding Unicode whitespace; a paragraph keeps its inner line
// breaks as "\n". Blank segments are always skipped.
class TextImporter {
public:
    TextImporter(sdk::RunContext& ctx, Segment segment, std::int64_t min_chars,
                 sdk::JsonlWriter& out)
        : ctx_(ctx), segment_(segment), min_chars_(min_chars), out_(out) {}

    void run(const std::filesystem::path& input);

    TextImportCounts n;

private:
    void import_file(const std::filesystem::path& file, const std::string& source);
    void emit(std::string_view segment, const std::string& source);

    sdk::RunContext& ctx_;
    Segment segment_;
    std::int64_t min_chars_;
    sdk::JsonlWriter& out_;
};

}  // namespace graft::text
