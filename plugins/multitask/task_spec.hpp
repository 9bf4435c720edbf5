// The multitask stage's task declarations and data. Task i (0-based) reads the input ports
// train_<letter> and val_<letter> (letters a, b, c, d) and writes model_<letter>; its name, kind,
// loss weight, metric weight and fields come from the list params (one entry per task) and the
// `fields` table. Everything is checked before any data is read; errors name the param.
#pragma once

#include "ml/model/heads.hpp"
#include "ml/tokenizer/tokenizer.hpp"
#include "ml/train/batching.hpp"

#include <graft/stage.hpp>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace graft::multitask {

inline constexpr std::size_t kMaxTasks = 4;

// "a", "b", "c", "d" for tasks 0..3.
std::string port_letter(std::size_t task);

struct TaskSpec {
    std::string name;
    ml::HeadKind kind = ml::HeadKind::sequence_classification;
    double loss_weight = 1.0;
    double metric_weight = 1.0;
    std::string text_field, label_field, tokens_field, tags_field;
    std::string train_port, val_port, model_port;  // "train_a", "val_a", "model_a"
};

// Reads tasks, kinds, loss_weights, metric_weights, fields and the default *_field params, and
// checks them against the connected input ports (`connected`): each task needs its train and val
// port, and no port past the last task may be connected. Throws sdk::StageError naming the param.
std::vector<TaskSpec> parse_task_specs(const sdk::json& params, const std::vector<std::string>& connected);

// A task's encoded rows and its label names (class id = index).
struct TaskData {
    std::vector<std::string> labels;
    std::vector<ml::Example> train, val;
};

// Reads and encodes a task's rows (read_rows / read_tagged_rows and the encoders of the transfer
// plugin); sequence classification rows longer than max_len are cut as `truncation` says. Labels are the sorted distinct training labels; a validation label outside them is an
// error for sequence classification and an unscored tag (logged through `warn`) for token
// classification. Errors are prefixed with the task and its port.
TaskData load_task_data(const TaskSpec& spec, const std::filesystem::path& train,
                        const std::filesystem::path& val, const ml::Tokenizer& tok, std::size_t max_len,
                        ml::Truncation truncation, const std::function<void(const std::string&)>& info,
                        const std::function<void(const std::string&)>& warn);

}  // namespace graft::multitask
