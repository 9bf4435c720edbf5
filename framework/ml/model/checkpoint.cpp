#include "ml/model/checkpoint.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace graft::ml {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void bad(const std::string& where, const std::string& what) {
    throw CheckpointError(fmt::format("{}: {}", where, what));
}

std::string join(const std::vector<std::string>& items, size_t limit = 20) {
    std::string out;
    for (size_t i = 0; i < items.size() && i < limit; ++i) {
        out += (i ? ", " : "") + items[i];
    }
    if (items.size() > limit) {
        out += fmt::format(", ... ({} more)", items.size() - limit);
    }
    return out;
}

std::string shape_string(const torch::Tensor& t) {
    std::string s = "[";
    for (int64_t i = 0; i < t.dim(); ++i) {
        s += (i ? ", " : "") + std::to_string(t.size(i));
    }
    return s + "]";
}

bool starts_with(const std::string& s, const std::string& prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}

// Keys of `json` must all be in `allowed`; says which one is not and what is accepted.
void check_keys(const nlohmann::json& json, const std::string& where,
                const std::vector<std::string>& allowed) {
    if (!json.is_object()) {
        bad(where, fmt::format("expected a JSON object, got {}", json.type_name()));
    }
    for (const auto& [key, value] : json.items()) {
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
            bad(where, fmt::format("unknown key \"{}\" (expected: {})", key, join(allowed)));
        }
    }
}

const nlohmann::json& required(const nlohmann::json& json, const std::string& where,
                               const std::string& key) {
    if (!json.contains(key)) {
        bad(where, fmt::format("missing key \"{}\"", key));
    }
    return json.at(key);
}

int64_t get_int(const nlohmann::json& v, const std::string& where, const std::string& key) {
    if (!v.is_number_integer()) {
        bad(where, fmt::format("\"{}\" must be an integer, got {}", key, v.dump()));
    }
    return v.get<int64_t>();
}

// Per-layer sizes, e.g. "layer_heads": [4, 3, 4].
std::vector<int64_t> get_int_array(const nlohmann::json& v, const std::string& where,
                                   const std::string& key) {
    if (!v.is_array()) {
        bad(where, fmt::format("\"{}\" must be an array of integers (one per layer), got {}", key,
                               v.dump()));
    }
    std::vector<int64_t> out;
    for (const auto& item : v) {
        out.push_back(get_int(item, where, key + "[]"));
    }
    return out;
}

double get_double(const nlohmann::json& v, const std::string& where, const std::string& key) {
    if (!v.is_number()) {
        bad(where, fmt::format("\"{}\" must be a number, got {}", key, v.dump()));
    }
    return v.get<double>();
}

bool get_bool(const nlohmann::json& v, const std::string& where, const std::string& key) {
    if (!v.is_boolean()) {
        bad(where, fmt::format("\"{}\" must be true or false, got {}", key, v.dump()));
    }
    return v.get<bool>();
}

std::string get_string(const nlohmann::json& v, const std::string& where, const std::string& key) {
    if (!v.is_string()) {
        bad(where, fmt::format("\"{}\" must be a string, got {}", key, v.dump()));
    }
    return v.get<std::string>();
}

// A path a checkpoint refers to: relative and inside the checkpoint directory, so a config.json
// can never point a loader at arbitrary files.
void check_relative(const std::string& path, const std::string& where, const std::string& key) {
    const fs::path p(path);
    bool escapes = p.empty() || p.is_absolute() || p.has_root_name();
    for (const auto& part : p) {
        escapes = escapes || part == "..";
    }
    if (escapes) {
        bad(where, fmt::format("\"{}\" must be a relative path inside the checkpoint directory, "
                               "got \"{}\"", key, path));
    }
}

