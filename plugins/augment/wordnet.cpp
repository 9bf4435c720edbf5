// WordNet database files (wndb(5WN)): an index line is
//   lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt synset_offset...
// and a data line starts
//   synset_offset lex_filenum ss_type w_cnt word lex_id [word lex_id...] p_cnt ...
// where synset_offset is the line's byte offset in its data file and w_cnt is hexadecimal. The
// licence header lines of both files start with two spaces.
#include "wordnet.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <stdexcept>
#include <unordered_set>

namespace graft::augment {
namespace {

namespace fs = std::filesystem;

constexpr std::array<Pos, kPosCount> kAllPos = {Pos::noun, Pos::verb, Pos::adj, Pos::adv};
constexpr std::array<char, kPosCount> kPosLetter = {'n', 'v', 'a', 'r'};

std::vector<std::string_view> fields_of(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ') ++i;
        const std::size_t start = i;
        while (i < line.size() && line[i] != ' ') ++i;
        if (i > start) out.push_back(line.substr(start, i - start));
    }
    return out;
}

// A non-negative integer in `base`, or nullopt when `s` is not one.
std::optional<std::uint32_t> number(std::string_view s, int base = 10) {
    std::uint32_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// "domestic dog" and "domestic_dog" are the same lemma; the index writes '_'.
std::string index_key(std::string_view lemma) {
    std::string key = lower(lemma);
    std::replace(key.begin(), key.end(), ' ', '_');
    return key;
}

[[noreturn]] void bad_line(const fs::path& file, std::size_t line_no, const std::string& what) {
    throw std::runtime_error(fmt::format(
        "{}:{}: {}; the file does not look like a WordNet 3.0 database file (wndb(5WN)); "
        "reinstall it (apt-get install --reinstall wordnet-base) or point `wordnet` at an intact "
        "copy",
        file.string(), line_no, what));
}

bool is_header(std::string_view line) { return line.size() >= 2 && line[0] == ' ' && line[1] == ' '; }

}  // namespace

const char* pos_name(Pos pos) {
    static constexpr std::array<const char*, kPosCount> names = {"noun", "verb", "adj", "adv"};
    return names[static_cast<std::size_t>(pos)];
}

WordNet WordNet::load(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw std::runtime_error(fmt::format(
            "WordNet directory '{}' does not exist; install the database (Debian: apt-get "
            "install wordnet-base, which puts it in /usr/share/wordnet) or set `wordnet` to the "
            "directory holding index.noun and data.noun",
            dir.string()));
    WordNet wn;
    for (Pos pos : kAllPos) {
        const auto p = static_cast<std::size_t>(pos);
        const fs::path index = dir / fmt::format("index.{}", pos_name(pos));
        const fs::path data = dir / fmt::format("data.{}", pos_name(pos));
        const bool has_index = fs::exists(index, ec);
        const bool has_data = fs::exists(data, ec);
        if (!has_index && !has_data) continue;
        if (has_index != has_data)
            throw std::runtime_error(fmt::format(
                "WordNet directory '{}' has {} but not {}; each part of speech needs both files",
                dir.string(), (has_index ? index : data).filename().string(),
                (has_index ? data : index).filename().string()));

        // data.<pos>: offset -> words.
        std::ifstream din(data, std::ios::binary);
        if (!din) throw std::runtime_error(fmt::format("cannot open '{}'", data.string()));
        auto& synsets = wn.synsets_[p];
        std::string line;
        std::size_t line_no = 0;
        std::uint64_t line_start = 0;
        while (std::getline(din, line)) {
            ++line_no;
            const std::uint64_t this_start = line_start;
            line_start += line.size() + 1;
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (line.empty() || is_header(line)) continue;
            const auto f = fields_of(line);
            if (f.size() < 6) bad_line(data, line_no, "a synset line needs at least 6 fields");
            const auto offset = number(f[0]);
            if (!offset || f[0].size() != 8)
                bad_line(data, line_no, fmt::format("synset offset '{}' is not 8 digits", f[0]));
            if (*offset != this_start)
                bad_line(data, line_no,
                         fmt::format("synset offset {} is not the line's byte offset {}", f[0],
                                     this_start));
            const auto w_cnt = number(f[3], 16);
            if (!w_cnt || *w_cnt == 0 || f.size() < 4 + 2 * std::size_t{*w_cnt})
                bad_line(data, line_no,
                         fmt::format("word count '{}' is not a hexadecimal count of the words "
                                     "that follow",
                                     f[3]));
            std::vector<std::string> words;
            words.reserve(*w_cnt);
            for (std::uint32_t w = 0; w < *w_cnt; ++w) {
                std::string word(f[4 + 2 * w]);
                // data.adj appends syntactic markers: "(a)", "(p)", "(ip)".
                if (!word.empty() && word.back() == ')')
                    if (auto open = word.rfind('('); open != std::string::npos && open > 0)
                        word.resize(open);
                std::replace(word.begin(), word.end(), '_', ' ');
                words.push_back(std::move(word));
            }
            synsets.emplace(*offset, std::move(words));
        }
        if (din.bad()) throw std::runtime_error(fmt::format("error reading '{}'", data.string()));

        // index.<pos>: lemma -> offsets.
        std::ifstream iin(index, std::ios::binary);
        if (!iin) throw std::runtime_error(fmt::format("cannot open '{}'", index.string()));
        line_no = 0;
        while (std::getline(iin, line)) {
            ++line_no;
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (line.empty() || is_header(line)) continue;
            const auto f = fields_of(line);
            if (f.size() < 7) bad_line(index, line_no, "an index line needs at least 7 fields");
            if (f[1].size() != 1 || f[1][0] != kPosLetter[p])
                bad_line(index, line_no,
                         fmt::format("part of speech '{}' where index.{} has '{}'", f[1],
                                     pos_name(pos), kPosLetter[p]));
            const auto synset_cnt = number(f[2]);
            const auto p_cnt = number(f[3]);
            if (!synset_cnt || !p_cnt)
                bad_line(index, line_no, "synset_cnt and p_cnt must be numbers");
            const std::size_t after_ptrs = 4 + std::size_t{*p_cnt};
            if (f.size() != after_ptrs + 2 + *synset_cnt)
                bad_line(index, line_no,
                         fmt::format("expected {} fields for {} pointer symbols and {} synsets, "
                                     "found {}",
                                     after_ptrs + 2 + *synset_cnt, *p_cnt, *synset_cnt, f.size()));
            const auto tagged = number(f[after_ptrs + 1]);
            if (!tagged) bad_line(index, line_no, "tagsense_cnt must be a number");
            Senses senses;
            senses.tagged = *tagged;
            for (std::size_t k = after_ptrs + 2; k < f.size(); ++k) {
                const auto off = number(f[k]);
                if (!off || f[k].size() != 8)
                    bad_line(index, line_no,
                             fmt::format("synset offset '{}' is not 8 digits", f[k]));
                if (!synsets.count(*off))
                    bad_line(index, line_no,
                             fmt::format("synset {} is not in {}", f[k], data.filename().string()));
                senses.offsets.push_back(*off);
            }
            wn.index_[index_key(f[0])][p] = std::move(senses);
        }
        if (iin.bad()) throw std::runtime_error(fmt::format("error reading '{}'", index.string()));
        wn.loaded_.push_back(pos);
    }
    if (wn.loaded_.empty())
        throw std::runtime_error(fmt::format(
            "WordNet directory '{}' has no index.<pos>/data.<pos> files (noun, verb, adj, adv); "
            "install the database (Debian: apt-get install wordnet-base) or point `wordnet` at "
            "the directory that holds them",
            dir.string()));
    return wn;
}

const WordNet::Entry* WordNet::find(std::string_view lemma) const {
    auto it = index_.find(index_key(lemma));
    return it == index_.end() ? nullptr : &it->second;
}

std::size_t WordNet::sense_count(std::string_view lemma, Pos pos) const {
    const Entry* e = find(lemma);
    return e ? (*e)[static_cast<std::size_t>(pos)].offsets.size() : 0;
}

std::optional<Pos> WordNet::main_pos(std::string_view lemma) const {
    const Entry* e = find(lemma);
    if (!e) return std::nullopt;
    std::optional<Pos> best;
    for (Pos pos : kAllPos) {
        const Senses& s = (*e)[static_cast<std::size_t>(pos)];
        if (s.offsets.empty()) continue;
        if (!best) {
            best = pos;
            continue;
        }
        const Senses& b = (*e)[static_cast<std::size_t>(*best)];
        if (s.offsets.size() > b.offsets.size() ||
            (s.offsets.size() == b.offsets.size() && s.tagged > b.tagged))
            best = pos;
    }
    return best;
}

std::vector<std::string> WordNet::synonyms(std::string_view lemma, Pos pos,
                                           std::size_t max_senses) const {
    std::vector<std::string> out;
    const Entry* e = find(lemma);
    if (!e) return out;
    const auto p = static_cast<std::size_t>(pos);
    const Senses& s = (*e)[p];
    std::unordered_set<std::string> seen = {index_key(lemma)};
    const std::size_t n =
        max_senses == 0 ? s.offsets.size() : std::min(max_senses, s.offsets.size());
    for (std::size_t i = 0; i < n; ++i) {
        const auto it = synsets_[p].find(s.offsets[i]);
        if (it == synsets_[p].end()) continue;  // checked at load; kept for safety
        for (const std::string& w : it->second)
            if (seen.insert(index_key(w)).second) out.push_back(w);
    }
    return out;
}

std::size_t WordNet::synset_count() const {
    std::size_t n = 0;
    for (const auto& m : synsets_) n += m.size();
    return n;
}

}  // namespace graft::augment
