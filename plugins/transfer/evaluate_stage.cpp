// `evaluate`: a checkpoint on labelled rows (classifiers: accuracy, macro and per-class P/R/F1,
// ROC-AUC, confusion matrix), on tagged rows (token classifiers: token accuracy and macro F1 over
// tags, scored on each word's first sub-word) or on text (language models: perplexity).
#include "common.hpp"
#include "stages.hpp"

#include "ml/metrics/classification.hpp"

#include <graft/jsonl.hpp>

#include <fstream>

namespace graft::transfer {

sdk::Descriptor EvaluateStage::describe() {
    return with_truncation_param(sdk::Descriptor("evaluate", "1",
                           "Evaluates a checkpoint: classifiers on labelled rows (accuracy, macro "
                           "and per-class precision/recall/F1, ROC-AUC, confusion matrix), token "
                           "classifiers on {\"tokens\", \"tags\"} rows (token accuracy, macro F1 "
                           "over tags), language models on text (perplexity). Writes a JSON report.")
        .exclusive()  // LibTorch thread pool
        .input_dir("model", "model", "checkpoint to evaluate")
        .input("data", "jsonl", "rows to evaluate on")
        .refuses_augmented_input()  // evaluation rows must be real
        .input_dir("tokenizer", "tokenizer", "tokenizer (default: the checkpoint's)", true)
        .output("metrics", "metrics", "the report (JSON)")
        .output("predictions", "jsonl", "classifiers: each row's label, prediction, class probabilities (scores) and logits")
        .param_int("batch_size", 64, "rows per batch", 1)
        .param_int("max_len", 256, "tokens per row (longer rows are truncated)", 8, 4096)
        .param_string("text_field", "text", "field holding the text")
        .param_string("label_field", "label", "field holding the class label")
        .param_string("tokens_field", "tokens", "token classifiers: field holding the words")
        .param_string("tags_field", "tags", "token classifiers: field holding one tag per word"),
        true);
}

void EvaluateStage::run(sdk::RunContext& ctx) {
    init_torch(ctx, "fp32");
    const auto dir = ctx.input("model");
    std::filesystem::path tok_file;
    const ml::Tokenizer tok = load_tokenizer(ctx.optional_input("tokenizer"), dir, &tok_file);
    auto loaded = ml::load_checkpoint(dir);
    auto model = loaded.model;
    model->eval();
    torch::NoGradGuard no_grad;
    const auto& arch = model->architecture();
    const auto max_len = static_cast<std::size_t>(
        std::min<std::int64_t>(ctx.param<std::int64_t>("max_len"), arch.encoder.max_len()));
    const auto batch_size = ctx.param<std::int64_t>("batch_size");
    sdk::json report;

    if (arch.is_language_model()) {
        const TextRows rows = read_rows(ctx.input("data"), ctx.param<std::string>("text_field"), "");
        LmTask task(model, tok, 0.15, ctx.seed());
        const auto windows = encode_chunks(tok, rows.texts, max_len);
        const auto r = task.evaluate(ml::make_eval_batches(windows, batch_size, {tok.pad_id().value_or(0), ml::LabelKind::none, 0}));
        report = {{"perplexity", r.metrics.at("perplexity")}, {"loss", r.metrics.at("loss")},
                  {"windows", windows.size()}, {"objective", ml::to_string(arch.head)}};
        ctx.metric("perplexity", r.metrics.at("perplexity"));
        sdk::JsonlWriter(ctx.output("predictions")).close();
    } else if (arch.head == ml::HeadKind::sequence_classification) {
        const TextRows rows = read_rows(ctx.input("data"), ctx.param<std::string>("text_field"),
                                        ctx.param<std::string>("label_field"));
        std::size_t truncated = 0;
        const ml::Truncation truncation = read_truncation_param(ctx, &arch);
        const auto examples = encode_rows(tok, rows.texts, max_len, &truncated, truncation);
        if (truncated)
            ctx.info("{} rows longer than {} tokens were truncated (truncation = {})", truncated, max_len,
                     ml::to_string(truncation));
        ml::ClassScores scores{arch.labels, std::vector<std::vector<double>>(examples.size()), true};
        ml::Labels pred(examples.size());
        std::vector<std::vector<double>> logits(examples.size());
        const auto batches = ml::make_eval_batches(examples, batch_size, {tok.pad_id().value_or(0), ml::LabelKind::none, 0});
        std::size_t done = 0;
        for (const auto& b : batches) {
            const auto out = model->forward(b.ids, b.attention_mask).to(torch::kFloat64).contiguous();
            const auto probs = torch::softmax(out, -1).contiguous();
            const auto* p = probs.data_ptr<double>();
            const auto* l = out.data_ptr<double>();
            const auto k = static_cast<std::size_t>(probs.size(1));
            for (std::size_t j = 0; j < b.indices.size(); ++j) {
                logits[b.indices[j]].assign(l + j * k, l + (j + 1) * k);
                auto& row = scores.rows[b.indices[j]];
                row.assign(p + j * k, p + (j + 1) * k);
                pred[b.indices[j]] = arch.labels[static_cast<std::size_t>(std::max_element(row.begin(), row.end()) - row.begin())];
            }
            done += b.indices.size();
            ctx.progress(done, examples.size(), "rows");
            ctx.check_cancelled();
        }
        // Labels the model never saw are reported, not fatal: the report carries a note.
        const auto r = ml::classification_report(rows.labels, pred, &scores);
        report = r.to_json();
        ctx.metric("accuracy", r.accuracy);
        ctx.metric("macro_f1", r.macro.f1);
        if (r.roc_auc) ctx.metric("roc_auc", *r.roc_auc);
        ctx.metric("rows", static_cast<double>(examples.size()));
        sdk::JsonlWriter out(ctx.output("predictions"));
        for (std::size_t i = 0; i < examples.size(); ++i) {
            sdk::json s = sdk::json::object();
            for (std::size_t c = 0; c < arch.labels.size(); ++c) s[arch.labels[c]] = scores.rows[i][c];
            // logits: the model's float32 outputs, exact as doubles (what graft predict prints too).
            out.write({{"label", rows.labels[i]}, {"pred", pred[i]}, {"scores", s}, {"logits", logits[i]}});
        }
        out.close();
        ctx.info("accuracy {:.4f}, macro F1 {:.4f} on {} rows", r.accuracy, r.macro.f1, examples.size());
    } else {
        const TaggedRows rows = read_tagged_rows(ctx.input("data"), ctx.param<std::string>("tokens_field"),
                                                 ctx.param<std::string>("tags_field"));
        const auto enc = encode_tagged(tok, rows, max_len, [](const std::string&) { return std::int64_t{0}; });
        if (enc.truncated_words || enc.dropped_words)
            ctx.warn("{} words past max_len = {} and {} words without sub-words are not scored",
                     enc.truncated_words, max_len, enc.dropped_words);
        std::vector<std::vector<std::string>> pred(enc.examples.size());
        const auto batches = ml::make_eval_batches(enc.examples, batch_size, {tok.pad_id().value_or(0), ml::LabelKind::none, 0});
        std::size_t done = 0;
        for (const auto& b : batches) {
            const auto best = model->forward(b.ids, b.attention_mask).argmax(-1).contiguous();
            const auto* p = best.data_ptr<std::int64_t>();
            const auto t = best.size(1);
            for (std::size_t j = 0; j < b.indices.size(); ++j)
                for (const auto pos : enc.first_piece[b.indices[j]])
                    pred[b.indices[j]].push_back(
                        arch.labels[static_cast<std::size_t>(p[static_cast<std::int64_t>(j) * t + static_cast<std::int64_t>(pos)])]);
            done += b.indices.size();
            ctx.progress(done, enc.examples.size(), "rows");
            ctx.check_cancelled();
        }
        // Scored words: every word that got a first sub-word (in sentence order), gold vs predicted.
        ml::Labels gold_words, pred_words;
        for (std::size_t i = 0; i < rows.tags.size(); ++i) {
            std::size_t w = 0;
            for (std::size_t k = 0; k < rows.tokens[i].size() && w < pred[i].size(); ++k) {
                if (tok.encode(rows.tokens[i][k]).ids.empty()) continue;  // never scored
                gold_words.push_back(rows.tags[i][k]);
                pred_words.push_back(pred[i][w++]);
            }
        }
        const auto r = ml::classification_report(gold_words, pred_words, nullptr);
        report = r.to_json();
        report["task"] = "token_classification";
        report["token_accuracy"] = r.accuracy;
        report["sentences"] = rows.tokens.size();
        report["scored_words"] = gold_words.size();
        ctx.metric("token_accuracy", r.accuracy);
        ctx.metric("macro_f1", r.macro.f1);
        ctx.metric("words", static_cast<double>(gold_words.size()));
        sdk::JsonlWriter out(ctx.output("predictions"));
        for (std::size_t i = 0; i < rows.tokens.size(); ++i)
            out.write({{"tokens", rows.tokens[i]}, {"tags", rows.tags[i]}, {"pred", pred[i]}});
        out.close();
        ctx.info("token accuracy {:.4f}, macro F1 over tags {:.4f} on {} words", r.accuracy, r.macro.f1,
                 gold_words.size());
    }
    report["checkpoint"] = dir.filename().string();
    std::ofstream(ctx.output("metrics")) << report.dump(2) << '\n';
}

}  // namespace graft::transfer
