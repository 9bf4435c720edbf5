#include "bundle_writer.hpp"

#include "predictor.hpp"

#include "ml/model/checkpoint.hpp"
#include "ml/tokenizer/tokenizer.hpp"

#include <graft/stage.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

namespace fs = std::filesystem;
using nlohmann::json;

namespace graft::exporting {

namespace {

// Temp file + rename: a reader never sees half a file under `path`.
void write_atomically(const fs::path& path, const std::string& text) {
    const fs::path tmp = path.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << text;
        out.flush();
        if (!out) throw sdk::StageError(fmt::format("{}: cannot be written", tmp.string()));
    }
    fs::rename(tmp, path);
}

void copy_into(const fs::path& from, const fs::path& to) {
    std::error_code ec;
    fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
    if (ec) throw sdk::StageError(fmt::format("cannot copy {} to {}: {}", from.string(), to.string(), ec.message()));
}

}  // namespace

BundleInfo write_bundle(const fs::path& checkpoint, const fs::path& tokenizer_json, std::int64_t max_len,
                        const fs::path& out) {
    ml::CheckpointConfig config;
    try {
        config = ml::read_checkpoint_config(checkpoint);
    } catch (const ml::CheckpointError& e) {
        throw sdk::StageError(fmt::format("model: {}", e.what()));
    }
    const auto& arch = config.architecture;
    const fs::path config_file = checkpoint / ml::kCheckpointConfigFile;
    if (arch.head != ml::HeadKind::sequence_classification)
        throw sdk::StageError(fmt::format(
            "{}: head is '{}' ({}); export bundles sequence classifiers, the models graft predict serves: "
            "connect the model output of a finetune or distill stage",
            config_file.string(), ml::to_string(arch.head),
            arch.is_language_model() ? "a language model" : "a token classifier"));
    const fs::path weights = checkpoint / ml::kCheckpointWeightsFile;
    if (!fs::exists(weights))
        throw sdk::StageError(fmt::format("{}: missing; the model input must be a complete checkpoint", weights.string()));

    const auto tok = ml::Tokenizer::load(tokenizer_json);
    const auto vocab = static_cast<std::int64_t>(tok.vocab_size());
    if (vocab > arch.encoder.vocab_size())
        throw sdk::StageError(fmt::format(
            "{}: the tokenizer has {} ids but the model's vocabulary ({}) has {}: it is not the tokenizer "
            "the model was trained with; connect that one (or none, to bundle the checkpoint's)",
            tokenizer_json.string(), vocab, config_file.string(), arch.encoder.vocab_size()));

    fs::create_directories(out);
    copy_into(weights, out / ml::kCheckpointWeightsFile);
    copy_into(tokenizer_json, out / ml::kCheckpointTokenizerFile);
    ml::CheckpointConfig bundled = config;
    bundled.tokenizer = ml::kCheckpointTokenizerFile;
    bundled.training_state.reset();
    write_atomically(out / ml::kCheckpointConfigFile, ml::checkpoint_config_to_json(bundled).dump(2) + "\n");

    BundleInfo info;
    info.max_len = max_len > 0 ? std::min<std::int64_t>(max_len, arch.encoder.max_len()) : arch.encoder.max_len();
    info.labels = arch.labels;
    json files = json::object();
    for (const char* name : {ml::kCheckpointWeightsFile, ml::kCheckpointConfigFile, ml::kCheckpointTokenizerFile}) {
        info.files[name] = predict::bundle_file_digest(out / name);
        files[name] = info.files[name];
        info.bytes += fs::file_size(out / name);
    }
    const json manifest = {{"format", predict::kBundleFormat},
                           {"files", files},
                           {"max_len", info.max_len},
                           {"labels", info.labels},
                           {"graft_version", GRAFT_VERSION}};
    const std::string text = manifest.dump(2) + "\n";
    write_atomically(out / predict::kBundleManifestFile, text);
    info.bytes += text.size();
    return info;
}

}  // namespace graft::exporting
