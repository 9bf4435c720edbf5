// The `split` stage: cuts a JSONL dataset into train / val / test (random, stratified, or k-fold
// with a held-out test set; by ratios or absolute sizes, the rows beyond the sizes going to
// `rest`), optionally keeping groups of related rows together. The assignment logic lives in
// split_core.hpp; this file reads rows, maps labels and groups to ids, and writes the outputs.
// Rows are copied byte for byte (original line text), in input order.
#include "split_core.hpp"

#include <graft/jsonl.hpp>
#include <graft/stage.hpp>

#include <fstream>
#include <map>
#include <unordered_map>

namespace graft {
namespace {

using sdk::json;
using sdk::StageError;
namespace fs = std::filesystem;

constexpr std::size_t kCheckEvery = 4096;  // rows between cancellation checks

struct Params {
    std::string method;
    split::SplitOptions options;
    std::string stratify;
    std::string group_by;
};

Params read_params(sdk::RunContext& ctx) {
    Params p;
    p.method = ctx.param<std::string>("method");
    p.stratify = ctx.param<std::string>("stratify");
    p.group_by = ctx.param<std::string>("group_by");
    const auto ratios = ctx.param<std::vector<double>>("ratios");
    const auto sizes = ctx.param<std::vector<std::int64_t>>("sizes");
    try {
        if (!sizes.empty()) {
            p.options.sizes = split::check_sizes(sizes);
            if (ratios != std::vector<double>{0.8, 0.1, 0.1})
                ctx.warn("sizes = [{}] is set, so ratios = {} is ignored", fmt::join(sizes, ", "),
                         split::format_ratios(ratios));
        } else {
            p.options.ratios = split::check_ratios(ratios);
        }
    } catch (const std::invalid_argument& e) {
        throw StageError(e.what());
    }
    p.options.shuffle = ctx.param<bool>("shuffle");
    if (p.method == "random" && !p.stratify.empty()) {
        ctx.info("stratify = \"{}\" with method = \"random\": splitting stratified by '{}'",
                 p.stratify, p.stratify);
        p.method = "stratified";
    }
    if (p.method == "stratified" && p.stratify.empty())
        throw StageError("method = \"stratified\" needs the label field to stratify on, e.g. "
                         "stratify = \"label\"");
    if (p.method != "random" && p.method != "stratified" && p.method != "kfold")
        throw StageError(fmt::format("method = \"{}\" is not known; use \"random\", "
                                     "\"stratified\" or \"kfold\"",
                                     p.method));
    p.options.kfold = p.method == "kfold";
    if (p.options.kfold) {
        const auto folds = ctx.param<std::int64_t>("folds");
        const auto fold = ctx.param<std::int64_t>("fold");
        if (folds < 2)
            throw StageError(fmt::format("folds = {}: k-fold needs at least 2 folds", folds));
        if (fold < 0 || fold >= folds)
            throw StageError(fmt::format("fold = {} is out of range for folds = {}; use a fold "
                                         "from 0 to {}",
                                         fold, folds, folds - 1));
        p.options.folds = static_cast<std::size_t>(folds);
        p.options.fold = static_cast<std::size_t>(fold);
    }
    const auto seed = ctx.param<std::int64_t>("seed");
    if (seed < -1)
        throw StageError(fmt::format("seed = {}: use -1 (the pipeline's per-stage seed) or a "
                                     "number >= 0",
                                     seed));
    p.options.seed = seed == -1 ? ctx.seed() : static_cast<std::uint64_t>(seed);
    return p;
}

// The input rows plus the ids the assignment needs.
struct Rows {
    std::vector<std::string> text;        // original line of each row
    std::vector<std::size_t> label;       // class id per row (stratified only)
    std::vector<std::string> class_names;  // by class id; ids follow sorted label order
    std::vector<std::size_t> group;       // group id per row (group_by only), first-seen order
    std::size_t groups = 0;
};

// A field's value as a key: its JSON text, so 1 and "1" are different labels.
std::string field_key(const json& row, const std::string& field, const char* param,
                      const fs::path& file, std::size_t line_no) {
    auto it = row.find(field);
    if (it == row.end() || it->is_null())
        throw StageError(fmt::format(
            "{}:{}: row has no value for field '{}' ({} = \"{}\"); every row needs it: fill it "
            "in or drop such rows before the split",
            file.string(), line_no, field, param, field));
    return it->dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string display_label(const std::string& key) {
    json v = json::parse(key, nullptr, false);
    return v.is_string() ? v.get<std::string>() : key;
}

Rows read_rows(sdk::RunContext& ctx, const fs::path& file, const Params& p) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw StageError(fmt::format("cannot open input '{}'", file.string()));
    Rows rows;
    std::map<std::string, std::size_t> label_ids;  // key -> first-seen id (remapped below)
    std::unordered_map<std::string, std::size_t> group_ids;
    std::string line;
    std::size_t line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (line_no % kCheckEvery == 0) {
            ctx.check_cancelled();
            ctx.progress(line_no, 0, "lines");
        }
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        json row = json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (row.is_discarded())
            throw StageError(fmt::format("{}:{}: not valid JSON (expected one JSON object per "
                                         "line)",
                                         file.string(), line_no));
        if (!row.is_object())
            throw StageError(fmt::format("{}:{}: expected a JSON object, found {}",
                                         file.string(), line_no, row.type_name()));
        // The validator refuses an augment stage upstream; this catches augmented rows that
        // arrive as a file.
        if (auto mark = row.find("augmented"); mark != row.end() && *mark == true)
            throw StageError(fmt::format(
                "{}:{}: row is marked \"augmented\": true (a synthetic copy made by the augment "
                "stage); splitting augmented rows leaks copies of training rows into val/test. "
                "Split the original rows and augment only the train output",
                file.string(), line_no));
        if (!p.stratify.empty()) {
            auto key = field_key(row, p.stratify, "stratify", file, line_no);
            auto [it, added] = label_ids.try_emplace(std::move(key), label_ids.size());
            rows.label.push_back(it->second);
        }
        if (!p.group_by.empty()) {
            auto key = field_key(row, p.group_by, "group_by", file, line_no);
            auto [it, added] = group_ids.try_emplace(std::move(key), group_ids.size());
            rows.group.push_back(it->second);
        }
        rows.text.push_back(std::move(line));
    }
    if (in.bad()) throw StageError(fmt::format("error reading '{}'", file.string()));
    // Class ids in sorted label order, so classes are always processed in the same order.
    std::vector<std::size_t> remap(label_ids.size());
    for (const auto& [key, first_seen] : label_ids) {
        remap[first_seen] = rows.class_names.size();
        rows.class_names.push_back(display_label(key));
    }
    for (auto& l : rows.label) l = remap[l];
    rows.groups = group_ids.size();
    return rows;
}

// Units for the assignment: rows, or groups (with their majority label, ties to the label that
// sorts first). `mixed` counts groups whose rows do not all share one label.
split::Units make_units(const Rows& rows, bool stratified, std::size_t& mixed) {
    split::Units u;
    const std::size_t n = rows.text.size();
    if (stratified) u.classes = rows.class_names.size();
    if (rows.group.empty()) {
        u.size.assign(n, 1);
        if (stratified) u.cls = rows.label;
        return u;
    }
    u.size.assign(rows.groups, 0);
    for (std::size_t g : rows.group) ++u.size[g];
    if (!stratified) return u;
    std::map<std::pair<std::size_t, std::size_t>, std::size_t> counts;  // (group, class) -> rows
    for (std::size_t i = 0; i < n; ++i) ++counts[{rows.group[i], rows.label[i]}];
    u.cls.assign(rows.groups, 0);
    std::vector<std::size_t> best(rows.groups, 0), labels(rows.groups, 0);
    for (const auto& [key, count] : counts) {
        const auto [g, c] = key;
        ++labels[g];
        if (count > best[g]) {  // strict: on a tie the smaller class id (sorted first) stays
            best[g] = count;
            u.cls[g] = c;
        }
    }
    mixed = static_cast<std::size_t>(
        std::count_if(labels.begin(), labels.end(), [](std::size_t l) { return l > 1; }));
    return u;
}

// Writes the rows for which keep(i) holds, in input order; returns how many.
template <class Keep>
std::size_t write_rows(sdk::RunContext& ctx, const fs::path& file, const Rows& rows, Keep keep) {
    std::ofstream out(file, std::ios::binary);
    if (!out) throw StageError(fmt::format("cannot write '{}'", file.string()));
    std::size_t written = 0;
    for (std::size_t i = 0; i < rows.text.size(); ++i) {
        if (i % kCheckEvery == 0) ctx.check_cancelled();
        if (!keep(i)) continue;
        out << rows.text[i] << '\n';
        ++written;
    }
    out.close();
    if (out.fail())
        throw StageError(fmt::format("writing '{}' failed (disk full?)", file.string()));
    return written;
}

// "8 rows (80.0%) [neg 4, pos 4]"
template <class Keep>
std::string summary(const Rows& rows, Keep keep) {
    std::vector<std::size_t> per_class(rows.class_names.size(), 0);
    std::size_t count = 0;
    for (std::size_t i = 0; i < rows.text.size(); ++i) {
        if (!keep(i)) continue;
        ++count;
        if (!rows.label.empty()) ++per_class[rows.label[i]];
    }
    const double pct =
        rows.text.empty() ? 0.0 : 100.0 * static_cast<double>(count) / rows.text.size();
    std::string s = fmt::format("{} rows ({:.1f}%)", count, pct);
    if (!rows.label.empty()) {
        std::vector<std::string> parts;
        for (std::size_t c = 0; c < per_class.size(); ++c)
            parts.push_back(fmt::format("{} {}", rows.class_names[c], per_class[c]));
        s += fmt::format(" [{}]", fmt::join(parts, ", "));
    }
    return s;
}

class Split final : public sdk::StageImpl {
public:
    static sdk::Descriptor describe() {
        return sdk::Descriptor(
                   "split", "2",
                   "Splits a JSONL dataset into train/val/test: random, stratified by a label "
                   "field, or k-fold (a held-out test set, the rest cut into folds; val = one "
                   "fold). Sizes are exact (largest-remainder rounding of n * ratios), or "
                   "absolute row counts with `sizes`, the rows beyond them going to `rest` (e.g. "
                   "500 train / 500 val / 5000 test from a labeled pool, the rest unused or an "
                   "unlabeled pool). Stratified splits keep each class's proportions within one "
                   "row in every output. With group_by, rows sharing that field's value stay in "
                   "one split (sizes then approximate the targets) and stratification uses each "
                   "group's majority label. Rows keep their input order in every output; the "
                   "result depends only on the seed and the input. Augmented rows (marked "
                   "\"augmented\": true by the augment stage) are refused: augment after the "
                   "split, on its train output.")
            .input("data", "jsonl", "rows to split (one JSON object per line)")
            .refuses_augmented_input()
            .output("train", "jsonl", "training rows")
            .output("val", "jsonl", "validation rows (kfold: fold `fold`)")
            .output("test", "jsonl", "test rows (empty with 2 ratios or 2 sizes)")
            .output("rest", "jsonl",
                    "with `sizes`: the rows beyond train + val + test; always written, empty "
                    "with ratios")
            .output_dir("folds", "jsonl-folds",
                        "kfold: fold-0.jsonl ... fold-<folds-1>.jsonl (the non-test rows); "
                        "empty otherwise")
            .param_string("method", "random",
                          "\"random\", \"stratified\" (by `stratify`) or \"kfold\"; \"random\" "
                          "with `stratify` set splits stratified",
                          {"random", "stratified", "kfold"})
            .param("ratios", "list<float>", json::array({0.8, 0.1, 0.1}),
                   "[train, val, test] or [train, val]; non-negative, summing to 1. kfold uses "
                   "only the test ratio. Ignored when `sizes` is set",
                   0.0, 1.0)
            .param("sizes", "list<int>", json::array(),
                   "absolute row counts [train, val, test] or [train, val] instead of ratios; "
                   "rows beyond their sum go to `rest`, and more rows than the input has is an "
                   "error. Stratified: each output keeps the class proportions (per class "
                   "largest remainder). kfold: the folds share train + val rows, test is "
                   "exact. [] = use ratios",
                   0.0)
            .param_string("stratify", "",
                          "field whose value is the class to stratify on (every row needs it)")
            .param_int("folds", 5, "kfold: number of folds", 2)
            .param_int("fold", 0, "kfold: the fold used as val (0 .. folds-1)", 0)
            .param_string("group_by", "",
                          "field whose equal values must land in the same split (e.g. a source "
                          "document id); with stratify, a group counts as its majority label")
            .param_bool("shuffle", true, "shuffle before cutting (false: cut in input order)")
            .param_int("seed", -1, "random seed; -1 = the pipeline's per-stage seed", -1);
    }

