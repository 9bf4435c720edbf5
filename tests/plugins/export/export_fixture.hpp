// Shared set-up of the export tests: a WordPiece tokenizer, a tiny sequence classifier fine-tuned
// from scratch by the real finetune stage (max_len 32), a tiny masked LM from the pretrain stage,
// and helpers to export a bundle and run the built graft-predict binary.
#pragma once

#include "support/stage_runner.hpp"
#include "support/temp_dir.hpp"

#include "ml/tokenizer/tokenizer.hpp"

#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace graft::testing {

inline std::vector<std::string> export_corpus() {
    return {"great wonderful film loved it", "awful boring film hated it",
            "a superb cast and a moving story", "dull plot and terrible acting"};
}

// Labelled rows: two classes told apart by their words, lengths varied so batches are padded.
inline std::string export_rows(int n, int offset) {
    std::string out;
    for (int i = 0; i < n; ++i) {
        const bool pos = (i + offset) % 2 == 0;
        std::string text = pos ? "great wonderful film loved it" : "awful boring film hated it";
        for (int k = 0; k < i % 4; ++k) text += pos ? " superb story" : " dull plot";
        out += nlohmann::json{{"text", text}, {"label", pos ? "pos" : "neg"}}.dump() + "\n";
    }
    return out;
}

struct ExportFixture {
    TempDir dir{"export"};
    std::filesystem::path tokenizer;   // tokenizer artifact dir (tokenizer.json inside)
    std::filesystem::path classifier;  // finetune output (a checkpoint dir)
    std::filesystem::path lm;          // pretrain output (a masked LM checkpoint dir)

    ExportFixture() {
        write_text(dir / "train.jsonl", export_rows(32, 0));
        write_text(dir / "val.jsonl", export_rows(8, 1));
        tokenizer = dir / "tok";
        std::filesystem::create_directories(tokenizer);
        ml::WordPieceTrainerOptions to;
        to.vocab_size = 60;
        to.min_frequency = 1;
        ml::train_wordpiece(export_corpus(), to).save(tokenizer / "tokenizer.json");

        std::filesystem::create_directories(dir / "ft");
        const auto ft = run_stage("finetune",
                                  {{"strategy", "scratch"}, {"d_model", 16}, {"n_layers", 1}, {"n_heads", 2},
                                   {"d_ff", 32}, {"max_len", 32}, {"epochs", 10}, {"batch_size", 8}, {"lr", 1e-2}, {"patience", 0}},
                                  {{"train", dir / "train.jsonl"}, {"val", dir / "val.jsonl"}, {"tokenizer", tokenizer}},
                                  dir / "ft");
        if (ft.status != 0) throw std::runtime_error("finetune: " + ft.error);
        classifier = ft.outputs.at("model");

        std::filesystem::create_directories(dir / "lm");
        const auto pt = run_stage("pretrain",
                                  {{"d_model", 16}, {"n_layers", 1}, {"n_heads", 2}, {"d_ff", 32}, {"max_len", 16},
                                   {"max_steps", 2}, {"batch_size", 8}, {"val_fraction", 0.1}},
                                  {{"data", dir / "train.jsonl"}, {"tokenizer", tokenizer}}, dir / "lm");
        if (pt.status != 0) throw std::runtime_error("pretrain: " + pt.error);
        lm = pt.outputs.at("model");
    }
};

inline ExportFixture& export_fixture() {
    static ExportFixture f;
    return f;
}

// Runs the export stage into a fresh directory under the fixture's.
inline StageRun run_export(const nlohmann::json& params, std::map<std::string, std::filesystem::path> inputs) {
    static int n = 0;
    const auto out = export_fixture().dir / ("export" + std::to_string(++n));
    std::filesystem::create_directories(out);
    return run_stage("export", params, inputs, out);
}

struct ProcessResult {
    int rc = -1;
    std::string out;
    std::string err;
};

// The graft-predict binary next to the graft binary (as `graft predict` finds it).
inline std::filesystem::path graft_predict_binary() {
    const auto exe = std::filesystem::path(GRAFT_BINARY).parent_path() / "graft-predict";
    if (!std::filesystem::exists(exe))
        throw std::runtime_error(exe.string() + " not built (cmake --build build --target graft-predict)");
    return exe;
}

// graft-predict ARGS [< stdin_file]; stdout and stderr captured through files.
inline ProcessResult run_graft_predict(const std::string& args, const std::filesystem::path& stdin_file = {}) {
    static int n = 0;
    const auto base = export_fixture().dir / ("predict" + std::to_string(++n));
    std::string cmd = "'" + graft_predict_binary().string() + "' " + args;
    cmd += stdin_file.empty() ? " < /dev/null" : " < '" + stdin_file.string() + "'";
    cmd += " > '" + base.string() + ".out' 2> '" + base.string() + ".err'";
    const int status = std::system(cmd.c_str());
    ProcessResult r;
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = read_text(base.string() + ".out");
    r.err = read_text(base.string() + ".err");
    return r;
}

}  // namespace graft::testing
