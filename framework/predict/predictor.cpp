#include "predictor.hpp"

#include "core/cache/hash.hpp"
#include "ml/model/checkpoint.hpp"
#include "ml/tokenizer/tokenizer.hpp"

#include <torch/torch.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;
using nlohmann::json;

namespace graft::predict {

namespace {

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error(fmt::format("{}: cannot be read", p.string()));
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

std::string bundle_file_digest(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error(fmt::format("{}: cannot be read", file.string()));
    Hasher h;  // streaming XXH3-128 equals hash_bytes() over the whole file
    std::vector<char> buf(1 << 20);
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        h.update(buf.data(), static_cast<std::size_t>(in.gcount()));
    }
    if (in.bad()) throw std::runtime_error(fmt::format("{}: read error", file.string()));
    return h.finish().hex();
}

std::int64_t verify_bundle(const fs::path& dir) {
    const fs::path manifest_path = dir / kBundleManifestFile;
    if (!fs::exists(manifest_path)) return 0;
    json m;
    try {
        m = json::parse(read_file(manifest_path));
    } catch (const json::exception& e) {
        throw std::runtime_error(fmt::format("{}: not valid JSON ({})", manifest_path.string(), e.what()));
    }
    if (!m.is_object() || m.value("format", "") != kBundleFormat || !m.contains("files") ||
        !m["files"].is_object())
        throw std::runtime_error(fmt::format(
            "{}: expected {{\"format\": \"{}\", \"files\": {{...}}}}; re-export the bundle",
            manifest_path.string(), kBundleFormat));
    for (const auto& [name, digest] : m["files"].items()) {
        const fs::path file = dir / name;
        if (!fs::exists(file))
            throw std::runtime_error(fmt::format("{}: missing (listed in {}); re-export the bundle",
                                                 file.string(), kBundleManifestFile));
        if (!digest.is_string() || bundle_file_digest(file) != digest.get<std::string>())
            throw std::runtime_error(fmt::format(
                "{}: digest does not match {}: the bundle was modified after export; re-export it",
                file.string(), kBundleManifestFile));
    }
    // The files the Predictor reads must be covered, or an edit to an unlisted one would pass.
    for (const char* needed : {ml::kCheckpointWeightsFile, ml::kCheckpointConfigFile, ml::kCheckpointTokenizerFile})
        if (!m["files"].contains(needed))
            throw std::runtime_error(fmt::format("{}: \"files\" does not list {}; re-export the bundle",
                                                 manifest_path.string(), needed));
    const auto it = m.find("max_len");
    return it != m.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

void set_threads(int threads) { torch::set_num_threads(threads); }

struct Predictor::State {
    ml::TaskModelPtr model;
    std::optional<ml::Tokenizer> tokenizer;  // set in the constructor (no default state)
    std::vector<std::string> labels;
    std::int64_t max_len = 0;
    std::int64_t pad_id = 0;
    ml::Truncation truncation = ml::Truncation::head;  // the model's (what it was fine-tuned with)
};

Predictor::Predictor(const fs::path& dir, std::int64_t max_len) : s_(std::make_unique<State>()) {
    const std::int64_t bundle_max = verify_bundle(dir);
    if (!fs::exists(dir / ml::kCheckpointConfigFile))
        throw std::runtime_error(fmt::format("{}: missing; expected a checkpoint or bundle directory",
                                             (dir / ml::kCheckpointConfigFile).string()));
    auto loaded = ml::load_checkpoint(dir);
    s_->model = loaded.model;
    s_->model->eval();
    const auto& arch = s_->model->architecture();
    if (arch.head != ml::HeadKind::sequence_classification)
        throw std::runtime_error(fmt::format("{}: head is '{}'; graft predict serves sequence classifiers only",
                                             (dir / ml::kCheckpointConfigFile).string(), ml::to_string(arch.head)));
    const auto tok = loaded.tokenizer_path();
    if (!tok || !fs::exists(*tok))
        throw std::runtime_error(fmt::format(
            "{}: missing; the checkpoint must carry its tokenizer (save it with one, or re-export)",
            (dir / ml::kCheckpointTokenizerFile).string()));
    s_->tokenizer = ml::Tokenizer::load(*tok);
    s_->labels = arch.labels;
    s_->max_len = arch.encoder.max_len();
    if (bundle_max > 0) s_->max_len = std::min(s_->max_len, bundle_max);
    if (max_len > 0) s_->max_len = std::min(s_->max_len, max_len);
    s_->pad_id = s_->tokenizer->pad_id().value_or(0);
    s_->truncation = arch.truncation;
}

Predictor::~Predictor() = default;
Predictor::Predictor(Predictor&&) noexcept = default;
Predictor& Predictor::operator=(Predictor&&) noexcept = default;
const std::vector<std::string>& Predictor::labels() const { return s_->labels; }
std::int64_t Predictor::max_len() const { return s_->max_len; }
std::int64_t Predictor::parameter_count() const {
    std::int64_t n = 0;
    for (const auto& p : s_->model->parameters()) n += p.numel();
    return n;
}

std::vector<Scored> Predictor::score(const std::vector<std::string>& texts) const {
    if (texts.empty()) return {};
    torch::NoGradGuard no_grad;
    std::vector<std::vector<std::int64_t>> ids;
    std::size_t longest = 0;
    for (const auto& t : texts) {
        const auto enc = s_->tokenizer->encode_for_model(t, static_cast<std::size_t>(s_->max_len), true,
                                                         s_->truncation);
        ids.emplace_back(enc.ids.begin(), enc.ids.end());
        longest = std::max(longest, ids.back().size());
    }
    const auto b = static_cast<std::int64_t>(texts.size());
    const auto t = static_cast<std::int64_t>(longest);
    auto input = torch::full({b, t}, s_->pad_id, torch::kInt64);
    auto mask = torch::zeros({b, t}, torch::kInt64);
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const auto n = static_cast<std::int64_t>(ids[i].size());
        const auto row = static_cast<std::int64_t>(i);
        input[row].narrow(0, 0, n).copy_(torch::tensor(ids[i], torch::kInt64));
        mask[row].narrow(0, 0, n).fill_(1);
    }
    const auto logits = s_->model->forward(input, mask).to(torch::kFloat64).contiguous();
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

std::string Predictor::label_of(const Scored& s) const {
    const auto& p = s.probabilities;
    return s_->labels[static_cast<std::size_t>(std::max_element(p.begin(), p.end()) - p.begin())];
}

}  // namespace graft::predict