    void run(sdk::RunContext& ctx) override {
        const Params p = read_params(ctx);
        const fs::path input = ctx.input("data");
        const Rows rows = read_rows(ctx, input, p);
        ctx.check_cancelled();
        const bool stratified = !p.stratify.empty();
        std::size_t mixed = 0;
        const split::Units units = make_units(rows, stratified, mixed);
        if (mixed > 0)
            ctx.info("{} of {} groups mix several '{}' labels; each is stratified by its "
                     "majority label",
                     mixed, rows.groups, p.stratify);
        if (p.options.kfold && !p.options.sizes &&
            (p.options.ratios[0] != 0 || p.options.ratios[1] != 0))
            ctx.debug("kfold: train/val come from the folds; only the test ratio is used");

        split::SplitPlan plan;
        try {
            plan = split::plan_split(units, p.options);
        } catch (const std::invalid_argument& e) {
            throw StageError(e.what());
        }
        ctx.check_cancelled();
        std::vector<std::size_t> row_unit(rows.text.size());
        for (std::size_t i = 0; i < row_unit.size(); ++i)
            row_unit[i] = rows.group.empty() ? i : rows.group[i];

        std::array<std::size_t, 4> counts{};
        for (std::size_t part = 0; part < counts.size(); ++part) {
            auto keep = [&](std::size_t i) { return plan.part[row_unit[i]] == part; };
            counts[part] = write_rows(ctx, ctx.output(split::kPartNames[part]), rows, keep);
            if (part == split::kRest && !p.options.sizes) continue;  // always empty
            ctx.info("{}: {}", split::kPartNames[part], summary(rows, keep));
            if (part == split::kRest || counts[part] > 0 || p.options.kfold) continue;
            if (p.options.sizes && (*p.options.sizes)[part] > 0)
                ctx.warn("{} is empty although its size is {} ({} rows in all)",
                         split::kPartNames[part], (*p.options.sizes)[part], rows.text.size());
            else if (!p.options.sizes && p.options.ratios[part] > 0)
                ctx.warn("{} is empty although its ratio is {} ({} rows in all)",
                         split::kPartNames[part], p.options.ratios[part], rows.text.size());
        }
        if (p.options.kfold) write_folds(ctx, rows, plan, row_unit, p.options.folds);

        ctx.metric("rows", static_cast<double>(rows.text.size()));
        ctx.metric("train", static_cast<double>(counts[split::kTrain]));
        ctx.metric("val", static_cast<double>(counts[split::kVal]));
        ctx.metric("test", static_cast<double>(counts[split::kTest]));
        ctx.metric("rest", static_cast<double>(counts[split::kRest]));
        if (stratified) ctx.metric("classes", static_cast<double>(rows.class_names.size()));
        if (!p.group_by.empty()) ctx.metric("groups", static_cast<double>(rows.groups));
    }

private:
    static void write_folds(sdk::RunContext& ctx, const Rows& rows, const split::SplitPlan& plan,
                            const std::vector<std::size_t>& row_unit, std::size_t folds) {
        const fs::path dir = ctx.output("folds");
        for (std::size_t f = 0; f < folds; ++f) {
            auto keep = [&](std::size_t i) {
                return plan.fold[row_unit[i]] == static_cast<std::int64_t>(f);
            };
            const auto file = dir / fmt::format("fold-{}.jsonl", f);
            const std::size_t n = write_rows(ctx, file, rows, keep);
            if (n == 0) ctx.warn("fold {} is empty (too few rows for {} folds)", f, folds);
            ctx.info("fold {}: {}", f, summary(rows, keep));
        }
    }
};

}  // namespace
}  // namespace graft

GRAFT_EXPORT_STAGES(graft::Split)
