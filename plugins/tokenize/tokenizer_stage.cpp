// The `tokenizer` stage: trains a WordPiece or byte-level BPE tokenizer on a JSONL text field, or
// imports GPT-2's encoder.json + vocab.bpe, and writes a Hugging Face tokenizer.json into its
// output directory. Metrics describe the vocabulary and how it covers the training text.
#include "ml/tokenizer/tokenizer.hpp"

#include <graft/jsonl.hpp>
#include <graft/stage.hpp>

#include <chrono>
#include <optional>

namespace graft {
namespace {

using sdk::json;
using sdk::StageError;
namespace fs = std::filesystem;

constexpr std::size_t kCheckEvery = 4096;  // rows between cancellation checks

struct Params {
    std::string kind;
    std::size_t vocab_size = 0;
    std::uint64_t min_frequency = 0;
    bool lowercase = true;
    std::size_t limit_alphabet = 0;
    std::string text_field;
    std::size_t max_rows = 0;  // 0 = all
    std::string gpt2_dir;
};

Params read_params(sdk::RunContext& ctx) {
    Params p;
    p.kind = ctx.param<std::string>("kind");
    if (p.kind != "wordpiece" && p.kind != "bpe" && p.kind != "gpt2")
        throw StageError(
            fmt::format("kind = \"{}\" is not known; use \"wordpiece\", \"bpe\" or "
                        "\"gpt2\"",
                        p.kind));
    p.vocab_size = static_cast<std::size_t>(ctx.param<std::int64_t>("vocab_size"));
    p.min_frequency = static_cast<std::uint64_t>(ctx.param<std::int64_t>("min_frequency"));
    p.lowercase = ctx.param<bool>("lowercase");
    p.limit_alphabet = static_cast<std::size_t>(ctx.param<std::int64_t>("limit_alphabet"));
    p.text_field = ctx.param<std::string>("text_field");
    p.max_rows = static_cast<std::size_t>(ctx.param<std::int64_t>("max_rows"));
    p.gpt2_dir = ctx.param<std::string>("gpt2_dir");
    return p;
}

struct StopReading {};

// Calls `fn(text)` for the text field of each row (the first max_rows); returns the row count.
std::size_t for_each_text(sdk::RunContext& ctx, const fs::path& file, const Params& p,
                          const std::function<void(std::string_view)>& fn) {
    std::size_t rows = 0;
    try {
        sdk::for_each_jsonl(file, [&](json&& row, std::size_t line) {
            if (p.max_rows > 0 && rows >= p.max_rows) throw StopReading{};
            auto it = row.find(p.text_field);
            if (it == row.end() || !it->is_string()) {
                std::string fields;
                for (const auto& [key, value] : row.items())
                    fields += (fields.empty() ? "" : ", ") + key;
                throw StageError(fmt::format(
                    "{}:{}: no string field '{}' (param text_field); the row has: {}",
                    file.string(), line, p.text_field, fields.empty() ? "no fields" : fields));
            }
            fn(it->get_ref<const std::string&>());
            if (++rows % kCheckEvery == 0) {
                ctx.check_cancelled();
                ctx.progress(rows, p.max_rows, "rows");
            }
        });
    } catch (const StopReading&) {
    }
    return rows;
}

// The files come from input `gpt2` when connected (graft then hashes them, so a change reruns
// the stage), else from param gpt2_dir (only the path is part of the cache key).
ml::Tokenizer import_gpt2(sdk::RunContext& ctx, const Params& p) {
    fs::path dir;
    std::string what;
    if (auto in = ctx.optional_input("gpt2")) {
        dir = *in;
        what = "input 'gpt2'";
    } else {
        if (p.gpt2_dir.empty())
            throw StageError(
                "kind = \"gpt2\" needs GPT-2's encoder.json and vocab.bpe: connect "
                "input 'gpt2' to their directory (inputs = { gpt2 = \"data/gpt2\" "
                "}, fetched by scripts/setup.sh) or set gpt2_dir");
        dir = p.gpt2_dir;
        if (dir.is_relative()) dir = ctx.pipeline_dir() / dir;
        what = fmt::format("gpt2_dir = \"{}\"", p.gpt2_dir);
    }
    for (const char* name : {"encoder.json", "vocab.bpe"})
        if (!fs::is_regular_file(dir / name))
            throw StageError(
                fmt::format("{}: {} not found in {}; run scripts/setup.sh, or "
                            "point it at a directory holding encoder.json and "
                            "vocab.bpe",
                            what, name, dir.string()));
    return ml::load_gpt2(dir / "encoder.json", dir / "vocab.bpe");
}

ml::Tokenizer train(sdk::RunContext& ctx, const fs::path& data, const Params& p) {
    std::size_t rows = 0;
    const ml::TextSource source = [&](const std::function<void(std::string_view)>& sink) {
        rows = for_each_text(ctx, data, p, sink);
    };
    auto checked = [&](ml::Tokenizer tok) {
        if (rows == 0)
            throw StageError(
                fmt::format("{} has no rows: nothing to train the tokenizer on", data.string()));
        return tok;
    };
    try {
        if (p.kind == "wordpiece") {
            ml::WordPieceTrainerOptions o;
            o.vocab_size = p.vocab_size;
            o.min_frequency = p.min_frequency;
            o.lowercase = p.lowercase;
            o.limit_alphabet = p.limit_alphabet;
            return checked(ml::train_wordpiece(source, o));
        }
        if (!p.lowercase) ctx.debug("lowercase does not apply to byte-level BPE");
        ml::BpeTrainerOptions o;
        o.vocab_size = p.vocab_size;
        o.min_frequency = p.min_frequency;
        return checked(ml::train_byte_bpe(source, o));
    } catch (const ml::TokenizerError& e) {
        throw StageError(e.what());
    }
}

// How the tokenizer covers a text: [UNK] share and tokens per row.
void coverage_metrics(sdk::RunContext& ctx, const ml::Tokenizer& tok, const fs::path& data,
                      const Params& p) {
    std::size_t tokens = 0, unknown = 0, bytes = 0;
    const auto unk = tok.unk_id();
    const std::size_t rows = for_each_text(ctx, data, p, [&](std::string_view text) {
        const auto enc = tok.encode(text);
        tokens += enc.size();
        bytes += text.size();
        if (unk)
            for (auto id : enc.ids) unknown += id == *unk ? 1 : 0;
    });
    if (rows == 0) return;
    const double unk_rate = tokens ? static_cast<double>(unknown) / static_cast<double>(tokens) : 0;
    ctx.metric("rows", static_cast<double>(rows));
    ctx.metric("unk_rate", unk_rate);
    ctx.metric("tokens_per_row", static_cast<double>(tokens) / static_cast<double>(rows));
    ctx.metric("bytes_per_token",
               tokens ? static_cast<double>(bytes) / static_cast<double>(tokens) : 0);
    ctx.info("{} rows: {:.1f} tokens per row, {:.2f} bytes per token, {:.3f}% [UNK]", rows,
             static_cast<double>(tokens) / static_cast<double>(rows),
             tokens ? static_cast<double>(bytes) / static_cast<double>(tokens) : 0.0,
             100 * unk_rate);
}

class TokenizerStage final : public sdk::StageImpl {
public:
    static sdk::Descriptor describe() {
        return sdk::Descriptor(
                   "tokenizer", "1",
                   "Trains a tokenizer on a JSONL text field (kind \"wordpiece\": BERT-style, "
                   "lowercasing, [PAD] [UNK] [CLS] [SEP] [MASK] at ids 0-4; kind \"bpe\": "
                   "GPT-2-style "
                   "byte-level BPE with <|endoftext|> <|pad|> <|mask|>) or imports GPT-2's "
                   "encoder.json + vocab.bpe (kind \"gpt2\"). Writes tokenizer.json (Hugging Face "
                   "format) into the output directory. Metrics: vocab_size, and on the input "
                   "text unk_rate, tokens_per_row, bytes_per_token. Training is deterministic.")
            .input("data", "jsonl",
                   "training text (optional for kind \"gpt2\", where it only "
                   "feeds the coverage metrics)",
                   /*optional=*/true)
            .input_dir("gpt2", "gpt2-files",
                       "kind \"gpt2\": directory with GPT-2's encoder.json and vocab.bpe "
                       "(hashed as a dependency; overrides gpt2_dir)",
                       /*optional=*/true)
            .output_dir("tokenizer", "tokenizer", "directory with tokenizer.json")
            .param_string("kind", "wordpiece", "tokenizer to build", {"wordpiece", "bpe", "gpt2"})
            .param_int("vocab_size", 8000, "vocabulary size, special tokens included", 16, 1000000)
            .param_int("min_frequency", 2, "a merge needs a pair seen at least this often", 1)
            .param_bool("lowercase", true, "wordpiece: lowercase (and strip accents)")
            .param_int("limit_alphabet", 1000,
                       "wordpiece: keep the most frequent characters (0 = all); rarer ones "
                       "become [UNK]",
                       0)
            .param_string("text_field", "text", "field of each row holding the text")
            .param_int("max_rows", 0, "train on the first N rows only (0 = all)", 0)
            .param_string("gpt2_dir", "",
                          "kind \"gpt2\" without input 'gpt2': directory with encoder.json "
                          "and vocab.bpe, relative to the pipeline file (not hashed: prefer "
                          "the input)");
    }