std::optional<std::string> optional_path(const nlohmann::json& json, const std::string& where,
                                         const std::string& key) {
    if (!json.contains(key) || json.at(key).is_null()) {
        return std::nullopt;
    }
    auto path = get_string(json.at(key), where, key);
    check_relative(path, where, key);
    return path;
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw CheckpointError(fmt::format("cannot read {}", path.string()));
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

// ---- JSON forms -------------------------------------------------------------------------------

nlohmann::json encoder_options_to_json(const TransformerEncoderOptions& o) {
    nlohmann::json json = {{"vocab_size", o.vocab_size()},
            {"max_len", o.max_len()},
            {"d_model", o.d_model()},
            {"n_layers", o.n_layers()},
            {"n_heads", o.n_heads()},
            {"d_ff", o.d_ff()},
            {"dropout", o.dropout()},
            {"attention_dropout", o.attention_dropout()},
            {"pre_ln", o.pre_ln()},
            {"activation", o.activation()},
            {"pad_id", o.pad_id()},
            {"layer_norm_eps", o.layer_norm_eps()},
            {"tie_embeddings", o.tie_embeddings()},
            {"initializer_range", o.initializer_range()}};
    // Only structurally pruned models have per-layer widths; uniform configs stay as they were.
    if (!o.layer_heads().empty()) json["layer_heads"] = o.layer_heads();
    if (!o.layer_d_ff().empty()) json["layer_d_ff"] = o.layer_d_ff();
    // Likewise only ALiBi models say so, so configs without it are byte-for-byte as before.
    if (o.position_bias() != "none") json["position_bias"] = o.position_bias();
    return json;
}

TransformerEncoderOptions encoder_options_from_json(const nlohmann::json& json,
                                                    const std::string& where) {
    check_keys(json, where,
               {"vocab_size", "max_len", "d_model", "n_layers", "n_heads", "d_ff", "dropout",
                "attention_dropout", "pre_ln", "activation", "pad_id", "layer_norm_eps",
                "tie_embeddings", "initializer_range", "layer_heads", "layer_d_ff",
                "position_bias"});
    const auto integer = [&](const char* key) {
        return get_int(required(json, where, key), where, key);
    };
    TransformerEncoderOptions o(integer("vocab_size"));
    o.max_len(integer("max_len"))
        .d_model(integer("d_model"))
        .n_layers(integer("n_layers"))
        .n_heads(integer("n_heads"))
        .d_ff(integer("d_ff"));
    if (json.contains("dropout")) o.dropout(get_double(json["dropout"], where, "dropout"));
    if (json.contains("attention_dropout")) {
        o.attention_dropout(get_double(json["attention_dropout"], where, "attention_dropout"));
    }
    if (json.contains("pre_ln")) o.pre_ln(get_bool(json["pre_ln"], where, "pre_ln"));
    if (json.contains("activation")) {
        o.activation(get_string(json["activation"], where, "activation"));
    }
    if (json.contains("pad_id")) o.pad_id(get_int(json["pad_id"], where, "pad_id"));
    if (json.contains("layer_norm_eps")) {
        o.layer_norm_eps(get_double(json["layer_norm_eps"], where, "layer_norm_eps"));
    }
    if (json.contains("tie_embeddings")) {
        o.tie_embeddings(get_bool(json["tie_embeddings"], where, "tie_embeddings"));
    }
    if (json.contains("initializer_range")) {
        o.initializer_range(get_double(json["initializer_range"], where, "initializer_range"));
    }
    if (json.contains("position_bias")) {
        o.position_bias(get_string(json["position_bias"], where, "position_bias"));
    }
    if (json.contains("layer_heads")) {
        o.layer_heads(get_int_array(json["layer_heads"], where, "layer_heads"));
    }
    if (json.contains("layer_d_ff")) {
        o.layer_d_ff(get_int_array(json["layer_d_ff"], where, "layer_d_ff"));
    }
    try {
        o.validate();
    } catch (const std::invalid_argument& e) {
        bad(where, e.what());
    }
    return o;
}

nlohmann::json architecture_to_json(const ModelArchitecture& a) {
    nlohmann::json head_options = nlohmann::json::object();
    if (a.head == HeadKind::sequence_classification) {
        head_options = {{"pooling", a.pooling}, {"dropout", a.classifier_dropout}};
        // Written only when not the default, so checkpoints of earlier versions stay byte-identical
        // and an older graft refuses (unknown key) a model it would feed the wrong tokens.
        if (a.truncation != Truncation::head) head_options["truncation"] = to_string(a.truncation);
    } else if (a.head == HeadKind::token_classification) {
        head_options = {{"dropout", a.classifier_dropout}};
    }
    return {{"model_type", "encoder"},
            {"head", to_string(a.head)},
            {"encoder", encoder_options_to_json(a.encoder)},
            {"head_options", head_options},
            {"labels", a.labels}};
}

ModelArchitecture architecture_from_json(const nlohmann::json& json, const std::string& where) {
    check_keys(json, where, {"model_type", "head", "encoder", "head_options", "labels"});
    const auto model_type = get_string(required(json, where, "model_type"), where, "model_type");
    if (model_type != "encoder") {
        bad(where, fmt::format("unsupported model_type \"{}\" (this graft builds \"encoder\")",
                               model_type));
    }
    ModelArchitecture a;
    try {
        a.head = head_kind_from_string(get_string(required(json, where, "head"), where, "head"));
    } catch (const std::invalid_argument& e) {
        bad(where, e.what());
    }
    a.encoder = encoder_options_from_json(required(json, where, "encoder"), where + ".encoder");
    if (json.contains("head_options")) {
        const auto& h = json["head_options"];
        const std::string hw = where + ".head_options";
        check_keys(h, hw, {"pooling", "dropout", "truncation"});
        if (h.contains("pooling")) a.pooling = get_string(h["pooling"], hw, "pooling");
        if (h.contains("truncation")) {
            const auto name = get_string(h["truncation"], hw, "truncation");
            const auto t = truncation_from_string(name);
            if (!t) {
                bad(hw, fmt::format("unknown truncation \"{}\": expected \"head\", \"tail\" or "
                                    "\"head_tail\"", name));
            }
            a.truncation = *t;
        }
        if (h.contains("dropout")) a.classifier_dropout = get_double(h["dropout"], hw, "dropout");
    }
    if (json.contains("labels")) {
        const auto& labels = json["labels"];
        if (!labels.is_array()) {
            bad(where, "\"labels\" must be an array of label names");
        }
        for (const auto& label : labels) {
            a.labels.push_back(get_string(label, where, "labels[]"));
        }
    }
    try {
        a.validate();
    } catch (const std::invalid_argument& e) {
        bad(where, e.what());
    }
    return a;
}

nlohmann::json checkpoint_config_to_json(const CheckpointConfig& c) {
    const auto optional = [](const std::optional<std::string>& s) {
        return s ? nlohmann::json(*s) : nlohmann::json(nullptr);
    };
    return {{"format", kCheckpointFormat},
            {"architecture", architecture_to_json(c.architecture)},
            {"tokenizer", optional(c.tokenizer)},
            {"training_state", optional(c.training_state)},
            {"extra", c.extra}};
}

CheckpointConfig checkpoint_config_from_json(const nlohmann::json& json, const std::string& where) {
    check_keys(json, where, {"format", "architecture", "tokenizer", "training_state", "extra"});
    const auto format = get_string(required(json, where, "format"), where, "format");
    if (format != kCheckpointFormat) {
        bad(where, fmt::format("unsupported checkpoint format \"{}\" (this graft reads \"{}\"): "
                               "re-create the checkpoint with this version",
                               format, kCheckpointFormat));
    }
    CheckpointConfig c;
    c.architecture =
        architecture_from_json(required(json, where, "architecture"), where + ": architecture");
    c.tokenizer = optional_path(json, where, "tokenizer");
    c.training_state = optional_path(json, where, "training_state");
    if (json.contains("extra")) {
        if (!json["extra"].is_object()) {
            bad(where, "\"extra\" must be an object");
        }
        c.extra = json["extra"];
    }
    return c;
}

CheckpointConfig read_checkpoint_config(const fs::path& dir) {
    const auto path = dir / kCheckpointConfigFile;
    if (!fs::is_directory(dir)) {
        throw CheckpointError(fmt::format("checkpoint directory {} does not exist: point at the "
                                          "directory that save_checkpoint wrote (the stage's "
                                          "model output)", dir.string()));
    }
    if (!fs::is_regular_file(path)) {
        throw CheckpointError(fmt::format("{} is missing: {} is not a graft checkpoint (or it was "
                                          "not completely written)", path.string(), dir.string()));
    }
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(read_text(path));
    } catch (const nlohmann::json::parse_error& e) {
        bad(path.string(), fmt::format("not valid JSON: {}", e.what()));
    }
    return checkpoint_config_from_json(json, path.string());
}

