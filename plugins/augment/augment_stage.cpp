// The `augment` stage: label-preserving EDA augmentation of a JSONL dataset (eda.hpp), synonyms
// from WordNet (wordnet.hpp). Every input row is written (unless keep_original = false) followed
// by its augmented copies; a copy is the row with only the text field replaced and the mark
// field set to true, so labels and every other field are kept as they are. The output port is
// marked augmented: the pipeline validator refuses a split (or any input marked
// refuses_augmented) downstream of it.
#include "augment_stage.hpp"

#include "eda.hpp"
#include "wordnet.hpp"

#include <graft/jsonl.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

namespace graft::augment {
namespace {

using sdk::json;
using sdk::StageError;
namespace fs = std::filesystem;

struct Params {
    std::string text_field, mark_field;
    std::size_t per_example = 4;
    bool keep_original = true;
    std::uint64_t seed = 0;
    fs::path wordnet;
    EdaOptions eda;
};

Params read_params(sdk::RunContext& ctx) {
    Params p;
    p.text_field = ctx.param<std::string>("text_field");
    p.mark_field = ctx.param<std::string>("mark_field");
    if (p.text_field.empty()) throw StageError("text_field = \"\": name the field holding the text");
    if (p.mark_field.empty())
        throw StageError("mark_field = \"\": augmented rows must be marked; name a field, e.g. "
                         "mark_field = \"augmented\"");
    if (p.mark_field == p.text_field)
        throw StageError(fmt::format("mark_field and text_field are both '{}'; the mark would "
                                     "overwrite the text: choose another mark_field",
                                     p.text_field));
    p.per_example = static_cast<std::size_t>(ctx.param<std::int64_t>("per_example"));
    p.keep_original = ctx.param<bool>("keep_original");
    p.eda.synonym_rate = ctx.param<double>("synonym_rate");
    p.eda.insert_rate = ctx.param<double>("insert_rate");
    p.eda.swap_rate = ctx.param<double>("swap_rate");
    p.eda.delete_prob = ctx.param<double>("delete_prob");
    if (p.eda.synonym_rate <= 0 && p.eda.insert_rate <= 0 && p.eda.swap_rate <= 0 &&
        p.eda.delete_prob <= 0)
        throw StageError("synonym_rate, insert_rate, swap_rate and delete_prob are all 0, so no "
                         "operation is enabled; set at least one above 0 (EDA uses 0.1 each)");
    if (p.per_example == 0 && !p.keep_original)
        throw StageError("per_example = 0 with keep_original = false would write no rows; set "
                         "per_example >= 1 or keep_original = true");
    p.eda.max_senses = static_cast<std::size_t>(ctx.param<std::int64_t>("senses"));
    p.eda.stopwords = default_stopwords();
    for (const auto& w : ctx.param<std::vector<std::string>>("extra_stopwords")) {
        std::string key = w;
        for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        p.eda.stopwords.insert(key);
    }
    const auto seed = ctx.param<std::int64_t>("seed");
    if (seed < -1)
        throw StageError(fmt::format(
            "seed = {}: use -1 (the pipeline's per-stage seed) or a number >= 0", seed));
    p.seed = seed == -1 ? ctx.seed() : static_cast<std::uint64_t>(seed);
    p.wordnet = ctx.param<std::string>("wordnet");
    if (p.wordnet.is_relative()) p.wordnet = ctx.pipeline_dir() / p.wordnet;
    return p;
}

struct Row {
    json value;
    std::size_t line = 0;
};

// What one input row became, and the counts behind the metrics.
struct RowResult {
    std::vector<json> out;
    std::array<std::size_t, kOpCount> copies{};  // copies written per operation
    std::array<std::size_t, kOpCount> edits{};   // words changed per operation
    std::size_t unchanged = 0;                   // copies dropped: same text as the row
    std::size_t looked_up = 0, no_synonym = 0;   // words of the row looked up / without synonyms
};

RowResult augment_row(const Row& row, std::size_t index, const Params& p,
                      const Thesaurus& th, const std::vector<Op>& ops) {
    RowResult r;
    const std::string& text = row.value.at(p.text_field).get_ref<const std::string&>();
    if (p.keep_original) {
        json original = row.value;
        if (!original.contains(p.mark_field)) original[p.mark_field] = false;
        r.out.push_back(std::move(original));
    }
    if (th.uses_wordnet())
        for (const auto& w : split_words(text)) {
            const auto core = bare_word(w);
            if (!th.lookable(core)) continue;
            ++r.looked_up;
            if (th.synonyms(core).empty()) ++r.no_synonym;
        }
    // The row's operations in a seeded order, one per copy, cycling: copies of one row use the
    // enabled operations in turn, as EDA's per-technique quotas do.
    std::vector<Op> order = ops;
    Rng order_rng = row_rng(p.seed, index, ~std::uint64_t{0});
    for (std::size_t i = order.size(); i > 1; --i)
        std::swap(order[i - 1], order[order_rng.below(i)]);
    for (std::size_t c = 0; c < p.per_example; ++c) {
        const Op op = order[c % order.size()];
        Rng rng = row_rng(p.seed, index, c);
        EdaResult e = apply_op(op, text, th, p.eda, rng);
        if (e.text == text || e.edits == 0) {
            ++r.unchanged;
            continue;
        }
        json copy = row.value;
        copy[p.text_field] = std::move(e.text);
        copy[p.mark_field] = true;
        r.out.push_back(std::move(copy));
        ++r.copies[static_cast<std::size_t>(op)];
        r.edits[static_cast<std::size_t>(op)] += e.edits;
    }
    return r;
}

std::vector<Row> read_rows(const fs::path& file, const Params& p) {
    std::vector<Row> rows;
    sdk::for_each_jsonl(file, [&](json&& row, std::size_t line) {
        auto it = row.find(p.text_field);
        if (it == row.end() || !it->is_string())
            throw StageError(fmt::format(
                "{}:{}: field '{}' is {}; every row needs its text as a string (text_field = "
                "\"{}\")",
                file.string(), line, p.text_field, it == row.end() ? "missing" : it->type_name(),
                p.text_field));
        if (auto m = row.find(p.mark_field); m != row.end() && !m->is_boolean())
            throw StageError(fmt::format(
                "{}:{}: the rows already have a field '{}' holding {}, which the augmentation "
                "mark would overwrite; set mark_field to another name",
                file.string(), line, p.mark_field, m->type_name()));
        rows.push_back({std::move(row), line});
    });
    return rows;
}

}  // namespace

sdk::Descriptor AugmentStage::describe() {
    return sdk::Descriptor(
               "augment", "1",
               "Label-preserving text augmentation with EDA (Wei & Zou 2019): each row gets "
               "per_example copies, each made by one operation (synonym replacement, random "
               "insertion of a synonym, random swap, random deletion), the enabled operations "
               "taken in turn in a seeded order. Synonyms come from WordNet (Debian wordnet-base), "
               "from the part of speech in which WordNet lists the most senses for the word; "
               "stopwords, numbers and inflected forms that are not WordNet lemmas are never "
               "replaced. A copy changes only the text field (re-joined with single spaces) and "
               "gets mark_field = true; originals get mark_field = false if they lack it; labels "
               "and all other fields are kept. A copy that would equal its row is dropped. "
               "Deterministic for a seed, whatever the thread count. Augment only training data: "
               "the validator refuses a split downstream of this stage. The WordNet files are "
               "not part of the cache key (WordNet 3.0 does not change). Metrics: rows_in, "
               "rows_out, copies, copies_<op>, words_<op> (words replaced/inserted/deleted, "
               "swaps), copies_unchanged, words_looked_up, words_no_synonym.")
        .input("data", "jsonl", "rows to augment (training rows only)")
        .output("data", "jsonl", "the rows, each followed by its augmented copies")
        .augmented_output()
        .param_int("per_example", 4, "augmented copies per row (EDA's n_aug)", 0, 64)
        .param_bool("keep_original", true, "write the original rows too")
        .param_float("synonym_rate", 0.1,
                     "synonym replacement: share of the words replaced (EDA alpha_sr; at least "
                     "one word); 0 disables",
                     0.0, 1.0)
        .param_float("insert_rate", 0.1,
                     "random insertion: synonyms of random words inserted at random places, as a "
                     "share of the words (EDA alpha_ri; at least one); 0 disables",
                     0.0, 1.0)
        .param_float("swap_rate", 0.1,
                     "random swap: pairs of words swapped, as a share of the words (EDA "
                     "alpha_rs; at least one); 0 disables",
                     0.0, 1.0)
        .param_float("delete_prob", 0.1,
                     "random deletion: each word's deletion probability (EDA p_rd; one word is "
                     "always kept); 0 disables",
                     0.0, 1.0)
        .param_int("senses", 0,
                   "synonyms come from the word's first `senses` senses (most frequent first); 0 "
                   "= all senses, as EDA",
                   0)
        .param("extra_stopwords", "list<string>", json::array(),
               "words never replaced, in addition to the built-in English function words")
        .param_string("wordnet", "/usr/share/wordnet",
                      "directory with WordNet's index.<pos> and data.<pos> files (relative to "
                      "the pipeline file); read only when synonym_rate or insert_rate > 0")
        .param_string("text_field", "text", "field holding the text; the only field changed")
        .param_string("mark_field", "augmented",
                      "field set to true on augmented copies (false on originals that lack "
                      "it); the split stage refuses rows with \"augmented\": true at run time, so "
                      "another name loses that second guard")
        .param_int("seed", -1, "-1 = the pipeline's per-stage seed, else this seed", -1);
}

void AugmentStage::run(sdk::RunContext& ctx) {
    const Params p = read_params(ctx);
    const fs::path input = ctx.input("data");

    std::optional<WordNet> wn;
    if (p.eda.synonym_rate > 0 || p.eda.insert_rate > 0) {
        try {
            wn = WordNet::load(p.wordnet);
        } catch (const std::runtime_error& e) {
            throw StageError(fmt::format("wordnet = \"{}\": {}", p.wordnet.string(), e.what()));
        }
        ctx.info("WordNet {}: {} lemmas, {} synsets", p.wordnet.string(), wn->lemma_count(),
                 wn->synset_count());
    }
    const Thesaurus th(wn ? &*wn : nullptr, p.eda);
    std::vector<Op> ops;
    if (p.eda.synonym_rate > 0) ops.push_back(Op::synonym);
    if (p.eda.insert_rate > 0) ops.push_back(Op::insert);
    if (p.eda.swap_rate > 0) ops.push_back(Op::swap);
    if (p.eda.delete_prob > 0) ops.push_back(Op::del);

    const std::vector<Row> rows = read_rows(input, p);
    std::vector<RowResult> results(rows.size());

    // Rows are independent (each has its own generator), so threads only change the speed.
    const std::size_t workers = std::clamp<std::size_t>(
        static_cast<std::size_t>(std::max(1, ctx.threads())), 1, std::max<std::size_t>(1, rows.size()));
    std::atomic<std::size_t> next{0};
    std::atomic<bool> stop{false};
    std::exception_ptr failure;
    std::mutex failure_mu;
    auto work = [&] {
        try {
            for (std::size_t i = next++; i < rows.size() && !stop; i = next++) {
                if (i % 256 == 0 && ctx.cancelled()) throw sdk::Cancelled();
                results[i] = augment_row(rows[i], i, p, th, ops);
            }
        } catch (...) {
            std::lock_guard lock(failure_mu);
            if (!failure) failure = std::current_exception();
            stop = true;
        }
    };
    std::vector<std::thread> pool;
    for (std::size_t t = 1; t < workers; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    if (failure) std::rethrow_exception(failure);

    sdk::JsonlWriter out(ctx.output("data"));
    std::array<std::size_t, kOpCount> copies{}, edits{};
    std::size_t unchanged = 0, looked_up = 0, no_synonym = 0, written = 0;
    for (const auto& r : results) {
        for (const auto& row : r.out) out.write(row);
        written += r.out.size();
        for (std::size_t k = 0; k < kOpCount; ++k) {
            copies[k] += r.copies[k];
            edits[k] += r.edits[k];
        }
        unchanged += r.unchanged;
        looked_up += r.looked_up;
        no_synonym += r.no_synonym;
    }
    out.close();

    std::size_t all_copies = 0;
    ctx.metric("rows_in", static_cast<double>(rows.size()));
    ctx.metric("rows_out", static_cast<double>(written));
    for (std::size_t k = 0; k < kOpCount; ++k) {
        const char* name = op_name(static_cast<Op>(k));
        ctx.metric(fmt::format("copies_{}", name), static_cast<double>(copies[k]));
        ctx.metric(fmt::format("words_{}", name), static_cast<double>(edits[k]));
        all_copies += copies[k];
    }
    ctx.metric("copies", static_cast<double>(all_copies));
    ctx.metric("copies_unchanged", static_cast<double>(unchanged));
    if (wn) {
        ctx.metric("words_looked_up", static_cast<double>(looked_up));
        ctx.metric("words_no_synonym", static_cast<double>(no_synonym));
    }
    ctx.info("{} rows -> {} rows ({} augmented copies; {} copies dropped as unchanged)",
             rows.size(), written, all_copies, unchanged);
    if (unchanged > 0 && all_copies == 0)
        ctx.warn("no copy differs from its row: the texts may be too short or have no words "
                 "with WordNet synonyms");
}

}  // namespace graft::augment
