// Checkpoints: a directory that a model can be rebuilt from without the pipeline that made it.
//   model.safetensors   every parameter and buffer of the task model, by its stable name
//   config.json         {"format": "graft.checkpoint/1",
//                        "architecture": {"model_type": "encoder", "head": "mlm" | "clm" |
//                            "sequence_classification" | "token_classification",
//                            "encoder": {every TransformerEncoderOptions field},
//                            "head_options": {"pooling", "dropout"} (classifiers),
//                            "labels": [...]},
//                        "tokenizer": "tokenizer.json" | null, "training_state": "<rel>" | null,
//                        "extra": {...}}
//   tokenizer.json      copied in when save_checkpoint is given a tokenizer file
// Loading parses JSON and safetensors only; nothing in a checkpoint is executed.
#pragma once

#include "ml/model/heads.hpp"
#include "ml/model/safetensors.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace graft::ml {

inline constexpr const char* kCheckpointFormat = "graft.checkpoint/1";
inline constexpr const char* kCheckpointWeightsFile = "model.safetensors";
inline constexpr const char* kCheckpointConfigFile = "config.json";
inline constexpr const char* kCheckpointTokenizerFile = "tokenizer.json";

// A missing, malformed or mismatched checkpoint; the message names the file/key and a fix.
class CheckpointError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// JSON forms used in config.json. The readers are strict: unknown keys, wrong types and missing
// required keys throw CheckpointError naming `where` (e.g. "ckpt/config.json: architecture").
// Required encoder keys are the shape-defining ones (vocab_size, max_len, d_model, n_layers,
// n_heads, d_ff); the others fall back to their defaults. The per-layer widths "layer_heads" and
// "layer_d_ff" (integer arrays) are written only for structurally pruned models.
nlohmann::json encoder_options_to_json(const TransformerEncoderOptions& options);
TransformerEncoderOptions encoder_options_from_json(const nlohmann::json& json,
                                                    const std::string& where);
nlohmann::json architecture_to_json(const ModelArchitecture& architecture);
ModelArchitecture architecture_from_json(const nlohmann::json& json, const std::string& where);

// ---- state dicts ------------------------------------------------------------------------------

// Every parameter and buffer by its dotted name (tied weights appear once, under the owner's name).
TensorMap state_dict(const torch::nn::Module& module);

struct StateLoadReport {
    std::vector<std::string> loaded;      // module names filled from the state
    std::vector<std::string> missing;     // module names absent from the state
    std::vector<std::string> unexpected;  // state names the module does not have
    std::vector<std::string> mismatched;  // "name: checkpoint [a, b] vs model [c, d]"
    bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
    // One human-readable paragraph listing the problems (empty when ok()).
    std::string describe() const;
};

// Copies matching tensors into the module's parameters/buffers (converted to their dtype/device)
// without recording gradients. Only names starting with `prefix` take part, on both sides (an
// empty prefix = all). strict: any missing/unexpected/mismatched name throws CheckpointError with
// describe(), and nothing is modified. Non-strict: mismatched shapes are still never copied.
StateLoadReport load_state(torch::nn::Module& module, const TensorMap& state, bool strict,
                           const std::string& prefix = "", const std::string& source = "state");

// ---- checkpoints ------------------------------------------------------------------------------

struct SaveCheckpointOptions {
    std::filesystem::path tokenizer;     // a tokenizer.json to copy in; empty = none
    std::string training_state;          // relative path inside the dir (the trainer writes it)
    SafetensorsMetadata metadata;        // stored in model.safetensors' __metadata__
    nlohmann::json extra = nlohmann::json::object();  // free-form, e.g. metrics, step
};

// Creates `dir` if needed and writes model.safetensors and config.json (each atomically) plus the
// tokenizer copy. Other files in `dir` (e.g. the training state) are left alone.
void save_checkpoint(const std::filesystem::path& dir, const TaskModelImpl& model,
                     const SaveCheckpointOptions& options = {});

struct CheckpointConfig {
    ModelArchitecture architecture;
    std::optional<std::string> tokenizer;       // relative to the checkpoint dir
    std::optional<std::string> training_state;  // relative to the checkpoint dir
    nlohmann::json extra = nlohmann::json::object();
};
nlohmann::json checkpoint_config_to_json(const CheckpointConfig& config);
CheckpointConfig checkpoint_config_from_json(const nlohmann::json& json, const std::string& where);
// Reads and validates dir/config.json (no weights).
CheckpointConfig read_checkpoint_config(const std::filesystem::path& dir);

struct LoadedCheckpoint {
    TaskModelPtr model;
    CheckpointConfig config;
    std::filesystem::path dir;
    std::vector<std::string> fresh_parameters;  // initialised fresh, not loaded (transfer only)
    std::vector<std::string> unused_weights;    // checkpoint tensors not used (transfer only)

    // Absolute paths of the referenced files; nullopt when the config names none.
    std::optional<std::filesystem::path> tokenizer_path() const;
    std::optional<std::filesystem::path> training_state_path() const;
};

// Rebuilds the model from config.json alone and loads every weight strictly: a missing,
// unexpected or shape-mismatched name throws CheckpointError listing them. The model is returned
// in eval() mode on the CPU.
LoadedCheckpoint load_checkpoint(const std::filesystem::path& dir);

// The transfer step: a new task model whose encoder comes from the checkpoint (any head) and whose
// head is initialised fresh. Encoder options are the checkpoint's, except the dropouts when set.
struct TransferOptions {
    HeadKind head = HeadKind::sequence_classification;
    std::vector<std::string> labels;        // classification heads
    std::string pooling = "cls";
    double classifier_dropout = 0.1;
    Truncation truncation = Truncation::head;  // sequence classification: ModelArchitecture's
    std::optional<double> dropout;          // override the encoder's dropout for fine-tuning
    std::optional<double> attention_dropout;
};
// Encoder weights load strictly (every encoder.* name must be present with the right shape);
// fresh_parameters lists the new head's parameters, unused_weights the old head's. The model is
// returned in train() mode. Seed torch first for a reproducible head.
LoadedCheckpoint load_encoder_for_transfer(const std::filesystem::path& dir,
                                           const TransferOptions& options);

}  // namespace graft::ml
