// Hugging Face tokenizer.json: reading and writing the parts graft implements. The format is the
// one the `tokenizers` library serializes (version "1.0"): added_tokens, normalizer,
// pre_tokenizer, post_processor, decoder, model. Unknown top-level keys are ignored, as the
// library itself does; graft keeps which token plays which part (pad, mask, ...) under "graft".
#include "ml/tokenizer/tokenizer_impl.hpp"
#include "ml/tokenizer/unicode.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <fstream>
#include <sstream>

namespace graft::ml {

using nlohmann::json;
using nlohmann::ordered_json;

namespace {

// Reads keys with messages that name the file, the key path and what was expected.
class Reader {
public:
    explicit Reader(std::string source) : source_(std::move(source)) {}

    [[noreturn]] void fail(const std::string& key, const std::string& msg) const {
        throw TokenizerError(fmt::format("{}: {}: {}", source_, key, msg));
    }
    const json* find(const json& obj, const std::string& key) const {
        auto it = obj.find(key);
        if (it == obj.end() || it->is_null()) return nullptr;
        return &*it;
    }
    const json& need(const json& obj, const std::string& key, const std::string& path) const {
        const json* v = find(obj, key);
        if (!v) fail(path, "missing (required)");
        return *v;
    }
    std::string string(const json& obj, const std::string& key, const std::string& path,
                       std::optional<std::string> def = {}) const {
        const json* v = find(obj, key);
        if (!v) {
            if (def) return *def;
            fail(path, "missing (expected a string)");
        }
        if (!v->is_string()) fail(path, fmt::format("expected a string, found {}", v->type_name()));
        return v->get<std::string>();
    }
    bool boolean(const json& obj, const std::string& key, const std::string& path, bool def) const {
        const json* v = find(obj, key);
        if (!v) return def;
        if (!v->is_boolean())
            fail(path, fmt::format("expected true or false, found {}", v->type_name()));
        return v->get<bool>();
    }
    std::int64_t integer(const json& obj, const std::string& key, const std::string& path,
                         std::optional<std::int64_t> def = {}) const {
        const json* v = find(obj, key);
        if (!v) {
            if (def) return *def;
            fail(path, "missing (expected an integer)");
        }
        if (!v->is_number_integer())
            fail(path, fmt::format("expected an integer, found {}", v->type_name()));
        return v->get<std::int64_t>();
    }
    std::string type_of(const json& obj, const std::string& path) const {
        if (!obj.is_object())
            fail(path, fmt::format("expected an object, found {}", obj.type_name()));
        return string(obj, "type", path + ".type");
    }
    const std::string& source() const { return source_; }

private:
    std::string source_;
};

detail::NormalizerStep read_normalizer_step(const Reader& r, const json& j,
                                            const std::string& path) {
    const std::string type = r.type_of(j, path);
    detail::NormalizerStep s;
    if (type == "BertNormalizer") {
        s.kind = detail::NormalizerStep::Kind::bert;
        s.clean_text = r.boolean(j, "clean_text", path + ".clean_text", true);
        s.handle_chinese_chars =
            r.boolean(j, "handle_chinese_chars", path + ".handle_chinese_chars", true);
        s.lowercase = r.boolean(j, "lowercase", path + ".lowercase", true);
        if (const json* v = r.find(j, "strip_accents")) {
            if (!v->is_boolean()) r.fail(path + ".strip_accents", "expected true, false or null");
            s.strip_accents = v->get<bool>();
        }
    } else if (type == "Lowercase") {
        s.kind = detail::NormalizerStep::Kind::lowercase;
    } else if (type == "StripAccents") {
        s.kind = detail::NormalizerStep::Kind::strip_accents;
    } else if (type == "NFD") {
        s.kind = detail::NormalizerStep::Kind::nfd;
    } else {
        r.fail(path + ".type", fmt::format("normalizer '{}' is not supported; graft implements "
                                           "BertNormalizer, Lowercase, StripAccents, NFD and "
                                           "Sequence of those",
                                           type));
    }
    return s;
}

detail::Normalizer read_normalizer(const Reader& r, const json& root) {
    detail::Normalizer n;
    const json* j = r.find(root, "normalizer");
    if (!j) return n;
    if (r.type_of(*j, "normalizer") == "Sequence") {
        n.as_sequence = true;
        const json& list = r.need(*j, "normalizers", "normalizer.normalizers");
        if (!list.is_array()) r.fail("normalizer.normalizers", "expected an array");
        for (std::size_t i = 0; i < list.size(); ++i)
            n.steps.push_back(
                read_normalizer_step(r, list[i], fmt::format("normalizer.normalizers[{}]", i)));
        return n;
    }
    n.steps.push_back(read_normalizer_step(r, *j, "normalizer"));
    return n;
}

detail::PreTokenizer read_pre_tokenizer(const Reader& r, const json& root) {
    detail::PreTokenizer p;
    const json* j = r.find(root, "pre_tokenizer");
    if (!j) return p;
    const std::string type = r.type_of(*j, "pre_tokenizer");
    if (type == "BertPreTokenizer") {
        p.kind = detail::PreTokenizerKind::bert;
    } else if (type == "ByteLevel") {
        p.kind = detail::PreTokenizerKind::byte_level;
        p.add_prefix_space =
            r.boolean(*j, "add_prefix_space", "pre_tokenizer.add_prefix_space", true);
        p.trim_offsets = r.boolean(*j, "trim_offsets", "pre_tokenizer.trim_offsets", true);
        p.use_regex = r.boolean(*j, "use_regex", "pre_tokenizer.use_regex", true);
    } else if (type == "Whitespace") {
        p.kind = detail::PreTokenizerKind::whitespace;
    } else if (type == "WhitespaceSplit") {
        p.kind = detail::PreTokenizerKind::whitespace_split;
    } else {
        r.fail("pre_tokenizer.type",
               fmt::format("pre-tokenizer '{}' is not supported; graft implements "
                           "BertPreTokenizer, ByteLevel, Whitespace and WhitespaceSplit",
                           type));
    }
    return p;
}

// "[CLS] $A [SEP]" (the Python constructor's string form) or the serialized piece objects.
std::vector<detail::TemplatePiece> read_template(const Reader& r, const json& j,
                                                 const std::string& path) {
    std::vector<detail::TemplatePiece> pieces;
    auto parse_word = [&](const std::string& word) {
        detail::TemplatePiece p;
        std::string name = word;
        if (auto colon = word.rfind(':'); colon != std::string::npos && colon > 0) {
            name = word.substr(0, colon);
            try {
                p.type_id = static_cast<std::uint8_t>(std::stoi(word.substr(colon + 1)));
            } catch (const std::exception&) {
                r.fail(path, fmt::format("bad type id in '{}'", word));
            }
        }
        if (name == "$A" || name == "$" || name == "$0") {
            p.is_sequence = true;
        } else if (name == "$B" || name == "$1") {
            p.is_sequence = true;
            p.sequence = 1;
        } else {
            p.special = name;
        }
        return p;
    };
    if (j.is_string()) {
        std::istringstream in(j.get<std::string>());
        for (std::string w; in >> w;) pieces.push_back(parse_word(w));
        return pieces;
    }
    if (!j.is_array()) r.fail(path, "expected an array of template pieces or a string");
    for (std::size_t i = 0; i < j.size(); ++i) {
        const json& item = j[i];
        const std::string ip = fmt::format("{}[{}]", path, i);
        detail::TemplatePiece p;
        if (item.is_object() && item.contains("Sequence")) {
            const json& s = item["Sequence"];
            const std::string id = r.string(s, "id", ip + ".Sequence.id");
            if (id != "A" && id != "B") r.fail(ip + ".Sequence.id", "expected \"A\" or \"B\"");
            p.is_sequence = true;
            p.sequence = id == "A" ? 0 : 1;
            p.type_id =
                static_cast<std::uint8_t>(r.integer(s, "type_id", ip + ".Sequence.type_id", 0));
        } else if (item.is_object() && item.contains("SpecialToken")) {
            const json& s = item["SpecialToken"];
            p.special = r.string(s, "id", ip + ".SpecialToken.id");
            p.type_id =
                static_cast<std::uint8_t>(r.integer(s, "type_id", ip + ".SpecialToken.type_id", 0));
        } else {
            r.fail(ip, "expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
        }
        pieces.push_back(std::move(p));
    }
    return pieces;
}

// BertProcessing / RobertaProcessing store ["[SEP]", 102].
std::pair<std::string, std::int32_t> read_token_pair(const Reader& r, const json& j,
                                                     const std::string& path) {
    if (!j.is_array() || j.size() != 2 || !j[0].is_string() || !j[1].is_number_integer())
        r.fail(path, "expected [\"token\", id]");
    return {j[0].get<std::string>(), j[1].get<std::int32_t>()};
}

void read_one_post_processor(const Reader& r, const json& j, const std::string& path,
                             detail::PostProcessor& p) {
    using detail::TemplatePiece;
    const std::string type = r.type_of(j, path);
    if (type == "ByteLevel") {
        if (p.kind == detail::PostProcessor::Kind::none)
            p.kind = detail::PostProcessor::Kind::byte_level;
        p.add_prefix_space = r.boolean(j, "add_prefix_space", path + ".add_prefix_space", true);
        p.trim_offsets = r.boolean(j, "trim_offsets", path + ".trim_offsets", true);
        p.use_regex = r.boolean(j, "use_regex", path + ".use_regex", true);
        return;
    }
    if (p.kind == detail::PostProcessor::Kind::template_processing)
        r.fail(path, "more than one template post-processor");
    p.kind = detail::PostProcessor::Kind::template_processing;
    if (type == "TemplateProcessing") {
        p.single = read_template(r, r.need(j, "single", path + ".single"), path + ".single");
        if (const json* pair = r.find(j, "pair")) p.pair = read_template(r, *pair, path + ".pair");
        const json& specials = r.need(j, "special_tokens", path + ".special_tokens");
        if (!specials.is_object()) r.fail(path + ".special_tokens", "expected an object");
        for (const auto& [key, value] : specials.items()) {
            const std::string sp = path + ".special_tokens." + key;
            const json& ids = r.need(value, "ids", sp + ".ids");
            if (!ids.is_array()) r.fail(sp + ".ids", "expected an array of ids");
            std::vector<std::int32_t> v;
            for (const auto& id : ids) {
                if (!id.is_number_integer()) r.fail(sp + ".ids", "expected integer ids");
                v.push_back(id.get<std::int32_t>());
            }
            p.special_ids[key] = std::move(v);
        }
        return;
    }
    if (type == "BertProcessing" || type == "RobertaProcessing") {
        const auto [cls, cls_id] =
            read_token_pair(r, r.need(j, "cls", path + ".cls"), path + ".cls");
        const auto [sep, sep_id] =
            read_token_pair(r, r.need(j, "sep", path + ".sep"), path + ".sep");
        p.special_ids[cls] = {cls_id};
        p.special_ids[sep] = {sep_id};
        const bool bert = type == "BertProcessing";
        auto special = [](const std::string& t, std::uint8_t type_id) {
            TemplatePiece x;
            x.special = t;
            x.type_id = type_id;
            return x;
        };
        auto seq = [](int which, std::uint8_t type_id) {
            TemplatePiece x;
            x.is_sequence = true;
            x.sequence = which;
            x.type_id = type_id;
            return x;
        };
        p.single = {special(cls, 0), seq(0, 0), special(sep, 0)};
        if (bert)
            p.pair = {special(cls, 0), seq(0, 0), special(sep, 0), seq(1, 1), special(sep, 1)};
        else
            p.pair = {special(cls, 0), seq(0, 0), special(sep, 0),
                      special(sep, 0), seq(1, 0), special(sep, 0)};
        return;
    }
    r.fail(path + ".type",
           fmt::format("post-processor '{}' is not supported; graft implements "
                       "TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel and "
                       "Sequence of those",
                       type));
}

detail::PostProcessor read_post_processor(const Reader& r, const json& root) {
    detail::PostProcessor p;
    const json* j = r.find(root, "post_processor");
    if (!j) return p;
    if (r.type_of(*j, "post_processor") == "Sequence") {
        const json& list = r.need(*j, "processors", "post_processor.processors");
        if (!list.is_array()) r.fail("post_processor.processors", "expected an array");
        for (std::size_t i = 0; i < list.size(); ++i)
            read_one_post_processor(r, list[i], fmt::format("post_processor.processors[{}]", i), p);
        return p;
    }
    read_one_post_processor(r, *j, "post_processor", p);
    return p;
}

detail::Decoder read_decoder(const Reader& r, const json& root) {
    detail::Decoder d;
    const json* j = r.find(root, "decoder");
    if (!j) return d;
    const std::string type = r.type_of(*j, "decoder");
    if (type == "WordPiece") {
        d.kind = detail::Decoder::Kind::word_piece;
        d.prefix = r.string(*j, "prefix", "decoder.prefix", std::string("##"));
        d.cleanup = r.boolean(*j, "cleanup", "decoder.cleanup", true);
    } else if (type == "ByteLevel") {
        d.kind = detail::Decoder::Kind::byte_level;
    } else {
        r.fail("decoder.type", fmt::format("decoder '{}' is not supported; graft implements "
                                           "WordPiece and ByteLevel",
                                           type));
    }
    return d;
}

void read_vocab(const Reader& r, const json& model, detail::Vocab& vocab) {
    const json& v = r.need(model, "vocab", "model.vocab");
    if (!v.is_object())
        r.fail("model.vocab",
               fmt::format("expected an object {{token: id}}, found {}", v.type_name()));
    if (v.empty()) r.fail("model.vocab", "is empty");
    vocab.to_id.reserve(v.size());
    for (const auto& [token, id] : v.items()) {
        if (!id.is_number_integer() || id.get<std::int64_t>() < 0 ||
            id.get<std::int64_t>() > std::int64_t{1} << 30)
            r.fail("model.vocab",
                   fmt::format("token '{}' has id {}, expected a non-negative integer", token,
                               id.dump()));
        const auto i = id.get<std::int32_t>();
        if (static_cast<std::size_t>(i) < vocab.present.size() &&
            vocab.present[static_cast<std::size_t>(i)])
            r.fail("model.vocab", fmt::format("tokens '{}' and '{}' share id {}",
                                              vocab.tokens[static_cast<std::size_t>(i)], token, i));
        vocab.add(token, i);
    }
}

void read_merges(const Reader& r, const json& model, const detail::Vocab& vocab,
                 detail::BpeModel& bpe) {
    const json& m = r.need(model, "merges", "model.merges");
    if (!m.is_array()) r.fail("model.merges", "expected an array of \"a b\" strings");
    bpe.merges.reserve(m.size());
    for (std::size_t i = 0; i < m.size(); ++i) {
        std::string a, b;
        if (m[i].is_string()) {
            const auto s = m[i].get<std::string>();
            const auto sp = s.find(' ');
            if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
                r.fail(fmt::format("model.merges[{}]", i),
                       fmt::format("'{}' is not two tokens separated by one space", s));
            a = s.substr(0, sp);
            b = s.substr(sp + 1);
        } else if (m[i].is_array() && m[i].size() == 2 && m[i][0].is_string() &&
                   m[i][1].is_string()) {
            a = m[i][0].get<std::string>();
            b = m[i][1].get<std::string>();
        } else {
            r.fail(fmt::format("model.merges[{}]", i), "expected \"a b\" or [\"a\", \"b\"]");
        }
        const auto ia = vocab.find(a);
        const auto ib = vocab.find(b);
        if (!ia || !ib)
            r.fail(fmt::format("model.merges[{}]", i),
                   fmt::format("'{}' is not in model.vocab", ia ? b : a));
        bpe.merges.emplace_back(*ia, *ib);
    }
}

void read_added_tokens(const Reader& r, const json& root, std::vector<detail::AddedToken>& out) {
    const json* list = r.find(root, "added_tokens");
    if (!list) return;
    if (!list->is_array()) r.fail("added_tokens", "expected an array");
    for (std::size_t i = 0; i < list->size(); ++i) {
        const json& t = (*list)[i];
        const std::string p = fmt::format("added_tokens[{}]", i);
        if (!t.is_object()) r.fail(p, "expected an object");
        detail::AddedToken a;
        a.id = static_cast<std::int32_t>(r.integer(t, "id", p + ".id"));
        a.content = r.string(t, "content", p + ".content");
        a.special = r.boolean(t, "special", p + ".special", false);
        a.single_word = r.boolean(t, "single_word", p + ".single_word", false);
        a.lstrip = r.boolean(t, "lstrip", p + ".lstrip", false);
        a.rstrip = r.boolean(t, "rstrip", p + ".rstrip", false);
        a.normalized = r.boolean(t, "normalized", p + ".normalized", !a.special);
        out.push_back(std::move(a));
    }
}

std::string first_present(const Tokenizer::Impl& m, std::initializer_list<const char*> names) {
    for (const char* n : names) {
        if (m.vocab.find(n)) return n;
        for (const auto& a : m.added)
            if (a.content == n) return n;
    }
    return {};
}

}  // namespace

namespace detail {

// Roles for files without graft's record of them: the template's first and last special tokens,
// the model's unknown token, and the usual names.
void guess_roles(Tokenizer::Impl& m) {
    if (m.kind == TokenizerKind::word_piece)
        m.roles.unk = m.wordpiece.unk_token;
    else if (m.bpe.unk_token)
        m.roles.unk = *m.bpe.unk_token;
    const auto& single = m.post_processor.single;
    if (m.post_processor.kind == PostProcessor::Kind::template_processing && !single.empty()) {
        auto token_of = [&](const TemplatePiece& p) -> std::string {
            const auto it = m.post_processor.special_ids.find(p.special);
            if (it == m.post_processor.special_ids.end() || it->second.size() != 1) return {};
            const auto& ids = it->second;
            const auto id = static_cast<std::size_t>(ids[0]);
            if (id < m.vocab.tokens.size() && m.vocab.present[id]) return m.vocab.tokens[id];
            for (const auto& a : m.added)
                if (a.id == ids[0]) return a.content;
            return {};
        };
        if (!single.front().is_sequence) m.roles.cls = token_of(single.front());
        if (!single.back().is_sequence) m.roles.sep = token_of(single.back());
    }
    if (m.roles.cls.empty()) m.roles.cls = first_present(m, {"[CLS]", "<s>", "<|cls|>"});
    if (m.roles.sep.empty()) m.roles.sep = first_present(m, {"[SEP]", "</s>", "<|sep|>"});
    m.roles.pad = first_present(m, {"[PAD]", "<pad>", "<|pad|>", "<|padding|>"});
    m.roles.mask = first_present(m, {"[MASK]", "<mask>", "<|mask|>"});
    m.roles.eos = first_present(m, {"<|endoftext|>", "</s>", "<eos>", "<|eos|>"});
}

}  // namespace detail

namespace {

void read_roles(const Reader& r, const json& root, Tokenizer::Impl& m) {
    const json* g = r.find(root, "graft");
    const json* roles = g && g->is_object() ? r.find(*g, "special_roles") : nullptr;
    if (!roles) {
        detail::guess_roles(m);
        return;
    }
    if (!roles->is_object()) r.fail("graft.special_roles", "expected an object");
    auto role = [&](const char* name) {
        return r.string(*roles, name, std::string("graft.special_roles.") + name, std::string());
    };
    m.roles = {role("pad"), role("unk"), role("cls"), role("sep"), role("mask"), role("eos")};
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw TokenizerError(
            fmt::format("cannot read tokenizer file '{}': {}", path.string(),
                        std::filesystem::exists(path) ? "permission denied" : "no such file"));
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

Tokenizer Tokenizer::from_json(std::string_view json_text, const std::string& source) {
    Reader r(source);
    json root = json::parse(json_text, nullptr, false);
    if (root.is_discarded())
        throw TokenizerError(
            fmt::format("{}: not valid JSON; expected a Hugging Face "
                        "tokenizer.json",
                        source));
    if (!root.is_object())
        r.fail("(top level)", fmt::format("expected an object, found {}", root.type_name()));
    if (const json* v = r.find(root, "version");
        v && (!v->is_string() || v->get<std::string>() != "1.0"))
        r.fail("version", fmt::format("{} is not supported (expected \"1.0\")", v->dump()));

    auto m = std::make_shared<Impl>();
    const json& model = r.need(root, "model", "model");
    if (!model.is_object()) r.fail("model", "expected an object");
    std::string type;
    if (r.find(model, "type")) {
        type = r.string(model, "type", "model.type");
    } else if (model.contains("merges")) {
        type = "BPE";  // files from before the model was tagged
    } else if (model.contains("max_input_chars_per_word")) {
        type = "WordPiece";
    } else {
        r.fail("model.type", "missing (expected \"WordPiece\" or \"BPE\")");
    }
    if (type != "WordPiece" && type != "BPE")
        r.fail("model.type", fmt::format("'{}' is not supported; graft reads \"WordPiece\" and "
                                         "byte-level \"BPE\" tokenizers",
                                         type));
    read_vocab(r, model, m->vocab);
    m->normalizer = read_normalizer(r, root);
    m->pre_tokenizer = read_pre_tokenizer(r, root);
    m->post_processor = read_post_processor(r, root);
    m->decoder = read_decoder(r, root);
    read_added_tokens(r, root, m->added);

    if (type == "WordPiece") {
        m->kind = TokenizerKind::word_piece;
        m->wordpiece.unk_token =
            r.string(model, "unk_token", "model.unk_token", std::string("[UNK]"));
        m->wordpiece.prefix = r.string(model, "continuing_subword_prefix",
                                       "model.continuing_subword_prefix", std::string("##"));
        const auto max_chars =
            r.integer(model, "max_input_chars_per_word", "model.max_input_chars_per_word", 100);
        if (max_chars <= 0) r.fail("model.max_input_chars_per_word", "must be positive");
        m->wordpiece.max_input_chars_per_word = static_cast<std::size_t>(max_chars);
        if (m->decoder.kind == detail::Decoder::Kind::byte_level)
            r.fail("decoder.type", "a ByteLevel decoder does not fit a WordPiece model");
    } else {
        m->kind = TokenizerKind::byte_bpe;
        if (m->pre_tokenizer.kind != detail::PreTokenizerKind::byte_level)
            r.fail("pre_tokenizer",
                   "model.type \"BPE\" is supported only with a ByteLevel "
                   "pre_tokenizer (byte-level BPE as in GPT-2 and RoBERTa)");
        for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
            if (!r.string(model, key, std::string("model.") + key, std::string()).empty())
                r.fail(std::string("model.") + key,
                       "is not supported for byte-level BPE (expected "
                       "null or \"\")");
        if (const json* u = r.find(model, "unk_token")) {
            if (!u->is_string()) r.fail("model.unk_token", "expected a string or null");
            m->bpe.unk_token = u->get<std::string>();
        }
        if (const json* d = r.find(model, "dropout")) {
            if (!d->is_number()) r.fail("model.dropout", "expected a number or null");
            m->bpe.dropout = d->get<double>();
        }
        m->bpe.fuse_unk = r.boolean(model, "fuse_unk", "model.fuse_unk", false);
        m->bpe.byte_fallback = r.boolean(model, "byte_fallback", "model.byte_fallback", false);
        m->bpe.ignore_merges = r.boolean(model, "ignore_merges", "model.ignore_merges", false);
        read_merges(r, model, m->vocab, m->bpe);
        if (m->decoder.kind == detail::Decoder::Kind::none)
            m->decoder.kind = detail::Decoder::Kind::byte_level;
    }
    read_roles(r, root, *m);
    m->finalize(source);
    return Tokenizer(std::move(m));
}

Tokenizer Tokenizer::load(const std::filesystem::path& tokenizer_json) {
    // A `tokenizer` artifact is a directory holding tokenizer.json; accept either.
    std::error_code ec;
    if (std::filesystem::is_directory(tokenizer_json, ec)) {
        const auto file = tokenizer_json / "tokenizer.json";
        return from_json(read_file(file), file.string());
    }
    return from_json(read_file(tokenizer_json), tokenizer_json.string());
}

namespace {

ordered_json write_normalizer_step(const detail::NormalizerStep& s) {
    using K = detail::NormalizerStep::Kind;
    switch (s.kind) {
    case K::bert: {
        ordered_json j = {{"type", "BertNormalizer"},
                          {"clean_text", s.clean_text},
                          {"handle_chinese_chars", s.handle_chinese_chars}};
        j["strip_accents"] =
            s.strip_accents ? ordered_json(*s.strip_accents) : ordered_json(nullptr);
        j["lowercase"] = s.lowercase;
        return j;
    }
    case K::lowercase:
        return {{"type", "Lowercase"}};
    case K::strip_accents:
        return {{"type", "StripAccents"}};
    case K::nfd:
        return {{"type", "NFD"}};
    }
    return nullptr;
}

ordered_json write_normalizer(const detail::Normalizer& n) {
    if (n.empty()) return nullptr;
    if (n.steps.size() == 1 && !n.as_sequence) return write_normalizer_step(n.steps[0]);
    ordered_json list = ordered_json::array();
    for (const auto& s : n.steps) list.push_back(write_normalizer_step(s));
    return {{"type", "Sequence"}, {"normalizers", std::move(list)}};
}

ordered_json write_pre_tokenizer(const detail::PreTokenizer& p) {
    switch (p.kind) {
    case detail::PreTokenizerKind::none:
        return nullptr;
    case detail::PreTokenizerKind::bert:
        return {{"type", "BertPreTokenizer"}};
    case detail::PreTokenizerKind::byte_level:
        return {{"type", "ByteLevel"},
                {"add_prefix_space", p.add_prefix_space},
                {"trim_offsets", p.trim_offsets},
                {"use_regex", p.use_regex}};
    case detail::PreTokenizerKind::whitespace:
        return {{"type", "Whitespace"}};
    case detail::PreTokenizerKind::whitespace_split:
        return {{"type", "WhitespaceSplit"}};
    }
    return nullptr;
}

ordered_json write_template(const std::vector<detail::TemplatePiece>& pieces) {
    ordered_json out = ordered_json::array();
    for (const auto& p : pieces) {
        if (p.is_sequence)
            out.push_back(
                {{"Sequence", {{"id", p.sequence == 0 ? "A" : "B"}, {"type_id", p.type_id}}}});
        else
            out.push_back({{"SpecialToken", {{"id", p.special}, {"type_id", p.type_id}}}});
    }
    return out;
}

ordered_json write_post_processor(const Tokenizer::Impl& m) {
    const auto& p = m.post_processor;
    switch (p.kind) {
    case detail::PostProcessor::Kind::none:
        return nullptr;
    case detail::PostProcessor::Kind::byte_level:
        return {{"type", "ByteLevel"},
                {"add_prefix_space", p.add_prefix_space},
                {"trim_offsets", p.trim_offsets},
                {"use_regex", p.use_regex}};
    case detail::PostProcessor::Kind::template_processing: {
        ordered_json specials = ordered_json::object();
        for (const auto& [key, ids] : p.special_ids) {
            ordered_json tokens = ordered_json::array();
            for (auto id : ids) tokens.push_back(m.all_tokens[static_cast<std::size_t>(id)]);
            specials[key] = {{"id", key}, {"ids", ids}, {"tokens", std::move(tokens)}};
        }
        return {{"type", "TemplateProcessing"},
                {"single", write_template(p.single)},
                {"pair", write_template(p.pair)},
                {"special_tokens", std::move(specials)}};
    }
    }
    return nullptr;
}

ordered_json write_decoder(const detail::Decoder& d) {
    switch (d.kind) {
    case detail::Decoder::Kind::none:
        return nullptr;
    case detail::Decoder::Kind::word_piece:
        return {{"type", "WordPiece"}, {"prefix", d.prefix}, {"cleanup", d.cleanup}};
    case detail::Decoder::Kind::byte_level:
        return {{"type", "ByteLevel"},
                {"add_prefix_space", true},
                {"trim_offsets", true},
                {"use_regex", true}};
    }
    return nullptr;
}

ordered_json write_vocab(const detail::Vocab& v) {
    // In id order, like Hugging Face. ordered_json's map checks every insert for a duplicate
    // key with a linear scan (quadratic for GPT-2's 50k tokens); vocabulary keys are unique, so
    // append to the underlying vector directly.
    ordered_json out = ordered_json::object();
    auto& entries = static_cast<std::vector<std::pair<const std::string, ordered_json>>&>(
        out.get_ref<ordered_json::object_t&>());
    entries.reserve(v.to_id.size());
    for (std::size_t i = 0; i < v.tokens.size(); ++i)
        if (v.present[i]) entries.emplace_back(v.tokens[i], i);
    return out;
}

ordered_json write_model(const Tokenizer::Impl& m) {
    if (m.kind == TokenizerKind::word_piece)
        return {{"type", "WordPiece"},
                {"unk_token", m.wordpiece.unk_token},
                {"continuing_subword_prefix", m.wordpiece.prefix},
                {"max_input_chars_per_word", m.wordpiece.max_input_chars_per_word},
                {"vocab", write_vocab(m.vocab)}};
    ordered_json merges = ordered_json::array();
    for (const auto& [a, b] : m.bpe.merges)
        merges.push_back(m.vocab.tokens[static_cast<std::size_t>(a)] + " " +
                         m.vocab.tokens[static_cast<std::size_t>(b)]);
    ordered_json j = {{"type", "BPE"}};
    j["dropout"] = m.bpe.dropout ? ordered_json(*m.bpe.dropout) : ordered_json(nullptr);
    j["unk_token"] = m.bpe.unk_token ? ordered_json(*m.bpe.unk_token) : ordered_json(nullptr);
    j["continuing_subword_prefix"] = nullptr;
    j["end_of_word_suffix"] = nullptr;
    j["fuse_unk"] = m.bpe.fuse_unk;
    j["byte_fallback"] = m.bpe.byte_fallback;
    j["ignore_merges"] = m.bpe.ignore_merges;
    j["vocab"] = write_vocab(m.vocab);
    j["merges"] = std::move(merges);
    return j;
}

}  // namespace

std::string Tokenizer::to_json(int indent) const {
    const Impl& m = *impl_;
    ordered_json root;
    root["version"] = "1.0";
    root["truncation"] = nullptr;
    root["padding"] = nullptr;
    std::vector<const detail::AddedToken*> added;
    for (const auto& a : m.added) added.push_back(&a);
    std::sort(added.begin(), added.end(), [](auto* x, auto* y) { return x->id < y->id; });
    ordered_json list = ordered_json::array();
    for (const auto* a : added)
        list.push_back({{"id", a->id},
                        {"content", a->content},
                        {"single_word", a->single_word},
                        {"lstrip", a->lstrip},
                        {"rstrip", a->rstrip},
                        {"normalized", a->normalized},
                        {"special", a->special}});
    root["added_tokens"] = std::move(list);
    root["normalizer"] = write_normalizer(m.normalizer);
    root["pre_tokenizer"] = write_pre_tokenizer(m.pre_tokenizer);
    root["post_processor"] = write_post_processor(m);
    root["decoder"] = write_decoder(m.decoder);
    root["model"] = write_model(m);
    root["graft"] = {{"special_roles",
                      {{"pad", m.roles.pad},
                       {"unk", m.roles.unk},
                       {"cls", m.roles.cls},
                       {"sep", m.roles.sep},
                       {"mask", m.roles.mask},
                       {"eos", m.roles.eos}}}};
    return root.dump(indent, ' ', false, ordered_json::error_handler_t::replace);
}

void Tokenizer::save(const std::filesystem::path& tokenizer_json) const {
    const std::string text = to_json(2) + "\n";
    if (tokenizer_json.has_parent_path()) {
        std::error_code ec;
        std::filesystem::create_directories(tokenizer_json.parent_path(), ec);
    }
    // Write beside the target and rename, so readers never see half a file.
    auto tmp = tokenizer_json;
    tmp += fmt::format(".tmp.{}", ::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << text;
        out.flush();
        if (!out)
            throw TokenizerError(fmt::format("cannot write tokenizer file '{}'", tmp.string()));
    }
    std::error_code ec;
    std::filesystem::rename(tmp, tokenizer_json, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
        throw TokenizerError(fmt::format("cannot write tokenizer file '{}': {}",
                                         tokenizer_json.string(), ec.message()));
    }
}

}  // namespace graft::ml