// ---- state dicts ------------------------------------------------------------------------------

TensorMap state_dict(const torch::nn::Module& module) {
    TensorMap state;
    for (const auto& item : module.named_parameters(true)) {
        state.emplace(item.key(), item.value());
    }
    for (const auto& item : module.named_buffers(true)) {
        state.emplace(item.key(), item.value());
    }
    return state;
}

std::string StateLoadReport::describe() const {
    if (ok()) {
        return {};
    }
    std::string out = "weights do not match the model:";
    if (!missing.empty()) {
        out += fmt::format(" {} missing ({});", missing.size(), join(missing));
    }
    if (!unexpected.empty()) {
        out += fmt::format(" {} unexpected ({});", unexpected.size(), join(unexpected));
    }
    if (!mismatched.empty()) {
        out += fmt::format(" {} with another shape ({});", mismatched.size(), join(mismatched));
    }
    return out + " the weights were saved for a different architecture: check that config.json "
                 "matches them, or load only the encoder (load_encoder_for_transfer)";
}

StateLoadReport load_state(torch::nn::Module& module, const TensorMap& state, bool strict,
                           const std::string& prefix, const std::string& source) {
    TensorMap targets;
    for (auto& [name, tensor] : state_dict(module)) {
        if (starts_with(name, prefix)) {
            targets.emplace(name, tensor);
        }
    }
    StateLoadReport report;
    std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;  // (target, source)
    for (const auto& [name, target] : targets) {
        auto it = state.find(name);
        if (it == state.end()) {
            report.missing.push_back(name);
        } else if (!it->second.defined() || it->second.sizes() != target.sizes()) {
            report.mismatched.push_back(fmt::format(
                "{}: checkpoint {} vs model {}", name,
                it->second.defined() ? shape_string(it->second) : "undefined",
                shape_string(target)));
        } else {
            copies.emplace_back(target, it->second);
            report.loaded.push_back(name);
        }
    }
    for (const auto& [name, tensor] : state) {
        if (starts_with(name, prefix) && !targets.count(name)) {
            report.unexpected.push_back(name);
        }
    }
    if (strict && !report.ok()) {
        throw CheckpointError(fmt::format("{}: {}", source, report.describe()));
    }
    torch::NoGradGuard no_grad;
    for (auto& [target, value] : copies) {
        target.copy_(value);
    }
    return report;
}

