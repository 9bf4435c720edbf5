// Formatting of pipeline diagnostics and the did-you-mean suggestions attached to them.
#include "core/spec/diagnostic.hpp"

#include "core/spec/spec_detail.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <tuple>
#include <utility>

namespace graft {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// Damerau-Levenshtein distance in its "optimal string alignment" form: insertions, deletions,
// substitutions and transpositions of adjacent characters each cost 1. The transposition case
// matters because swapped letters ("claen") are the most common typo in hand-written keys.
std::size_t osa_distance(const std::string& a, const std::string& b) {
    const std::size_t n = a.size();
    const std::size_t m = b.size();
    // Three rolling rows: the transposition step looks two rows back.
    std::vector<std::size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
    for (std::size_t j = 0; j <= m; ++j) prev[j] = j;
    for (std::size_t i = 1; i <= n; ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= m; ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                cur[j] = std::min(cur[j], prev2[j - 2] + 1);
        }
        std::swap(prev2, prev);
        std::swap(prev, cur);
    }
    return prev[m];
}

std::string format_location(const SourceLoc& loc) {
    if (loc.file.empty()) return {};
    // --set overrides have no line; the column carries the override's (1-based) position
    // instead. Other command-line problems (a bad target) leave it at 0.
    if (loc.file == "<command line>" && loc.line == 0 && loc.column > 0)
        return fmt::format("<command line>: --set #{}", loc.column);
    if (loc.line <= 0) return loc.file;
    if (loc.column <= 0) return fmt::format("{}:{}", loc.file, loc.line);
    return fmt::format("{}:{}:{}", loc.file, loc.line, loc.column);
}

}  // namespace

std::string format_diagnostic(const Diagnostic& d) {
    std::string out = format_location(d.loc);
    out += out.empty() ? "error: " : ": error: ";
    if (!d.key.empty()) out += d.key + ": ";
    out += d.message;
    if (!d.expected.empty()) out += fmt::format(" (expected {})", d.expected);
    if (!d.hint.empty()) out += "\n  hint: " + d.hint;
    return out;
}

std::string format_diagnostics(const std::vector<Diagnostic>& ds) {
    std::string out;
    for (const auto& d : ds) {
        if (!out.empty()) out += '\n';
        out += format_diagnostic(d);
    }
    return out;
}

PipelineError::PipelineError(std::vector<Diagnostic> diags)
    : std::runtime_error(format_diagnostics(diags)), diags_(std::move(diags)) {}

PipelineError::PipelineError(Diagnostic diag)
    : PipelineError(std::vector<Diagnostic>{std::move(diag)}) {}

void detail::sort_by_location(std::vector<Diagnostic>& diags) {
    auto rank = [](const Diagnostic& d) {
        const bool cli = d.loc.file == "<command line>" && d.loc.line == 0;
        const int group = cli ? 2 : (d.loc.line <= 0 ? 0 : 1);
        return std::make_tuple(group, cli ? d.loc.column : d.loc.line, cli ? 0 : d.loc.column);
    };
    std::stable_sort(diags.begin(), diags.end(),
                     [&](const Diagnostic& a, const Diagnostic& b) { return rank(a) < rank(b); });
}

std::optional<std::string> did_you_mean(std::string_view word,
                                        const std::vector<std::string>& candidates) {
    const std::string w = lower(word);
    const std::size_t threshold = std::max<std::size_t>(1, word.size() / 3);
    std::optional<std::string> best;
    std::size_t best_distance = threshold + 1;
    for (const auto& c : candidates) {
        const std::size_t dist = osa_distance(w, lower(c));
        if (dist < best_distance) {  // strict: ties keep the earlier candidate
            best = c;
            best_distance = dist;
        }
    }
    return best;
}

std::string did_you_mean_hint(std::string_view word, const std::vector<std::string>& candidates) {
    auto best = did_you_mean(word, candidates);
    return best ? fmt::format("did you mean '{}'?", *best) : std::string();
}

}  // namespace graft
