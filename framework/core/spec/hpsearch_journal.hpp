// The journal of a hyperparameter search: .graft/hpsearch/<pipeline>-<search digest>.jsonl.
// The first line is a header {"format": "graft.hpsearch/1", "search": ..., ...}; each further
// line is one finished trial {"trial", "params", "status", "metric", "run_id", "seconds"[,
// "error"]}, trial numbers 0, 1, 2... in order. A trial is appended as one whole line with a
// single write and fsynced before the next trial starts, so a kill can at worst leave a torn last
// line: readers ignore it with a warning and the writer cuts it off before appending.
#pragma once

#include "core/spec/hpsearch.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace graft {

inline constexpr const char* kHpJournalFormat = "graft.hpsearch/1";

struct HpJournalContents {
    json header;                        // null when the file does not exist
    std::vector<HpTrial> trials;
    std::vector<std::string> warnings;  // e.g. the torn last line that was ignored
    std::uintmax_t valid_size = 0;      // bytes up to the end of the last whole line
};

// Reads a journal (a missing file gives an empty one). Throws std::runtime_error naming the file
// and line for anything but a torn last line: a wrong format tag, a malformed or out-of-order
// trial line in the middle.
HpJournalContents read_hp_journal(const std::filesystem::path& path);

json hp_trial_to_json(const HpTrial& t);
// Throws std::runtime_error for a malformed record.
HpTrial hp_trial_from_json(const json& j);

// Appends to a journal, creating it with `header` when it does not exist. Opening cuts off a torn
// last line (after a kill) so that the next record starts on a line of its own; a journal whose
// header differs from `header` is refused (std::runtime_error).
class HpJournalWriter {
public:
    HpJournalWriter(const std::filesystem::path& path, const json& header);
    ~HpJournalWriter();
    HpJournalWriter(const HpJournalWriter&) = delete;
    HpJournalWriter& operator=(const HpJournalWriter&) = delete;

    const HpJournalContents& contents() const { return contents_; }
    // One line, one write, then fsync. Throws std::runtime_error when it cannot.
    void append(const HpTrial& trial);

private:
    std::filesystem::path path_;
    HpJournalContents contents_;
    int fd_ = -1;
};

}  // namespace graft