// ---- checkpoints ------------------------------------------------------------------------------

std::optional<fs::path> LoadedCheckpoint::tokenizer_path() const {
    if (!config.tokenizer) return std::nullopt;
    return fs::absolute(dir / *config.tokenizer);
}

std::optional<fs::path> LoadedCheckpoint::training_state_path() const {
    if (!config.training_state) return std::nullopt;
    return fs::absolute(dir / *config.training_state);
}

void save_checkpoint(const fs::path& dir, const TaskModelImpl& model,
                     const SaveCheckpointOptions& options) {
    CheckpointConfig config;
    config.architecture = model.architecture();
    config.extra = options.extra.is_null() ? nlohmann::json::object() : options.extra;
    if (!config.extra.is_object()) {
        throw CheckpointError("save_checkpoint: options.extra must be a JSON object");
    }
    if (!options.training_state.empty()) {
        check_relative(options.training_state, "save_checkpoint", "training_state");
        config.training_state = options.training_state;
    }
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        throw CheckpointError(fmt::format("cannot create checkpoint directory {}: {}",
                                          dir.string(), ec.message()));
    }
    if (!options.tokenizer.empty()) {
        if (!fs::is_regular_file(options.tokenizer)) {
            throw CheckpointError(fmt::format("save_checkpoint: tokenizer file {} does not exist",
                                              options.tokenizer.string()));
        }
        const auto target = dir / kCheckpointTokenizerFile;
        if (!fs::exists(target) || !fs::equivalent(options.tokenizer, target)) {
            write_file_atomically(target, read_text(options.tokenizer));
        }
        config.tokenizer = kCheckpointTokenizerFile;
    }
    auto metadata = options.metadata;
    // Hugging Face loaders expect format = "pt" for PyTorch-layout weights.
    metadata.emplace("format", "pt");
    metadata.emplace("graft_checkpoint", kCheckpointFormat);
    save_safetensors(dir / kCheckpointWeightsFile, state_dict(model), metadata);
    // config.json last: a directory with a config has complete weights.
    write_file_atomically(dir / kCheckpointConfigFile,
                          checkpoint_config_to_json(config).dump(2) + "\n");
}

