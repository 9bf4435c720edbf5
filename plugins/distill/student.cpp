#include "student.hpp"

#include "ml/model/checkpoint.hpp"

#include <fmt/format.h>

#include <cmath>
#include <regex>
#include <stdexcept>
#include <string>

namespace graft::distill {

ml::ModelArchitecture student_architecture(const ml::ModelArchitecture& teacher,
                                           const StudentShape& shape) {
    if (teacher.head != ml::HeadKind::sequence_classification)
        throw std::invalid_argument(fmt::format(
            "the teacher is a {} model; distill needs a sequence_classification checkpoint (the "
            "output of a finetune stage)", ml::to_string(teacher.head)));
    const auto& t = teacher.encoder;
    for (const auto& [name, value] : {std::pair{"n_layers", shape.n_layers}, {"d_model", shape.d_model},
                                      {"n_heads", shape.n_heads}, {"d_ff", shape.d_ff}})
        if (value < 0)
            throw std::invalid_argument(
                fmt::format("{} = {}: expected a positive size, or 0 to derive it from the teacher", name, value));
    const int64_t n_layers = shape.n_layers > 0 ? shape.n_layers : std::max<int64_t>(1, t.n_layers() / 2);
    const int64_t d_model = shape.d_model > 0 ? shape.d_model : t.d_model();
    const int64_t n_heads = shape.n_heads > 0 ? shape.n_heads : t.n_heads();
    const int64_t d_ff = shape.d_ff > 0 ? shape.d_ff
                                        : std::max<int64_t>(1, t.d_ff() * d_model / t.d_model());
    if (d_model % n_heads != 0)
        throw std::invalid_argument(fmt::format(
            "n_heads = {} does not divide d_model = {}{}: set n_heads to a divisor of d_model", n_heads,
            d_model, shape.n_heads > 0 ? "" : " (n_heads defaults to the teacher's)"));
    ml::ModelArchitecture a = teacher;
    // A structurally pruned teacher has per-layer widths; the student is uniform at its own sizes.
    a.encoder.n_layers(n_layers).d_model(d_model).n_heads(n_heads).d_ff(d_ff).layer_heads({}).layer_d_ff({});
    try {
        a.validate();
    } catch (const std::exception& e) {
        throw std::invalid_argument(fmt::format("student architecture: {}", e.what()));
    }
    return a;
}

std::vector<int64_t> alternate_teacher_layers(int64_t n_student, int64_t n_teacher) {
    if (n_student < 1 || 2 * n_student - 1 > n_teacher)
        throw std::invalid_argument(fmt::format(
            "init = \"teacher_layers\" copies teacher layers 0, 2, 4, ...: a student of n_layers = {} "
            "needs a teacher of at least {} layers, this one has {} (lower n_layers to at most {}, or "
            "use init = \"random\")", n_student, 2 * n_student - 1, n_teacher, (n_teacher + 1) / 2));
    std::vector<int64_t> out;
    for (int64_t i = 0; i < n_student; ++i) out.push_back(2 * i);
    return out;
}

void init_from_teacher_layers(ml::TaskModelImpl& student, const ml::TaskModelImpl& teacher) {
    const auto& s = student.architecture().encoder;
    const auto& t = teacher.architecture().encoder;
    std::vector<std::string> diffs;
    auto differ = [&](const char* name, auto a, auto b) {
        if (a != b) diffs.push_back(fmt::format("{} student {} vs teacher {}", name, a, b));
    };
    differ("d_model", s.d_model(), t.d_model());
    differ("n_heads", s.n_heads(), t.n_heads());
    differ("d_ff", s.d_ff(), t.d_ff());
    differ("vocab_size", s.vocab_size(), t.vocab_size());
    differ("max_len", s.max_len(), t.max_len());
    differ("pre_ln", s.pre_ln(), t.pre_ln());
    differ("activation", s.activation(), t.activation());
    differ("num_labels", student.architecture().num_labels(), teacher.architecture().num_labels());
    if (!t.uniform())
        diffs.push_back("the teacher was structurally pruned (its layers differ in heads or "
                        "feed-forward units)");
    if (!diffs.empty())
        throw std::invalid_argument(fmt::format(
            "init = \"teacher_layers\" copies teacher tensors, so the shapes must match, but {}: "
            "use the teacher's sizes (leave d_model, n_heads and d_ff at 0) or init = \"random\" "
            "(hidden_mse then goes through a learned projection)", fmt::join(diffs, ", ")));
    const auto layers = alternate_teacher_layers(s.n_layers(), t.n_layers());
    const ml::TensorMap source = ml::state_dict(teacher);
    static const std::regex layer_name(R"(^encoder\.layers\.(\d+)\.(.*)$)");
    ml::TensorMap mapped;
    for (const auto& [name, tensor] : ml::state_dict(student)) {
        std::smatch m;
        std::string from = name;
        if (std::regex_match(name, m, layer_name))
            from = fmt::format("encoder.layers.{}.{}", layers.at(std::stoul(m[1].str())), m[2].str());
        const auto it = source.find(from);
        if (it == source.end())
            throw std::invalid_argument(fmt::format(
                "init = \"teacher_layers\": the teacher has no tensor '{}' for the student's '{}'", from, name));
        mapped[name] = it->second;
    }
    ml::load_state(student, mapped, /*strict=*/true, "", "teacher layers");
}

std::vector<int64_t> hidden_state_map(int64_t n_student, int64_t n_teacher) {
    std::vector<int64_t> map;
    for (int64_t j = 0; j <= n_student; ++j)
        map.push_back(static_cast<int64_t>(std::llround(static_cast<double>(j * n_teacher) /
                                                        static_cast<double>(n_student))));
    return map;
}

int64_t count_parameters(const torch::nn::Module& module) {
    int64_t n = 0;
    for (const auto& p : module.parameters()) n += p.numel();
    return n;
}

}  // namespace graft::distill
