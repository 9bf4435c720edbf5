// `featurize`: pooled sentence embeddings from a frozen encoder (any checkpoint: a pretrained
// language model or a fine-tuned classifier), written as a features file for `classic` (the
// feature-extraction recipe: frozen encoder + linear model).
//
// Features file (port type "features"), JSONL:
//   line 1   {"format": "graft.features/1", "dim": D, "rows": N, "pooling": "mean" | "cls",
//             "layer": L, "checkpoint": "<dir name>", "label_field": "<field>"}
//   line 2.. {"features": [D numbers], "label": <the row's label, when it has one>}
// Rows keep the order of the input file. Readers check the "format" string (magic + version).
#include "common.hpp"
#include "stages.hpp"

#include <graft/jsonl.hpp>

namespace graft::transfer {

namespace {

constexpr const char* kFeaturesFormat = "graft.features/1";

struct FeatureRows {
    std::vector<std::string> texts;
    std::vector<sdk::json> labels;  // null where the row has no label
};

FeatureRows read_feature_rows(const std::filesystem::path& file, const std::string& text_field,
                              const std::string& label_field) {
    FeatureRows rows;
    sdk::for_each_jsonl(file, [&](sdk::json&& row, std::size_t line) {
        auto t = row.find(text_field);
        if (t == row.end() || !t->is_string())
            throw sdk::StageError(fmt::format("{}:{}: no string field '{}' (set text_field)",
                                              file.string(), line, text_field));
        rows.texts.push_back(t->get<std::string>());
        auto l = row.find(label_field);
        rows.labels.push_back(l == row.end() ? sdk::json() : *l);
    });
    if (rows.texts.empty())
        throw sdk::StageError(fmt::format("{} is empty: nothing to featurize", file.string()));
    return rows;
}

}  // namespace

sdk::Descriptor FeaturizeStage::describe() {
    return with_truncation_param(sdk::Descriptor("featurize", "1",
                           "Exports pooled embeddings of each row from a frozen encoder (a "
                           "pretrained LM or a classifier checkpoint) as a features file "
                           "(JSONL, header line {\"format\": \"graft.features/1\", \"dim\", ...}, "
                           "then {\"features\": [...], \"label\": ...} per row) for 'classic'.")
        .exclusive()  // LibTorch thread pool
        .input_dir("model", "model", "checkpoint whose encoder embeds the rows")
        .input("data", "jsonl", "rows to embed (labels, when present, are carried through)")
        .input_dir("tokenizer", "tokenizer", "tokenizer (default: the checkpoint's)", true)
        .output("features", "features", "header line + one {\"features\", \"label\"} row per input row")
        .param_string("pooling", "mean", "mean over real tokens, or the first ([CLS]) position",
                      {"mean", "cls"})
        .param_int("layer", -1,
                   "hidden layer to pool: 0 = embeddings, k = output of block k, -1 = last", -1)
        .param_int("max_len", 256, "tokens per row (longer rows are truncated)", 8, 4096)
        .param_int("batch_size", 64, "rows per batch", 1)
        .param_string("text_field", "text", "field holding the text")
        .param_string("label_field", "label", "field carried through as the row's label"),
        true);
}

void FeaturizeStage::run(sdk::RunContext& ctx) {
    init_torch(ctx, "fp32");
    const auto dir = ctx.input("model");
    const ml::Tokenizer tok = load_tokenizer(ctx.optional_input("tokenizer"), dir);
    auto loaded = ml::load_checkpoint(dir);
    auto model = loaded.model;
    model->eval();
    torch::NoGradGuard no_grad;
    const auto& arch = model->architecture();
    const auto n_layers = arch.encoder.n_layers();
    const auto layer_param = ctx.param<std::int64_t>("layer");
    if (layer_param > n_layers)
        throw sdk::StageError(fmt::format(
            "featurize: param layer = {} but the checkpoint '{}' has {} layer(s); use 0..{} "
            "(0 = embeddings) or -1 for the last",
            layer_param, dir.filename().string(), n_layers, n_layers));
    const std::int64_t layer = layer_param < 0 ? n_layers : layer_param;
    const auto pooling = ctx.param<std::string>("pooling");
    const bool causal = arch.head == ml::HeadKind::clm;
    if (causal && pooling == "cls")
        ctx.warn("pooling 'cls' on a causal LM sees only the first token; 'mean' is the usual choice");
    const auto max_len = static_cast<std::size_t>(
        std::min<std::int64_t>(ctx.param<std::int64_t>("max_len"), arch.encoder.max_len()));

    const auto label_field = ctx.param<std::string>("label_field");
    const FeatureRows rows = read_feature_rows(ctx.input("data"), ctx.param<std::string>("text_field"), label_field);
    std::size_t truncated = 0;
    const ml::Truncation truncation = read_truncation_param(ctx, &arch);
    const auto examples = encode_rows(tok, rows.texts, max_len, &truncated, truncation);
    if (truncated)
        ctx.info("{} rows longer than {} tokens were truncated (truncation = {})", truncated, max_len,
                 ml::to_string(truncation));

    const auto dim = arch.encoder.d_model();
    std::vector<std::vector<float>> features(examples.size());
    const auto batches = ml::make_eval_batches(
        examples, ctx.param<std::int64_t>("batch_size"), {tok.pad_id().value_or(0), ml::LabelKind::none, 0});
    std::size_t done = 0;
    for (const auto& b : batches) {
        const auto out = model->encoder()->forward_all(b.ids, b.attention_mask, causal, true);
        const auto& hidden = out.hidden_states.at(static_cast<std::size_t>(layer));
        const auto pooled = ml::pool_hidden_states(hidden, b.attention_mask, pooling).to(torch::kFloat32).contiguous();
        const auto* p = pooled.data_ptr<float>();
        for (std::size_t j = 0; j < b.indices.size(); ++j)
            features[b.indices[j]].assign(p + static_cast<std::int64_t>(j) * dim,
                                          p + static_cast<std::int64_t>(j + 1) * dim);
        done += b.indices.size();
        ctx.progress(done, examples.size(), "rows");
        ctx.check_cancelled();
    }

    std::size_t labelled = 0;
    sdk::JsonlWriter out(ctx.output("features"));
    out.write({{"format", kFeaturesFormat}, {"dim", dim}, {"rows", features.size()},
               {"pooling", pooling}, {"layer", layer}, {"truncation", ml::to_string(truncation)},
               {"checkpoint", dir.filename().string()},
               {"label_field", label_field}});
    for (std::size_t i = 0; i < features.size(); ++i) {
        sdk::json row = {{"features", features[i]}};
        if (!rows.labels[i].is_null()) {
            row["label"] = rows.labels[i];
            ++labelled;
        }
        out.write(row);
    }
    out.close();
    ctx.metric("rows", static_cast<double>(features.size()));
    ctx.metric("dim", static_cast<double>(dim));
    ctx.info("{} rows -> {}-dim features ({} pooling, layer {} of {}), {} labelled", features.size(),
             dim, pooling, layer, n_layers, labelled);
}

}  // namespace graft::transfer