namespace {

TensorMap read_weights(const fs::path& dir) {
    const auto path = dir / kCheckpointWeightsFile;
    if (!fs::is_regular_file(path)) {
        throw CheckpointError(fmt::format("{} is missing: the checkpoint in {} is incomplete; "
                                          "re-run the stage that wrote it", path.string(),
                                          dir.string()));
    }
    try {
        return load_safetensors(path);
    } catch (const SafetensorsError& e) {
        throw CheckpointError(e.what());
    }
}

TaskModelPtr build_for(const ModelArchitecture& architecture, const fs::path& where) {
    try {
        return build_model(architecture);
    } catch (const std::invalid_argument& e) {
        throw CheckpointError(fmt::format("{}: {}", where.string(), e.what()));
    }
}

void check_tokenizer(const LoadedCheckpoint& loaded) {
    if (auto path = loaded.tokenizer_path(); path && !fs::is_regular_file(*path)) {
        throw CheckpointError(fmt::format("{} names tokenizer \"{}\" but {} does not exist: copy "
                                          "the tokenizer back or re-save the checkpoint",
                                          (loaded.dir / kCheckpointConfigFile).string(),
                                          *loaded.config.tokenizer, path->string()));
    }
}

}  // namespace

LoadedCheckpoint load_checkpoint(const fs::path& dir) {
    LoadedCheckpoint loaded;
    loaded.dir = dir;
    loaded.config = read_checkpoint_config(dir);
    check_tokenizer(loaded);
    loaded.model = build_for(loaded.config.architecture, dir / kCheckpointConfigFile);
    load_state(*loaded.model, read_weights(dir), true, "",
               (dir / kCheckpointWeightsFile).string());
    loaded.model->eval();
    return loaded;
}

LoadedCheckpoint load_encoder_for_transfer(const fs::path& dir, const TransferOptions& options) {
    LoadedCheckpoint loaded;
    loaded.dir = dir;
    const auto source = read_checkpoint_config(dir);
    loaded.config.tokenizer = source.tokenizer;
    check_tokenizer(loaded);

    ModelArchitecture& a = loaded.config.architecture;
    a.head = options.head;
    a.encoder = source.architecture.encoder;
    if (options.dropout) a.encoder.dropout(*options.dropout);
    if (options.attention_dropout) a.encoder.attention_dropout(*options.attention_dropout);
    a.labels = options.labels;
    a.pooling = options.pooling;
    a.classifier_dropout = options.classifier_dropout;
    a.truncation = options.truncation;
    loaded.config.extra = {{"transferred_from", fs::absolute(dir).string()}};
    loaded.model = build_for(a, dir / kCheckpointConfigFile);

    const auto weights = read_weights(dir);
    const std::string encoder_prefix = "encoder.";
    load_state(*loaded.model, weights, true, encoder_prefix,
               (dir / kCheckpointWeightsFile).string());
    for (const auto& item : loaded.model->named_parameters(true)) {
        if (!starts_with(item.key(), encoder_prefix)) {
            loaded.fresh_parameters.push_back(item.key());
        }
    }
    for (const auto& [name, tensor] : weights) {
        if (!starts_with(name, encoder_prefix)) {
            loaded.unused_weights.push_back(name);
        }
    }
    loaded.model->train();
    return loaded;
}

}  // namespace graft::ml
