// A small WordNet database written in the wndb(5WN) layout (licence-style header lines, 8-digit
// byte offsets, hexadecimal word counts, sorted index), so the tests need no installed WordNet.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace graft::augment::test {

// One part of speech: synsets as word lists (sense order of a lemma = order of its synsets
// here); `tagged` overrides a lemma's tagsense_cnt (default 0).
struct PosFixture {
    std::string name;  // noun, verb, adj, adv
    char letter;       // n, v, a, r
    std::vector<std::vector<std::string>> synsets;
    std::map<std::string, int> tagged;
};

inline std::string fixture_lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

inline void write_pos(const std::filesystem::path& dir, const PosFixture& pos) {
    const std::string header =
        "  1 This is a test fixture in the format of the WordNet 3.0 database files.\n"
        "  2 Lines starting with two spaces are the licence header.\n";
    std::string data = header;
    std::map<std::string, std::vector<std::size_t>> index;  // lemma -> offsets
    for (const auto& words : pos.synsets) {
        const std::size_t offset = data.size();
        std::string line = fmt::format("{:08d} 05 {} {:02x}", offset, pos.letter, words.size());
        for (const auto& w : words) {
            line += " " + w + " 0";
            std::string lemma = fixture_lower(w);
            if (auto paren = lemma.find('('); paren != std::string::npos) lemma.resize(paren);
            auto& offs = index[lemma];
            if (std::find(offs.begin(), offs.end(), offset) == offs.end()) offs.push_back(offset);
        }
        line += " 000 | a test gloss; \"an example\"  \n";
        data += line;
    }
    std::string idx = header;
    for (const auto& [lemma, offs] : index) {
        const auto t = pos.tagged.find(lemma);
        idx += fmt::format("{} {} {} 1 @ {} {}", lemma, pos.letter, offs.size(), offs.size(),
                           t == pos.tagged.end() ? 0 : t->second);
        for (auto o : offs) idx += fmt::format(" {:08d}", o);
        idx += "  \n";
    }
    std::ofstream(dir / ("data." + pos.name), std::ios::binary) << data;
    std::ofstream(dir / ("index." + pos.name), std::ios::binary) << idx;
}

// The standard fixture: "film" is mostly a noun, "run" mostly a verb, "fast" ties between
// adjective and adverb with more tagged adverb senses.
inline void write_wordnet(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    write_pos(dir, {"noun",
                    'n',
                    {{"film", "movie", "picture", "moving_picture"},
                     {"film", "cinema", "movie"},
                     {"dog", "domestic_dog", "Canis_familiaris"},
                     {"run", "tally"},
                     {"actor", "histrion", "player"}},
                    {}});
    write_pos(dir, {"verb", 'v', {{"run", "go"}, {"run", "operate"}, {"film", "shoot"}}, {}});
    write_pos(dir, {"adj",
                    'a',
                    {{"good(a)", "well(p)"}, {"great", "outstanding"}, {"fast", "quick"}},
                    {}});
    write_pos(dir, {"adv", 'r', {{"fast", "rapidly", "speedily"}}, {{"fast", 1}}});
}

}  // namespace graft::augment::test
