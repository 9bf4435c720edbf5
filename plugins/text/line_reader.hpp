// Line-by-line reading of JSONL input for the text stages. Unlike sdk::for_each_jsonl it hands
// out the raw line first, so that a stage can repair or drop invalid UTF-8 before the JSON parser
// (which rejects it) sees the line.
#pragma once

#include <graft/stage.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace graft::text {

class LineReader {
public:
    explicit LineReader(const std::filesystem::path& file)
        : file_(file), buffer_(std::size_t{1} << 20) {
        // A large stream buffer: the stages are I/O-bound on big datasets.
        in_.rdbuf()->pubsetbuf(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
        in_.open(file, std::ios::binary);
        if (!in_)
            throw sdk::StageError(fmt::format("cannot open '{}': {}", file.string(),
                                              std::strerror(errno)));
    }

    // The next line without its "\n" or "\r\n" (and without a UTF-8 byte order mark on line 1);
    // false at the end of the file.
    bool next(std::string& line) {
        if (!std::getline(in_, line)) {
            if (in_.bad()) throw sdk::StageError(fmt::format("error reading '{}'", file_.string()));
            return false;
        }
        ++line_no_;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line_no_ == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
        return true;
    }

    std::size_t line_number() const { return line_no_; }

private:
    std::filesystem::path file_;
    std::vector<char> buffer_;
    std::ifstream in_;
    std::size_t line_no_ = 0;
};

inline bool is_blank_line(std::string_view line) {
    return line.find_first_not_of(" \t") == std::string_view::npos;
}

// nlohmann's message without its "[json.exception.parse_error.101] " prefix.
inline std::string json_error_reason(const sdk::json::exception& e) {
    std::string what = e.what();
    const auto close = what.find("] ");
    if (what.rfind("[json.exception", 0) == 0 && close != std::string::npos)
        what.erase(0, close + 2);
    return what;
}

// Parses one JSONL line into an object; the error names file and line.
inline sdk::json parse_jsonl_object(const std::string& line, const std::filesystem::path& file,
                                    std::size_t line_no) {
    sdk::json row;
    try {
        row = sdk::json::parse(line);
    } catch (const sdk::json::parse_error& e) {
        std::string reason = json_error_reason(e);
        // Every line is parsed on its own, so nlohmann's "line 1" is misleading.
        const auto at = reason.find("at line 1, ");
        if (at != std::string::npos) reason.erase(at + 3, 8);
        throw sdk::StageError(fmt::format("{}:{}: not valid JSON ({}); expected one JSON object "
                                          "per line",
                                          file.string(), line_no, reason));
    }
    if (!row.is_object())
        throw sdk::StageError(fmt::format("{}:{}: expected a JSON object, found {}",
                                          file.string(), line_no, row.type_name()));
    return row;
}

// "a, b, c" from an object's keys, for error messages that list what a row does have.
inline std::string field_list(const sdk::json& row) {
    std::string out;
    for (const auto& [key, value] : row.items()) {
        if (!out.empty()) out += ", ";
        out += key;
    }
    return out.empty() ? "none" : out;
}

}  // namespace graft::text
