// A streaming CSV/TSV reader following RFC 4180: fields separated by a delimiter, records by CRLF
// or LF, fields optionally enclosed in double quotes, in which delimiters and line breaks are
// literal and `""` stands for one quote. Lenient where real files differ from the RFC: a quote
// inside an unquoted field is kept as a character, a lone CR also ends a record, blank lines are
// skipped and a UTF-8 byte order mark is ignored. Header-only so the tests can call it directly.
#pragma once

#include <cstddef>
#include <istream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <vector>

namespace graft::text {

// A malformed record; line() is the 1-based line the problem was found on.
class CsvError : public std::runtime_error {
public:
    CsvError(std::size_t line, const std::string& what) : std::runtime_error(what), line_(line) {}
    std::size_t line() const { return line_; }

private:
    std::size_t line_;
};

class CsvReader {
public:
    CsvReader(std::istream& in, char delimiter) : buf_(*in.rdbuf()), delim_(delimiter) {}

    // Reads the next record into `fields`. Returns false at the end of the input.
    bool next(std::vector<std::string>& fields) {
        fields.clear();
        if (!started_) skip_bom();
        if (!skip_blank_lines()) return false;
        record_line_ = line_;
        std::string field;
        for (;;) {
            if (peek() == '"') {
                read_quoted(field);
            } else {
                read_unquoted(field);
            }
            fields.push_back(std::move(field));
            field.clear();
            const int c = get();
            if (c == delim_) continue;
            if (c == '\r' && peek() == '\n') get();
            if (c != Eof) ++line_;
            return true;
        }
    }

    // Line on which the record last returned by next() starts (1-based).
    std::size_t record_line() const { return record_line_; }

private:
    static constexpr int Eof = std::char_traits<char>::eof();

    int peek() { return buf_.sgetc(); }
    int get() { return buf_.sbumpc(); }

    void skip_bom() {
        started_ = true;
        if (peek() != 0xEF) return;
        get();
        // A lone 0xEF is not a BOM; since it is not valid UTF-8 either, dropping it is harmless.
        if (peek() == 0xBB) get();
        if (peek() == 0xBF) get();
    }

    // Skips empty lines; false at end of input.
    bool skip_blank_lines() {
        for (;;) {
            const int c = peek();
            if (c == Eof) return false;
            if (c == '\n') {
                get();
                ++line_;
            } else if (c == '\r') {
                get();
                if (peek() == '\n') get();
                ++line_;
            } else {
                return true;
            }
        }
    }

    void read_unquoted(std::string& field) {
        for (;;) {
            const int c = peek();
            if (c == Eof || c == delim_ || c == '\n' || c == '\r') return;
            field += static_cast<char>(get());
        }
    }

    void read_quoted(std::string& field) {
        const std::size_t start_line = line_;
        get();  // opening quote
        for (;;) {
            const int c = get();
            if (c == Eof)
                throw CsvError(start_line,
                               "a quoted field starting on this line is never closed (a quote "
                               "inside a quoted field must be doubled: \"\")");
            if (c == '"') {
                if (peek() != '"') break;
                get();
            } else if (c == '\n') {
                ++line_;
            }
            field += static_cast<char>(c);
        }
        const int after = peek();
        if (after != Eof && after != delim_ && after != '\n' && after != '\r')
            throw CsvError(line_, std::string("unexpected '") + static_cast<char>(after) +
                                      "' after the closing quote of a quoted field (a quote "
                                      "inside a quoted field must be doubled: \"\")");
    }

    std::streambuf& buf_;
    char delim_;
    bool started_ = false;
    std::size_t line_ = 1;
    std::size_t record_line_ = 0;
};

}  // namespace graft::text