    void run(sdk::RunContext& ctx) override {
        const Params p = read_params(ctx);
        const auto data = ctx.optional_input("data");
        if (p.kind != "gpt2" && !data)
            throw StageError(
                fmt::format("kind = \"{}\" trains on input 'data'; connect it, "
                            "e.g. inputs = {{ data = \"split.train\" }}",
                            p.kind));
        const auto t0 = std::chrono::steady_clock::now();
        std::optional<ml::Tokenizer> tok;
        try {
            tok = p.kind == "gpt2" ? import_gpt2(ctx, p) : train(ctx, *data, p);
        } catch (const ml::TokenizerError& e) {
            throw StageError(e.what());
        }
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        ctx.info("{} ({} in {:.2f} s)", tok->describe(), p.kind == "gpt2" ? "loaded" : "trained",
                 seconds);
        if (p.kind != "gpt2" && tok->vocab_size() < p.vocab_size)
            ctx.warn(
                "the vocabulary has {} tokens, fewer than vocab_size = {}: the text has no "
                "more pairs seen min_frequency = {} times",
                tok->vocab_size(), p.vocab_size, p.min_frequency);
        ctx.check_cancelled();
        tok->save(ctx.output("tokenizer") / "tokenizer.json");
        ctx.metric("vocab_size", static_cast<double>(tok->vocab_size()));
        if (data) coverage_metrics(ctx, *tok, *data, p);
    }
};

}  // namespace
}  // namespace graft

GRAFT_EXPORT_STAGES(graft::TokenizerStage)
