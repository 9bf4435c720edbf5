// graft-predict: classify texts with a checkpoint or an exported bundle (see `--help`).
// A bundle is a checkpoint directory plus manifest.json {"format": "graft.bundle/1", "files":
// {"<name>": "<xxh3-128 hex>"}, ...}; every listed file is re-hashed before loading so that an
// edited bundle is refused instead of silently giving other predictions.
#include "core/cache/hash.hpp"
#include "ml/model/checkpoint.hpp"
#include "ml/tokenizer/tokenizer.hpp"

#include <torch/torch.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using nlohmann::json;

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

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error(fmt::format("{}: cannot be read", p.string()));
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Checks manifest.json when there is one; returns its max_len (0 = none).
std::int64_t verify_bundle(const fs::path& dir) {
    const fs::path manifest_path = dir / "manifest.json";
    if (!fs::exists(manifest_path)) return 0;
    json m;
    try {
        m = json::parse(read_file(manifest_path));
    } catch (const json::exception& e) {
        throw std::runtime_error(fmt::format("{}: not valid JSON ({})", manifest_path.string(), e.what()));
    }
    if (!m.is_object() || m.value("format", "") != "graft.bundle/1" || !m.contains("files") ||
        !m["files"].is_object())
        throw std::runtime_error(fmt::format(
            "{}: expected {{\"format\": \"graft.bundle/1\", \"files\": {{...}}}}; re-export the bundle",
            manifest_path.string()));
    for (const auto& [name, digest] : m["files"].items()) {
        const fs::path file = dir / name;
        if (!fs::exists(file))
            throw std::runtime_error(fmt::format("{}: missing (listed in manifest.json); re-export the bundle",
                                                 file.string()));
        if (!digest.is_string() || graft::hash_bytes(read_file(file)).hex() != digest.get<std::string>())
            throw std::runtime_error(fmt::format(
                "{}: digest does not match manifest.json: the bundle was modified after export; re-export it",
                file.string()));
    }
    const auto it = m.find("max_len");
    return it != m.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

struct Scored {
    std::vector<double> logits;
    std::vector<double> probabilities;
};

class Predictor {
public:
    Predictor(const fs::path& dir, std::int64_t max_len) {
        const std::int64_t bundle_max = verify_bundle(dir);
        if (!fs::exists(dir / graft::ml::kCheckpointConfigFile))
            throw std::runtime_error(fmt::format("{}: missing; expected a checkpoint or bundle directory",
                                                 (dir / graft::ml::kCheckpointConfigFile).string()));
        auto loaded = graft::ml::load_checkpoint(dir);
        model_ = loaded.model;
        model_->eval();
        const auto& arch = model_->architecture();
        if (arch.head != graft::ml::HeadKind::sequence_classification)
            throw std::runtime_error(fmt::format(
                "{}: head is '{}'; graft predict serves sequence classifiers only",
                (dir / graft::ml::kCheckpointConfigFile).string(), graft::ml::to_string(arch.head)));
        const auto tok = loaded.tokenizer_path();
        if (!tok || !fs::exists(*tok))
            throw std::runtime_error(fmt::format(
                "{}: missing; the checkpoint must carry its tokenizer (save it with one, or re-export)",
                (dir / graft::ml::kCheckpointTokenizerFile).string()));
        tokenizer_ = graft::ml::Tokenizer::load(*tok);
        labels_ = arch.labels;
        max_len_ = arch.encoder.max_len();
        if (bundle_max > 0) max_len_ = std::min(max_len_, bundle_max);
        if (max_len > 0) max_len_ = std::min(max_len_, max_len);
        pad_id_ = tokenizer_->pad_id().value_or(0);
    }

    const std::vector<std::string>& labels() const { return labels_; }

    std::vector<Scored> score(const std::vector<std::string>& texts) const {
        torch::NoGradGuard no_grad;
        std::vector<std::vector<std::int64_t>> ids;
        std::size_t longest = 0;
        for (const auto& t : texts) {
            const auto enc = tokenizer_->encode_for_model(t, static_cast<std::size_t>(max_len_), true);
            ids.emplace_back(enc.ids.begin(), enc.ids.end());
            longest = std::max(longest, ids.back().size());
        }
        const auto b = static_cast<std::int64_t>(texts.size());
        const auto t = static_cast<std::int64_t>(longest);
        auto input = torch::full({b, t}, pad_id_, torch::kInt64);
        auto mask = torch::zeros({b, t}, torch::kInt64);
        for (std::size_t i = 0; i < ids.size(); ++i) {
            const auto n = static_cast<std::int64_t>(ids[i].size());
            const auto row = static_cast<std::int64_t>(i);
            input[row].narrow(0, 0, n).copy_(torch::tensor(ids[i], torch::kInt64));
            mask[row].narrow(0, 0, n).fill_(1);
        }
        const auto logits = model_->forward(input, mask).to(torch::kFloat64).contiguous();
        const auto probs = torch::softmax(logits, -1).contiguous();
        const auto k = static_cast<std::size_t>(logits.size(1));
        std::vector<Scored> out(texts.size());
        for (std::size_t i = 0; i < texts.size(); ++i) {
            const double* l = logits.data_ptr<double>() + i * k;
            const double* p = probs.data_ptr<double>() + i * k;
            out[i] = {{l, l + k}, {p, p + k}};
        }
        return out;
    }

    std::string label_of(const Scored& s) const {
        const auto& p = s.probabilities;
        return labels_[static_cast<std::size_t>(std::max_element(p.begin(), p.end()) - p.begin())];
    }

private:
    graft::ml::TaskModelPtr model_;
    std::optional<graft::ml::Tokenizer> tokenizer_;  // set in the constructor (no default state)
    std::vector<std::string> labels_;
    std::int64_t max_len_ = 0;
    std::int64_t pad_id_ = 0;
};

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
        torch::set_num_threads(o.threads);
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
