// Token ids for the Python side of bench/training, made by graft's own tokenizer with the call the
// finetune stage makes (plugins/transfer/common.cpp encode_rows: encode_for_model(text, max_len,
// true), i.e. [CLS] text [SEP] cut to max_len), so both loops train on identical inputs.
//
// usage: encode_ids TOKENIZER_JSON MAX_LEN TEXT_FIELD LABEL_FIELD IN.jsonl OUT.jsonl [META.json]
//   OUT.jsonl: one {"ids": [...], "label": "<label as the finetune stage reads it>"} per row
//   META.json: {"vocab_size", "pad_id", "rows", "tokens", "truncated"} (the stage's model takes
//              vocab_size and pad_id from the same tokenizer)
// Built by bench/training/run.sh against the build tree's libgraft_tokenizer.a.
#include "ml/tokenizer/tokenizer.hpp"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

namespace {

[[noreturn]] void fail(const std::string& message) {
    std::cerr << "encode_ids: " << message << '\n';
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 7 && argc != 8) {
        fail("usage: encode_ids TOKENIZER_JSON MAX_LEN TEXT_FIELD LABEL_FIELD IN.jsonl OUT.jsonl "
             "[META.json]");
    }
    const std::string tokenizer_path = argv[1];
    char* end = nullptr;
    const long max_len = std::strtol(argv[2], &end, 10);
    if (*end != '\0' || max_len < 8) fail(std::string("MAX_LEN must be an integer >= 8, got ") + argv[2]);
    const std::string text_field = argv[3];
    const std::string label_field = argv[4];
    const std::string in_path = argv[5];

    graft::ml::Tokenizer tok = [&] {
        try {
            return graft::ml::Tokenizer::load(tokenizer_path);
        } catch (const std::exception& e) {
            fail(tokenizer_path + ": " + e.what());
        }
    }();
    std::ifstream in(in_path);
    if (!in) fail("cannot read " + in_path);
    std::ofstream out(argv[6]);
    if (!out) fail(std::string("cannot write ") + argv[6]);

    std::size_t line_no = 0, rows = 0, tokens = 0, truncated = 0;
    for (std::string line; std::getline(in, line);) {
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        nlohmann::json row;
        try {
            row = nlohmann::json::parse(line);
        } catch (const std::exception& e) {
            fail(in_path + ":" + std::to_string(line_no) + ": not JSON (" + e.what() + ")");
        }
        const auto text = row.find(text_field);
        if (text == row.end() || !text->is_string())
            fail(in_path + ":" + std::to_string(line_no) + ": no string field '" + text_field + "'");
        const auto label = row.find(label_field);
        if (label == row.end() || label->is_null())
            fail(in_path + ":" + std::to_string(line_no) + ": no label field '" + label_field + "'");
        const auto enc =
            tok.encode_for_model(text->get<std::string>(), static_cast<std::size_t>(max_len), true);
        // The stage's label text: strings as they are, anything else as its JSON.
        const std::string label_text = label->is_string() ? label->get<std::string>() : label->dump();
        out << nlohmann::json{{"ids", enc.ids}, {"label", label_text}}.dump() << '\n';
        ++rows;
        tokens += enc.ids.size();
        if (enc.truncated()) ++truncated;
    }
    if (!out.flush()) fail(std::string("writing ") + argv[6] + " failed");
    if (rows == 0) fail(in_path + " has no rows");
    if (argc == 8) {
        std::ofstream meta(argv[7]);
        meta << nlohmann::json{{"vocab_size", tok.vocab_size()},
                               {"pad_id", tok.pad_id().value_or(0)},
                               {"rows", rows},
                               {"tokens", tokens},
                               {"truncated", truncated}}
                    .dump()
             << '\n';
        if (!meta.flush()) fail(std::string("writing ") + argv[7] + " failed");
    }
    return 0;
}
