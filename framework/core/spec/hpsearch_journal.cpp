// The append-only journal of a hyperparameter search (see hpsearch_journal.hpp).
#include "core/spec/hpsearch_journal.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace graft {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail_at(const fs::path& path, std::size_t line, const std::string& what) {
    throw std::runtime_error(fmt::format("{}:{}: {}", path.string(), line, what));
}

[[noreturn]] void sys_fail(const std::string& what, const fs::path& path) {
    throw std::runtime_error(fmt::format("cannot {} {}: {}", what, path.string(), std::strerror(errno)));
}

void write_all(int fd, const std::string& data, const fs::path& path) {
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            sys_fail("write to", path);
        }
        done += static_cast<std::size_t>(n);
    }
}

void fsync_dir(const fs::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;  // best effort: the file itself is synced
    ::fsync(fd);
    ::close(fd);
}

}  // namespace

namespace {

std::string trial_line(const HpTrial& t) {
    nlohmann::ordered_json j;  // fields in reading order
    j["trial"] = t.number;
    j["params"] = t.params;
    j["status"] = t.status == HpTrial::Status::Ok ? "ok" : "failed";
    j["metric"] = t.metric ? json(*t.metric) : json(nullptr);
    j["run_id"] = t.run_id;
    j["seconds"] = t.seconds;
    if (!t.error.empty()) j["error"] = t.error;
    return j.dump() + "\n";
}

}  // namespace

json hp_trial_to_json(const HpTrial& t) { return json::parse(trial_line(t)); }

HpTrial hp_trial_from_json(const json& j) {
    auto bad = [](const std::string& what) { throw std::runtime_error("malformed trial record: " + what); };
    if (!j.is_object()) bad("not a JSON object");
    HpTrial t;
    if (!j.contains("trial") || !j["trial"].is_number_unsigned()) bad("'trial' must be a non-negative integer");
    t.number = j["trial"].get<std::size_t>();
    if (!j.contains("params") || !j["params"].is_object()) bad("'params' must be an object");
    t.params = j["params"];
    const std::string status = j.value("status", "");
    if (status == "ok")
        t.status = HpTrial::Status::Ok;
    else if (status == "failed")
        t.status = HpTrial::Status::Failed;
    else
        bad("'status' must be \"ok\" or \"failed\"");
    if (j.contains("metric") && !j["metric"].is_null()) {
        if (!j["metric"].is_number()) bad("'metric' must be a number or null");
        t.metric = j["metric"].get<double>();
    }
    if (t.status == HpTrial::Status::Ok && !t.metric) bad("an \"ok\" trial needs its metric");
    if (j.contains("run_id")) {
        if (!j["run_id"].is_string()) bad("'run_id' must be a string");
        t.run_id = j["run_id"].get<std::string>();
    }
    if (j.contains("seconds") && j["seconds"].is_number()) t.seconds = j["seconds"].get<double>();
    if (j.contains("error") && j["error"].is_string()) t.error = j["error"].get<std::string>();
    return t;
}

HpJournalContents read_hp_journal(const fs::path& path) {
    HpJournalContents c;
    std::error_code ec;
    if (!fs::exists(path, ec)) return c;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(fmt::format("cannot read {}", path.string()));
    std::ostringstream buf;
    buf << in.rdbuf();
    const std::string text = buf.str();
    const std::size_t end = text.rfind('\n');
    c.valid_size = end == std::string::npos ? 0 : end + 1;
    if (c.valid_size < text.size())
        c.warnings.push_back(fmt::format(
            "{}: ignoring a torn last line ({} bytes without a newline): the trial being recorded "
            "when graft was stopped; it runs again",
            path.string(), text.size() - c.valid_size));
    std::size_t pos = 0, line_no = 0;
    while (pos < c.valid_size) {
        const std::size_t nl = text.find('\n', pos);
        const std::string line = text.substr(pos, nl - pos);
        pos = nl + 1;
        ++line_no;
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded()) fail_at(path, line_no, "not valid JSON; the journal is damaged (move it away to start the search afresh)");
        if (line_no == 1) {
            const std::string format = j.is_object() ? j.value("format", "") : "";
            if (format != kHpJournalFormat)
                fail_at(path, 1,
                        format.rfind("graft.hpsearch/", 0) == 0
                            ? fmt::format("journal format {} is not {} (written by another graft version)", format, kHpJournalFormat)
                            : fmt::format("not a hyperparameter search journal (no \"format\": \"{}\" header)", kHpJournalFormat));
            c.header = std::move(j);
            continue;
        }
        HpTrial t;
        try {
            t = hp_trial_from_json(j);
        } catch (const std::exception& e) {
            fail_at(path, line_no, e.what());
        }
        if (t.number != c.trials.size())
            fail_at(path, line_no,
                    fmt::format("trial {} where trial {} belongs (each trial is recorded once, in order)",
                                t.number, c.trials.size()));
        c.trials.push_back(std::move(t));
    }
    if (c.header.is_null() && c.valid_size == 0 && !text.empty())
        fail_at(path, 1, "no complete header line");
    return c;
}

HpJournalWriter::HpJournalWriter(const fs::path& path, const json& header) : path_(path) {
    contents_ = read_hp_journal(path);
    if (contents_.header.is_null()) {
        // Created whole (temp file + rename), so a reader never sees a half-written header.
        fs::create_directories(path.parent_path());
        const fs::path tmp = path.string() + ".tmp";
        const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) sys_fail("create", tmp);
        write_all(fd, header.dump() + "\n", tmp);
        if (::fsync(fd) != 0) sys_fail("fsync", tmp);
        ::close(fd);
        fs::rename(tmp, path);
        fsync_dir(path.parent_path());
        contents_ = HpJournalContents{};
        contents_.header = header;
    } else if (contents_.header != header) {
        throw std::runtime_error(fmt::format(
            "{}: the journal's header does not match this search; move it away to start afresh",
            path.string()));
    }
    fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd_ < 0) sys_fail("open", path);
    struct stat st {};
    if (::fstat(fd_, &st) == 0 && static_cast<std::uintmax_t>(st.st_size) > contents_.valid_size &&
        contents_.valid_size > 0)
        if (::ftruncate(fd_, static_cast<off_t>(contents_.valid_size)) != 0) sys_fail("truncate", path);
}

HpJournalWriter::~HpJournalWriter() {
    if (fd_ >= 0) ::close(fd_);
}

void HpJournalWriter::append(const HpTrial& trial) {
    if (trial.number != contents_.trials.size())
        throw std::runtime_error(fmt::format("{}: trial {} appended where trial {} belongs",
                                             path_.string(), trial.number, contents_.trials.size()));
    const std::string line = trial_line(trial);
    write_all(fd_, line, path_);
    if (::fsync(fd_) != 0) sys_fail("fsync", path_);
    contents_.trials.push_back(trial);
    contents_.valid_size += line.size();
}

}  // namespace graft
