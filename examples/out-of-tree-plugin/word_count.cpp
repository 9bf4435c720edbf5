// example.word_count: a stage plugin built outside the graft tree (see README.md).
//
// Reads a JSONL dataset, adds the number of words of a text field to every row, writes the rows
// and a small metrics file, and reports the total as the metric `words` (shown by `graft metrics`
// and recorded in graft.lock).
#include <graft/jsonl.hpp>
#include <graft/stage.hpp>

#include <cstddef>
#include <fstream>
#include <string>
#include <string_view>

namespace {

using graft::sdk::json;

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// A word is a maximal run of non-whitespace bytes: language-agnostic enough for an example, and
// safe on UTF-8 since multi-byte sequences never contain ASCII whitespace.
std::size_t count_words(std::string_view text) {
    std::size_t words = 0;
    bool in_word = false;
    for (char c : text) {
        if (is_space(c)) {
            in_word = false;
        } else if (!in_word) {
            in_word = true;
            ++words;
        }
    }
    return words;
}

class WordCount final : public graft::sdk::StageImpl {
public:
    static graft::sdk::Descriptor describe() {
        return graft::sdk::Descriptor(
                   "example.word_count", "1",
                   "Counts the words of a text field in every row. Adds the count to each row and "
                   "reports the total as the metric 'words'.")
            .input("data", "jsonl", "rows with a text field")
            .output("data", "jsonl", "the same rows, each with its word count added")
            .output("metrics", "metrics", "JSON object {rows, words, mean_words}")
            .param_string("text_field", "text", "field that holds the text")
            .param_string("count_field", "words", "field the count is written to");
    }

    void run(graft::sdk::RunContext& ctx) override {
        const auto text_field = ctx.param<std::string>("text_field");
        const auto count_field = ctx.param<std::string>("count_field");
        const auto input = ctx.input("data");

        graft::sdk::JsonlWriter writer(ctx.output("data"));
        std::size_t rows = 0, words = 0;
        graft::sdk::for_each_jsonl(input, [&](json&& row, std::size_t line) {
            auto it = row.find(text_field);
            if (it == row.end() || !it->is_string())
                throw graft::sdk::StageError(fmt::format(
                    "{}:{}: no string field '{}' in this row; set the parameter text_field to the "
                    "field that holds the text",
                    input.string(), line, text_field));
            const std::size_t n = count_words(it->get_ref<const std::string&>());
            row[count_field] = n;
            writer.write(row);
            ++rows;
            words += n;
            if (rows % 10000 == 0) {
                ctx.check_cancelled();  // a long input stops promptly on Ctrl-C
                ctx.progress(rows, 0, "rows");
            }
        });
        writer.close();

        const double mean = rows == 0 ? 0.0 : static_cast<double>(words) / static_cast<double>(rows);
        std::ofstream(ctx.output("metrics"))
            << json{{"rows", rows}, {"words", words}, {"mean_words", mean}}.dump(2) << '\n';
        ctx.metric("words", static_cast<double>(words));
        ctx.metric("rows", static_cast<double>(rows));
        ctx.info("{} words in {} rows", words, rows);
    }
};

}  // namespace

GRAFT_EXPORT_STAGES(WordCount)
