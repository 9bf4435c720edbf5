#include "common.hpp"

#include <graft/jsonl.hpp>

#include <cmath>

namespace graft::transfer {

TextRows read_rows(const std::filesystem::path& file, const std::string& text_field,
                   const std::string& label_field) {
    TextRows rows;
    sdk::for_each_jsonl(file, [&](sdk::json&& row, std::size_t line) {
        auto t = row.find(text_field);
        if (t == row.end() || !t->is_string())
            throw sdk::StageError(fmt::format("{}:{}: no string field '{}' (set text_field)",
                                              file.string(), line, text_field));
        rows.texts.push_back(t->get<std::string>());
        if (label_field.empty()) return;
        auto l = row.find(label_field);
        if (l == row.end() || l->is_null())
            throw sdk::StageError(fmt::format(
                "{}:{}: no label field '{}' (set label_field, or drop unlabelled rows with "
                "text.clean require_label = true)",
                file.string(), line, label_field));
        rows.labels.push_back(l->is_string() ? l->get<std::string>() : l->dump());
    });
    if (rows.texts.empty())
        throw sdk::StageError(fmt::format("{} is empty: nothing to train or evaluate on", file.string()));
    return rows;
}

ml::Tokenizer load_tokenizer(const std::optional<std::filesystem::path>& tokenizer_dir,
                             const std::optional<std::filesystem::path>& checkpoint_dir,
                             std::filesystem::path* used) {
    std::vector<std::filesystem::path> candidates;
    if (tokenizer_dir) candidates.push_back(*tokenizer_dir / "tokenizer.json");
    if (checkpoint_dir) candidates.push_back(*checkpoint_dir / ml::kCheckpointTokenizerFile);
    for (const auto& c : candidates) {
        if (std::filesystem::exists(c)) {
            if (used) *used = c;
            return ml::Tokenizer::load(c);
        }
    }
    throw sdk::StageError(
        "no tokenizer: connect a 'tokenizer' input (a tokenizer stage's output) or a 'model' "
        "checkpoint that contains tokenizer.json");
}

namespace {

std::vector<std::int64_t> widen(const std::vector<std::int32_t>& ids) {
    return {ids.begin(), ids.end()};
}

}  // namespace

sdk::Descriptor with_dropout_params(sdk::Descriptor d) {
    d        .param_float("dropout", -1,
                     "encoder dropout (embeddings, residual branches) while training; -1 keeps the "
                     "checkpoint's (the model default 0.1 without one)", -1, 0.9)
        .param_float("attention_dropout", -1,
                     "dropout on attention probabilities while training; -1 keeps the checkpoint's "
                     "(0.1 without one)", -1, 0.9);
    return d;
}

DropoutOverride read_dropout_params(sdk::RunContext& ctx) {
    const auto rate = [&](const char* name) -> std::optional<double> {
        const double v = ctx.param<double>(name);
        return v < 0 ? std::nullopt : std::optional<double>(v);
    };
    return {rate("dropout"), rate("attention_dropout")};
}

void DropoutOverride::apply(ml::TransformerEncoderOptions& encoder) const {
    if (dropout) encoder.dropout(*dropout);
    if (attention_dropout) encoder.attention_dropout(*attention_dropout);
}

void DropoutOverride::apply(ml::TransferOptions& transfer) const {
    transfer.dropout = dropout;
    transfer.attention_dropout = attention_dropout;
}

std::vector<ml::Example> encode_rows(const ml::Tokenizer& tok, const std::vector<std::string>& texts,
                                     std::size_t max_len, std::size_t* truncated,
                                     ml::Truncation truncation) {
    std::vector<ml::Example> out;
    out.reserve(texts.size());
    for (const auto& t : texts) {
        auto enc = tok.encode_for_model(t, max_len, true, truncation);
        if (truncated && enc.truncated()) ++*truncated;
        out.push_back({widen(enc.ids), {}});
    }
    return out;
}

sdk::Descriptor with_truncation_param(sdk::Descriptor d, bool follow_model) {
    const std::string what =
        "which tokens of a row longer than max_len are kept: head (the first), tail (the last) or "
        "head_tail (the first quarter and the last three quarters, Sun et al. 2019)";
    if (!follow_model) return d.param_string("truncation", "head", what, {"head", "tail", "head_tail"});
    return d.param_string("truncation", kTruncationFollowModel,
                          what + "; \"model\" follows the classifier's own (what it was fine-tuned with)",
                          {kTruncationFollowModel, "head", "tail", "head_tail"});
}

ml::Truncation read_truncation_param(sdk::RunContext& ctx, const ml::ModelArchitecture* model) {
    const std::string name = ctx.param<std::string>("truncation");
    if (name == kTruncationFollowModel) return model ? model->truncation : ml::Truncation::head;
    const auto t = ml::truncation_from_string(name);
    if (!t) throw sdk::StageError(fmt::format("truncation = \"{}\": expected head, tail or head_tail", name));
    return *t;
}

std::vector<ml::Example> encode_chunks(const ml::Tokenizer& tok, const std::vector<std::string>& texts,
                                       std::size_t max_len) {
    if (max_len < 8) throw sdk::StageError("max_len must be at least 8");
    const auto cls = tok.cls_id(), sep = tok.sep_id();
    const std::size_t room = max_len - (cls ? 1 : 0) - (sep ? 1 : 0);
    std::vector<ml::Example> out;
    for (const auto& t : texts) {
        const auto enc = tok.encode(t);
        for (std::size_t i = 0; i < enc.ids.size(); i += room) {
            ml::Example ex;
            if (cls) ex.ids.push_back(*cls);
            const std::size_t end = std::min(enc.ids.size(), i + room);
            for (std::size_t k = i; k < end; ++k) ex.ids.push_back(enc.ids[k]);
            if (sep) ex.ids.push_back(*sep);
            if (end - i >= 4) out.push_back(std::move(ex));  // skip slivers
        }
    }
    return out;
}

TaggedRows read_tagged_rows(const std::filesystem::path& file, const std::string& tokens_field,
                            const std::string& tags_field) {
    TaggedRows rows;
    auto strings = [&](const sdk::json& row, const std::string& field, std::size_t line) {
        auto f = row.find(field);
        if (f == row.end() || !f->is_array() || f->empty())
            throw sdk::StageError(fmt::format(
                "{}:{}: no non-empty array field '{}' (token classification reads pre-tokenized "
                "rows such as text.brown writes; set tokens_field / tags_field)",
                file.string(), line, field));
        std::vector<std::string> out;
        for (const auto& v : *f) {
            if (!v.is_string())
                throw sdk::StageError(fmt::format("{}:{}: '{}' holds {}, expected strings", file.string(),
                                                  line, field, v.dump()));
            out.push_back(v.get<std::string>());
        }
        return out;
    };
    sdk::for_each_jsonl(file, [&](sdk::json&& row, std::size_t line) {
        auto words = strings(row, tokens_field, line);
        auto tags = strings(row, tags_field, line);
        if (words.size() != tags.size())
            throw sdk::StageError(fmt::format("{}:{}: {} tokens but {} tags; each token needs one tag",
                                              file.string(), line, words.size(), tags.size()));
        rows.tokens.push_back(std::move(words));
        rows.tags.push_back(std::move(tags));
    });
    if (rows.tokens.empty())
        throw sdk::StageError(fmt::format("{} is empty: nothing to train or evaluate on", file.string()));
    return rows;
}

TaggedExamples encode_tagged(const ml::Tokenizer& tok, const TaggedRows& rows, std::size_t max_len,
                             const std::function<std::int64_t(const std::string&)>& tag_id) {
    if (max_len < 8) throw sdk::StageError("max_len must be at least 8");
    const auto cls = tok.cls_id(), sep = tok.sep_id();
    const std::size_t room = max_len - (sep ? 1 : 0);
    TaggedExamples out;
    for (std::size_t i = 0; i < rows.tokens.size(); ++i) {
        ml::Example ex;
        std::vector<std::size_t> first;
        if (cls) {
            ex.ids.push_back(*cls);
            ex.labels.push_back(ml::kIgnoreIndex);
        }
        for (std::size_t w = 0; w < rows.tokens[i].size(); ++w) {
            const auto pieces = tok.encode(rows.tokens[i][w]).ids;
            if (pieces.empty()) {
                ++out.dropped_words;
                continue;
            }
            if (ex.ids.size() + pieces.size() > room) {
                out.truncated_words += rows.tokens[i].size() - w;
                break;
            }
            first.push_back(ex.ids.size());
            for (std::size_t k = 0; k < pieces.size(); ++k) {
                ex.ids.push_back(pieces[k]);
                ex.labels.push_back(k == 0 ? tag_id(rows.tags[i][w]) : ml::kIgnoreIndex);
            }
        }
        if (sep) {
            ex.ids.push_back(*sep);
            ex.labels.push_back(ml::kIgnoreIndex);
        }
        out.examples.push_back(std::move(ex));
        out.first_piece.push_back(std::move(first));
    }
    return out;
}

void assign_class_labels(const TextRows& rows, const std::map<std::string, std::int64_t>& ids,
                         const std::filesystem::path& file, const std::string& whose, const std::string& fix,
                         std::vector<ml::Example>& examples) {
    for (std::size_t i = 0; i < rows.labels.size(); ++i) {
        const auto it = ids.find(rows.labels[i]);
        if (it == ids.end()) {
            std::vector<std::string> known;
            for (const auto& [k, v] : ids) known.push_back(k);
            throw sdk::StageError(fmt::format("{}: row {} has label '{}', which the {} does not predict (its "
                                              "labels: {}); {}",
                                              file.string(), i + 1, rows.labels[i], whose,
                                              fmt::join(known, ", "), fix));
        }
        examples[i].labels = {it->second};
    }
}

ml::Precision init_torch(sdk::RunContext& ctx, const std::string& precision) {
    const ml::Precision p = ml::parse_precision(precision);
    const auto info = ml::init_runtime(ctx.threads(), p);
    ctx.info("LibTorch: {} thread(s){}, fp32 matmul {:.1f} GFLOP/s, precision {}{}", info.threads,
             info.blas_threads > 0 ? fmt::format(" (OpenBLAS pool {})", info.blas_threads) : "",
             info.matmul_gflops, ml::to_string(p),
             info.malloc_tuned ? "" : "; glibc malloc left untuned");
    if (!info.warning.empty()) ctx.warn("{}", info.warning);
    return p;
}

ml::ProgressCallback progress_to(sdk::RunContext& ctx) {
    auto last_decile = std::make_shared<std::int64_t>(-1);
    return [&ctx, last_decile](const ml::Progress& p) {
        ctx.progress(static_cast<std::uint64_t>(p.step), static_cast<std::uint64_t>(p.total_steps), "steps");
        const std::int64_t decile = p.total_steps > 0 ? p.step * 10 / p.total_steps : 0;
        if (decile != *last_decile) {
            *last_decile = decile;
            ctx.info("step {}/{} epoch {} loss {:.4f} lr {:.2e} {:.0f} tok/s ETA {:.0f}s", p.step,
                     p.total_steps, p.epoch, p.loss, p.lr, p.tokens_per_s, p.eta_s);
        }
        ctx.check_cancelled();
    };
}

LmTask::LmTask(ml::TaskModelPtr model, const ml::Tokenizer& tok, double mask_prob, std::uint64_t seed)
    : model_(std::move(model)), causal_(model_->head_kind() == ml::HeadKind::clm) {
    if (!causal_) {
        if (!tok.mask_id())
            throw sdk::StageError("objective mlm needs a tokenizer with a mask token ([MASK])");
        mlm_.mask_id = *tok.mask_id();
        mlm_.vocab_size = static_cast<std::int64_t>(tok.vocab_size());
        for (auto id : {tok.pad_id(), tok.cls_id(), tok.sep_id(), tok.unk_id(), tok.mask_id(), tok.eos_id()})
            if (id) mlm_.special_ids.push_back(*id);
        mlm_.mask_prob = mask_prob;
        mlm_.seed = seed;
        masker_.emplace(mlm_);
    }
}

ml::Batch LmTask::with_labels(const ml::Batch& batch, ml::MlmMasker* masker) const {
    if (masker) return masker->apply(batch);
    ml::Batch b = batch;  // causal: predict every real next token
    b.labels = batch.ids.masked_fill(batch.attention_mask == 0, ml::kIgnoreIndex);
    return b;
}

ml::Batch LmTask::prepare(ml::Batch batch) { return with_labels(batch, masker_ ? &*masker_ : nullptr); }

torch::Tensor LmTask::loss(const ml::Batch& batch) {
    return model_->forward_loss(batch.ids, batch.attention_mask, batch.labels);
}

double LmTask::loss_weight(const ml::Batch& batch) const {
    // Mean over predicted tokens: weight micro-batches by how many they predict. A causal model
    // predicts every real token but the first of each sequence. 0 makes the trainer skip a batch
    // in which masking selected nothing (its loss would be NaN).
    auto predicted = (batch.labels != ml::kIgnoreIndex).sum().item<std::int64_t>();
    if (causal_) predicted -= (batch.attention_mask.sum(1) > 0).sum().item<std::int64_t>();
    return static_cast<double>(std::max<std::int64_t>(0, predicted));
}

void LmTask::save_state(torch::serialize::OutputArchive& archive) const {
    if (masker_) archive.write("mlm_generator", masker_->generator_state(), /*is_buffer=*/true);
}

void LmTask::load_state(torch::serialize::InputArchive& archive) {
    if (!masker_) return;
    torch::Tensor state;
    archive.read("mlm_generator", state, /*is_buffer=*/true);
    masker_->set_generator_state(state);
}

ml::EvalResult LmTask::evaluate(const std::vector<ml::Batch>& batches) {
    // Fixed masks (a fresh masker with a fixed seed) so evaluations are comparable.
    std::optional<ml::MlmMasker> eval_masker;
    if (!causal_) {
        auto o = mlm_;
        o.seed = 1234567;
        eval_masker.emplace(o);
    }
    torch::NoGradGuard no_grad;
    double nll = 0, tokens = 0;
    for (const auto& raw : batches) {
        const ml::Batch b = with_labels(raw, eval_masker ? &*eval_masker : nullptr);
        const double w = loss_weight(b);
        if (w <= 0) continue;
        nll += loss(b).item<double>() * w;
        tokens += w;
    }
    const double mean = tokens > 0 ? nll / tokens : 0.0;
    return {{{"loss", mean}, {"perplexity", std::exp(mean)}}};
}

torch::Tensor ClassifyTask::loss(const ml::Batch& batch) {
    return model_->loss(model_->forward(batch.ids, batch.attention_mask), batch.labels);
}

double ClassifyTask::loss_weight(const ml::Batch& batch) const {
    if (!tokens_) return static_cast<double>(batch.size());
    return (batch.labels != ml::kIgnoreIndex).sum().item<double>();  // 0: the trainer skips it
}

ml::EvalResult ClassifyTask::evaluate(const std::vector<ml::Batch>& batches) {
    torch::NoGradGuard no_grad;
    double loss_sum = 0, correct = 0, n = 0;
    for (const auto& b : batches) {
        const double w = loss_weight(b);
        if (w <= 0) continue;
        const auto logits = model_->forward(b.ids, b.attention_mask);
        loss_sum += model_->loss(logits, b.labels).item<double>() * w;
        const auto labelled = b.labels != ml::kIgnoreIndex;
        correct += ((logits.argmax(-1) == b.labels) & labelled).sum().item<double>();
        n += w;
    }
    return {{{"loss", loss_sum / std::max(1.0, n)}, {"accuracy", correct / std::max(1.0, n)}}};
}

std::int64_t count_parameters(torch::nn::Module& m, bool trainable_only) {
    std::int64_t n = 0;
    for (const auto& p : m.parameters())
        if (!trainable_only || p.requires_grad()) n += p.numel();
    return n;
}

}  // namespace graft::transfer
