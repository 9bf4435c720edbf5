// Diagnostics for bad pipeline input: every error names the file, line, column and key, says what
// was expected and, where one fits, suggests a fix (did-you-mean).
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace graft {

struct SourceLoc {
    std::string file;  // pipeline file path as given, or "<command line>" for --set overrides
    int line = 0;      // 1-based; 0 when unknown
    int column = 0;    // 1-based; 0 when unknown
};

struct Diagnostic {
    SourceLoc loc;
    std::string key;       // dotted key, e.g. "stages.split.params.ratios"
    std::string message;   // what is wrong
    std::string expected;  // what was expected (may be empty)
    std::string hint;      // how to fix it, e.g. "did you mean 'ratios'?" (may be empty)
};

// "file:line:col: error: key: message (expected ...)\n  hint: ..."
std::string format_diagnostic(const Diagnostic& d);
std::string format_diagnostics(const std::vector<Diagnostic>& ds);

// Thrown for usage and pipeline errors (exit code 2).
class PipelineError : public std::runtime_error {
public:
    explicit PipelineError(std::vector<Diagnostic> diags);
    explicit PipelineError(Diagnostic diag);
    const std::vector<Diagnostic>& diagnostics() const { return diags_; }

private:
    std::vector<Diagnostic> diags_;
};

// Closest candidate by Damerau-Levenshtein distance, if close enough to be a plausible typo
// (distance <= max(1, len/3)); ties go to the earlier candidate.
std::optional<std::string> did_you_mean(std::string_view word,
                                        const std::vector<std::string>& candidates);
// "did you mean 'x'?" or "" when nothing is close.
std::string did_you_mean_hint(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace graft
