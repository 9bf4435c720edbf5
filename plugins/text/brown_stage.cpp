#include "brown_stage.hpp"

#include "line_reader.hpp"

#include <graft/jsonl.hpp>

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace graft::text {
namespace {

namespace fs = std::filesystem;
using sdk::json;

std::string base_tag(std::string tag) {
    std::transform(tag.begin(), tag.end(), tag.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (bool stripped = true; stripped;) {
        stripped = false;
        for (const char* suffix : {"-tl", "-hl", "-nc"}) {
            if (tag.size() > 3 && tag.compare(tag.size() - 3, 3, suffix) == 0) {
                tag.resize(tag.size() - 3);
                stripped = true;
            }
        }
    }
    return tag;
}

struct Doc {
    std::string id;
    std::string genre;
};

std::vector<Doc> read_categories(const fs::path& dir) {
    const auto file = dir / "cats.txt";
    if (!fs::exists(file))
        throw sdk::StageError(fmt::format(
            "text.brown: no cats.txt in '{}'; connect the Brown corpus directory in NLTK layout "
            "(scripts/setup.sh fetches it to data/brown)",
            dir.string()));
    std::vector<Doc> docs;
    LineReader reader(file);
    for (std::string line; reader.next(line);) {
        std::istringstream in(line);
        Doc d;
        if (!(in >> d.id)) continue;  // blank line
        if (!(in >> d.genre))
            throw sdk::StageError(fmt::format("text.brown: {}:{}: expected '<document> <genre>', got '{}'",
                                              file.string(), reader.line_number(), line));
        docs.push_back(std::move(d));
    }
    if (docs.empty()) throw sdk::StageError(fmt::format("text.brown: {} lists no documents", file.string()));
    return docs;
}

}  // namespace

sdk::Descriptor BrownStage::describe() {
    return sdk::Descriptor("text.brown", "1",
                           "Imports the Brown corpus (NLTK layout: word/tag sentences per "
                           "document, cats.txt genres) as JSONL rows {\"tokens\", \"tags\", "
                           "\"text\", \"genre\", \"doc\"} for token classification. Tags are "
                           "lowercased base tags (-tl, -hl, -nc suffixes stripped).")
        .input_dir("corpus", "any", "the corpus directory (cats.txt + one file per document)")
        .output("data", "jsonl", "one row per sentence, in cats.txt document order")
        .param("genres", "list<string>", json::array(),
               "keep only these genres (cats.txt names such as \"news\"); empty = all")
        .param_int("max_sentences", 0, "stop after this many sentences (0 = all)", 0);
}

void BrownStage::run(sdk::RunContext& ctx) {
    const fs::path dir = ctx.input("corpus");
    const auto docs = read_categories(dir);
    const auto wanted_list = ctx.param<std::vector<std::string>>("genres");
    const std::set<std::string> wanted(wanted_list.begin(), wanted_list.end());
    std::set<std::string> known;
    for (const auto& d : docs) known.insert(d.genre);
    for (const auto& g : wanted)
        if (!known.count(g))
            throw sdk::StageError(fmt::format("text.brown: param genres names '{}', which cats.txt "
                                              "does not list; known genres: {}",
                                              g, fmt::join(known, ", ")));
    const auto max_sentences = static_cast<std::size_t>(ctx.param<std::int64_t>("max_sentences"));

    sdk::JsonlWriter out(ctx.output("data"));
    std::size_t tokens = 0, n_docs = 0;
    std::set<std::string> tagset;
    for (const auto& d : docs) {
        if (!wanted.empty() && !wanted.count(d.genre)) continue;
        if (max_sentences && out.rows() >= max_sentences) break;
        const auto file = dir / d.id;
        if (!fs::exists(file))
            throw sdk::StageError(fmt::format("text.brown: cats.txt lists document '{}' but '{}' "
                                              "does not exist (an incomplete copy of the corpus?)",
                                              d.id, file.string()));
        ++n_docs;
        LineReader reader(file);
        for (std::string line; reader.next(line);) {
            std::istringstream in(line);
            json words = json::array(), tags = json::array();
            std::string text;
            for (std::string pair; in >> pair;) {
                const auto slash = pair.rfind('/');
                if (slash == std::string::npos || slash == 0 || slash + 1 == pair.size())
                    throw sdk::StageError(fmt::format(
                        "text.brown: {}:{}: '{}' is not a word/tag pair (NLTK Brown layout expected)",
                        file.string(), reader.line_number(), pair));
                const std::string word = pair.substr(0, slash);
                const std::string tag = base_tag(pair.substr(slash + 1));
                text += (text.empty() ? "" : " ") + word;
                words.push_back(word);
                tags.push_back(tag);
                tagset.insert(tag);
            }
            if (words.empty()) continue;
            tokens += words.size();
            out.write({{"tokens", std::move(words)}, {"tags", std::move(tags)}, {"text", text},
                       {"genre", d.genre}, {"doc", d.id}});
            if (max_sentences && out.rows() >= max_sentences) break;
        }
        ctx.check_cancelled();
    }
    out.close();
    if (out.rows() == 0) throw sdk::StageError("text.brown: no sentences imported");
    ctx.metric("sentences", static_cast<double>(out.rows()));
    ctx.metric("tokens", static_cast<double>(tokens));
    ctx.metric("tags", static_cast<double>(tagset.size()));
    ctx.metric("documents", static_cast<double>(n_docs));
    ctx.info("{} sentences, {} tokens, {} distinct tags from {} documents", out.rows(), tokens,
             tagset.size(), n_docs);
}

}  // namespace graft::text
