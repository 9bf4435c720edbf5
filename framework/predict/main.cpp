// graft-predict: classify texts with a checkpoint or an exported bundle (see `--help`). The
// bundle checks and the inference path live in predictor.hpp, shared with the export stage.
#include "predictor.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using nlohmann::json;
using graft::predict::Predictor;
using graft::predict::Scored;

namespace {

constexpr const char* kUsageText = R"(usage: graft predict BUNDLE_OR_CHECKPOINT [--text TEXT] [options]

Classifies --text (prints the label and class probabilities), or else reads JSONL rows with a
"text" field on stdin and writes one JSONL row per input with "label", "probabilities" and "logits".
options:
  --text TEXT        one text to classify
  --threads N        intra-op CPU threads (default 1)
  --max-len N        truncate inputs to N tokens (default: the model's max_len, or the bundle's)
  --batch-size N     rows per forward pass for stdin input (default 32)
)";

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Options {
    fs::path dir;
    std::optional<std::string> text;
    int threads = 1;
    std::int64_t max_len = 0;
    std::int64_t batch_size = 32;
};

std::int64_t positive(const std::string& flag, const std::string& value) {
    std::size_t used = 0;
    long long n = 0;
    try {
        n = std::stoll(value, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != value.size() || n < 1)
        throw UsageError(fmt::format("{} expects a positive integer, got '{}'", flag, value));
    return n;
}

Options parse(const std::vector<std::string>& args) {
    Options o;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&]() -> const std::string& {
            if (i + 1 >= args.size()) throw UsageError(fmt::format("{} needs a value", a));
            return args[++i];
        };
        if (a == "--text") o.text = value();
        else if (a == "--threads") o.threads = static_cast<int>(positive(a, value()));
        else if (a == "--max-len") o.max_len = positive(a, value());
        else if (a == "--batch-size") o.batch_size = positive(a, value());
        else if (!a.empty() && a[0] == '-') throw UsageError(fmt::format("unknown option '{}'", a));
        else if (o.dir.empty()) o.dir = a;
        else throw UsageError(fmt::format("unexpected argument '{}' (one bundle or checkpoint)", a));
    }
    if (o.dir.empty()) throw UsageError("missing BUNDLE_OR_CHECKPOINT");
    return o;
}

json row_json(const Predictor& p, const Scored& s) {
    json probs = json::object();
    for (std::size_t c = 0; c < p.labels().size(); ++c) probs[p.labels()[c]] = s.probabilities[c];
    return {{"label", p.label_of(s)}, {"probabilities", probs}, {"logits", s.logits}};
}

int run_stdin(const Predictor& p, std::int64_t batch_size) {
    std::vector<std::string> texts;
    auto flush = [&] {
        if (texts.empty()) return;
        for (const auto& s : p.score(texts)) std::cout << row_json(p, s).dump() << '\n';
        texts.clear();
    };
    std::string line;
    std::size_t line_no = 0;
    while (std::getline(std::cin, line)) {
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        json row;
        try {
            row = json::parse(line);
        } catch (const json::exception&) {
            throw std::runtime_error(fmt::format("stdin line {}: not valid JSON; expected {{\"text\": \"...\"}}", line_no));
        }
        if (!row.is_object() || !row.contains("text") || !row["text"].is_string())
            throw std::runtime_error(fmt::format("stdin line {}: expected an object with a string \"text\" field", line_no));
        texts.push_back(row["text"].get<std::string>());
        if (static_cast<std::int64_t>(texts.size()) >= batch_size) flush();
    }
    flush();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
        std::cout << kUsageText;
        return 0;
    }
    try {
        const Options o = parse(args);
        graft::predict::set_threads(o.threads);
        const Predictor p(o.dir, o.max_len);
        if (!o.text) return run_stdin(p, o.batch_size);
        const Scored s = p.score({*o.text}).front();
        std::cout << p.label_of(s) << '\n';
        for (std::size_t c = 0; c < p.labels().size(); ++c)
            std::cout << fmt::format("  {}\t{:.6f}\n", p.labels()[c], s.probabilities[c]);
        return 0;
    } catch (const UsageError& e) {
        fmt::print(stderr, "graft predict: {}\n{}", e.what(), kUsageText);
        return 2;
    } catch (const std::exception& e) {
        fmt::print(stderr, "graft predict: error: {}\n", e.what());
        return 1;
    }
}
