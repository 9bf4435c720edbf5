#include "task_spec.hpp"

#include "common.hpp"  // the transfer plugin's row readers and encoders

#include <map>
#include <regex>
#include <set>

namespace graft::multitask {

namespace {

using sdk::json;
using sdk::StageError;

const char* ordinal(std::size_t i) {
    static const char* names[] = {"first", "second", "third", "fourth"};
    return i < 4 ? names[i] : "next";
}

template <class T>
std::vector<T> list_param(const json& params, const std::string& name) {
    const auto it = params.find(name);
    if (it == params.end() || it->is_null()) return {};
    try {
        return it->get<std::vector<T>>();
    } catch (const json::exception& e) {
        throw StageError(fmt::format("parameter '{}': {}", name, e.what()));
    }
}

std::string string_param(const json& params, const std::string& name, const std::string& fallback) {
    const auto it = params.find(name);
    return it != params.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// One entry per task, or none (then every task gets `fallback`).
template <class T>
std::vector<T> per_task(const json& params, const std::string& name, std::size_t n, const T& fallback) {
    auto v = list_param<T>(params, name);
    if (v.empty()) return std::vector<T>(n, fallback);
    if (v.size() != n)
        throw StageError(fmt::format("parameter '{}' has {} entries but tasks names {} task(s); give one per "
                                     "task, in the order of tasks, or leave it out",
                                     name, v.size(), n));
    return v;
}

}  // namespace

std::string port_letter(std::size_t task) { return std::string(1, static_cast<char>('a' + task)); }

std::vector<TaskSpec> parse_task_specs(const json& params, const std::vector<std::string>& connected) {
    const auto names = list_param<std::string>(params, "tasks");
    if (names.empty())
        throw StageError("parameter 'tasks' is empty: name each task, e.g. tasks = [\"sentiment\", \"pos\"]");
    if (names.size() > kMaxTasks)
        throw StageError(fmt::format("parameter 'tasks' names {} tasks; the stage has ports for at most {}",
                                     names.size(), kMaxTasks));
    static const std::regex identifier("[a-z][a-z0-9_]*");
    std::set<std::string> seen;
    for (const auto& n : names) {
        if (!std::regex_match(n, identifier))
            throw StageError(fmt::format("parameter 'tasks': '{}' is not a valid task name (lower-case letters, "
                                         "digits and '_', starting with a letter; it prefixes metric names)", n));
        if (!seen.insert(n).second) throw StageError(fmt::format("parameter 'tasks' names '{}' twice", n));
    }
    const auto n = names.size();
    const auto kinds = per_task<std::string>(params, "kinds", n, "sequence_classification");
    const auto loss_weights = per_task<double>(params, "loss_weights", n, 1.0);
    const auto metric_weights = per_task<double>(params, "metric_weights", n, -1.0);  // -1: the loss weight

    const json fields = params.contains("fields") && params["fields"].is_object() ? params["fields"] : json::object();
    for (const auto& [task, table] : fields.items()) {
        if (!seen.count(task))
            throw StageError(fmt::format("parameter 'fields' has an entry for '{}', which is not in tasks ({})", task,
                                         fmt::join(names, ", ")));
        if (!table.is_object())
            throw StageError(fmt::format("parameter 'fields.{}' must be a table such as {{ text = \"t\", label = \"s\" }}",
                                         task));
        for (const auto& [key, value] : table.items()) {
            if (key != "text" && key != "label" && key != "tokens" && key != "tags")
                throw StageError(fmt::format("parameter 'fields.{}.{}': unknown key (use text, label, tokens or tags)",
                                             task, key));
            if (!value.is_string())
                throw StageError(fmt::format("parameter 'fields.{}.{}' must be a string (a field name)", task, key));
        }
    }

    const std::set<std::string> ports(connected.begin(), connected.end());
    std::vector<TaskSpec> specs;
    double metric_total = 0, loss_total = 0;
    for (std::size_t i = 0; i < n; ++i) {
        TaskSpec s;
        s.name = names[i];
        try {
            s.kind = ml::head_kind_from_string(kinds[i]);
        } catch (const std::invalid_argument&) {
            s.kind = ml::HeadKind::mlm;
        }
        if (s.kind != ml::HeadKind::sequence_classification && s.kind != ml::HeadKind::token_classification)
            throw StageError(fmt::format("parameter 'kinds': '{}' (task '{}') is not sequence_classification or "
                                         "token_classification", kinds[i], s.name));
        s.loss_weight = loss_weights[i];
        s.metric_weight = metric_weights[i] < 0 ? loss_weights[i] : metric_weights[i];
        if (!(s.loss_weight >= 0))
            throw StageError(fmt::format("parameter 'loss_weights': {} for task '{}' is negative", s.loss_weight, s.name));
        loss_total += s.loss_weight;
        metric_total += s.metric_weight;
        const json own = fields.value(s.name, json::object());
        s.text_field = own.value("text", string_param(params, "text_field", "text"));
        s.label_field = own.value("label", string_param(params, "label_field", "label"));
        s.tokens_field = own.value("tokens", string_param(params, "tokens_field", "tokens"));
        s.tags_field = own.value("tags", string_param(params, "tags_field", "tags"));
        const auto l = port_letter(i);
        s.train_port = "train_" + l;
        s.val_port = "val_" + l;
        s.model_port = "model_" + l;
        for (const auto& port : {s.train_port, s.val_port})
            if (!ports.count(port))
                throw StageError(fmt::format("task '{}' (the {} in tasks) reads its rows from the inputs {} and {}; "
                                             "connect {}", s.name, ordinal(i), s.train_port, s.val_port, port));
        specs.push_back(std::move(s));
    }
    for (std::size_t i = n; i < kMaxTasks; ++i)
        for (const auto& port : {"train_" + port_letter(i), "val_" + port_letter(i)})
            if (ports.count(port))
                throw StageError(fmt::format("input {} is connected but tasks names only {} task(s); add a {} name "
                                             "to tasks or disconnect {}", port, n, ordinal(i), port));
    if (loss_total <= 0)
        throw StageError("parameter 'loss_weights': every weight is 0, so nothing would train");
    if (metric_total <= 0)
        throw StageError("parameter 'metric_weights': every weight is 0, so no validation score can select the best "
                         "model");
    return specs;
}

TaskData load_task_data(const TaskSpec& spec, const std::filesystem::path& train, const std::filesystem::path& val,
                        const ml::Tokenizer& tok, std::size_t max_len, ml::Truncation truncation,
                        const std::function<void(const std::string&)>& info,
                        const std::function<void(const std::string&)>& warn) {
    const std::string who = fmt::format("task '{}' ({}/{})", spec.name, spec.train_port, spec.val_port);
    TaskData d;
    try {
        std::map<std::string, std::int64_t> ids;
        auto index = [&](const std::set<std::string>& names) {
            if (names.size() < 2)
                throw StageError(fmt::format("the training rows have {} distinct label(s); need at least 2", names.size()));
            d.labels.assign(names.begin(), names.end());
            for (std::size_t i = 0; i < d.labels.size(); ++i) ids[d.labels[i]] = static_cast<std::int64_t>(i);
        };
        if (spec.kind == ml::HeadKind::token_classification) {
            const auto tr_rows = transfer::read_tagged_rows(train, spec.tokens_field, spec.tags_field);
            const auto va_rows = transfer::read_tagged_rows(val, spec.tokens_field, spec.tags_field);
            std::set<std::string> tags;
            for (const auto& row : tr_rows.tags) tags.insert(row.begin(), row.end());
            index(tags);
            std::set<std::string> unseen;
            const auto id_of = [&](const std::string& tag) {
                const auto it = ids.find(tag);
                if (it != ids.end()) return it->second;
                unseen.insert(tag);
                return ml::kIgnoreIndex;  // a validation tag never trained on is not scored
            };
            auto tr = transfer::encode_tagged(tok, tr_rows, max_len, id_of);
            auto va = transfer::encode_tagged(tok, va_rows, max_len, id_of);
            if (!unseen.empty())
                warn(fmt::format("{}: {} validation tag(s) never occur in the training rows and are not scored: {}",
                                 who, unseen.size(), fmt::join(unseen, ", ")));
            if (const auto cut = tr.truncated_words + va.truncated_words)
                info(fmt::format("{}: {} words past max_len = {} tokens were cut", who, cut, max_len));
            d.train = std::move(tr.examples);
            d.val = std::move(va.examples);
        } else {
            const auto tr_rows = transfer::read_rows(train, spec.text_field, spec.label_field);
            const auto va_rows = transfer::read_rows(val, spec.text_field, spec.label_field);
            index(std::set<std::string>(tr_rows.labels.begin(), tr_rows.labels.end()));
            std::size_t truncated = 0;
            d.train = transfer::encode_rows(tok, tr_rows.texts, max_len, &truncated, truncation);
            d.val = transfer::encode_rows(tok, va_rows.texts, max_len, &truncated, truncation);
            const std::string fix = "a task's validation labels must occur in its training rows";
            transfer::assign_class_labels(tr_rows, ids, train, "task's classifier", fix, d.train);
            transfer::assign_class_labels(va_rows, ids, val, "task's classifier", fix, d.val);
            if (truncated)
                info(fmt::format("{}: {} rows longer than max_len = {} tokens were truncated (truncation = {})", who,
                                 truncated, max_len, ml::to_string(truncation)));
        }
    } catch (const StageError& e) {
        throw StageError(fmt::format("{}: {}", who, e.what()));
    }
    info(fmt::format("{}: {}, {} labels, {} training and {} validation rows", who, ml::to_string(spec.kind),
                     d.labels.size(), d.train.size(), d.val.size()));
    return d;
}

}  // namespace graft::multitask
