// JSONL datasets, graft's common text-data format: one JSON object per line, e.g.
// {"text": "...", "label": "pos"} (extra fields are kept). Header-only helpers for stage plugins.
#pragma once

#include <graft/stage.hpp>

#include <cstdint>
#include <fstream>
#include <string_view>
#include <functional>
#include <string>
#include <vector>

namespace graft::sdk {

// Byte offset of the first invalid UTF-8 sequence in `s`, or npos when it is all valid.
inline std::size_t find_invalid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        if (len == 0 || i + len > s.size()) return i;
        std::uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
        for (std::size_t k = 1; k < len; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc >> 6) != 0x2) return i;
            cp = (cp << 6) | (cc & 0x3F);
        }
        // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are invalid too.
        static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < kMin[len] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return i;
        i += len;
    }
    return std::string_view::npos;
}

// Calls `fn(row, line_number)` for each non-blank line of a JSONL file. Throws StageError naming
// the file and line for a line that is not a JSON object.
inline void for_each_jsonl(const std::filesystem::path& file,
                           const std::function<void(json&&, std::size_t)>& fn) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw StageError(fmt::format("cannot open '{}'", file.string()));
    std::string line;
    std::size_t line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        json row = json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (row.is_discarded()) {
            if (auto bad = find_invalid_utf8(line); bad != std::string_view::npos)
                throw StageError(fmt::format(
                    "{}:{}: invalid UTF-8 at byte {} of the line; clean the data first (stage "
                    "text.clean with invalid_utf8 = \"replace\" or \"drop\")",
                    file.string(), line_no, bad + 1));
            throw StageError(fmt::format("{}:{}: not valid JSON (expected one JSON object per line)",
                                         file.string(), line_no));
        }
        if (!row.is_object())
            throw StageError(fmt::format("{}:{}: expected a JSON object, found {}", file.string(),
                                         line_no, row.type_name()));
        fn(std::move(row), line_no);
    }
}

inline std::vector<json> read_jsonl(const std::filesystem::path& file) {
    std::vector<json> rows;
    for_each_jsonl(file, [&](json&& row, std::size_t) { rows.push_back(std::move(row)); });
    return rows;
}

// Writes rows one per line. Invalid UTF-8 in strings is replaced (U+FFFD) rather than thrown on.
class JsonlWriter {
public:
    explicit JsonlWriter(const std::filesystem::path& file) : out_(file, std::ios::binary) {
        if (!out_) throw StageError(fmt::format("cannot write '{}'", file.string()));
    }
    void write(const json& row) {
        out_ << row.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
        ++rows_;
    }
    std::size_t rows() const { return rows_; }
    void close() {
        out_.close();
        if (out_.fail()) throw StageError("write failed (disk full?)");
    }

private:
    std::ofstream out_;
    std::size_t rows_ = 0;
};

inline void write_jsonl(const std::filesystem::path& file, const std::vector<json>& rows) {
    JsonlWriter w(file);
    for (const auto& r : rows) w.write(r);
    w.close();
}

}  // namespace graft::sdk
