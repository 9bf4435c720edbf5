// The student of a distillation: its architecture derived from the teacher's, its initialisation
// (random, or the teacher's embeddings and alternate layers), and which teacher hidden state each
// student hidden state is matched against.
#pragma once

#include "ml/model/heads.hpp"

#include <cstdint>
#include <vector>

namespace graft::distill {

// The student's encoder shape; 0 = derived from the teacher (see student_architecture).
struct StudentShape {
    int64_t n_layers = 0;  // 0: half the teacher's layers, at least 1
    int64_t d_model = 0;   // 0: the teacher's width
    int64_t n_heads = 0;   // 0: the teacher's heads (must divide d_model)
    int64_t d_ff = 0;      // 0: the teacher's d_ff scaled by d_model / teacher d_model
};

// The teacher's architecture (a sequence classifier: same vocabulary, positions, labels, pooling,
// dropouts, LayerNorm placement) with the student's shape. Throws std::invalid_argument naming the
// param (n_layers, d_model, n_heads, d_ff) when the shape is invalid, or when the teacher is not a
// sequence classifier. A student as large as the teacher or larger is allowed (the stage warns).
ml::ModelArchitecture student_architecture(const ml::ModelArchitecture& teacher,
                                           const StudentShape& shape);

// init = teacher_layers: student layer i <- teacher layer 2i. Throws std::invalid_argument when
// the teacher has fewer than 2 * n_student - 1 layers.
std::vector<int64_t> alternate_teacher_layers(int64_t n_student, int64_t n_teacher);

// Copies the teacher's embeddings, layers alternate_teacher_layers(...), final norm (pre-LN) and
// classifier head into the student, without recording gradients. Needs equal d_model, n_heads,
// d_ff, activation, LayerNorm placement, vocabulary and positions; otherwise throws
// std::invalid_argument saying which differ and to use init = "random".
void init_from_teacher_layers(ml::TaskModelImpl& student, const ml::TaskModelImpl& teacher);

// Hidden-state matching: student hidden_states[j] (j = 0: embeddings, j = i + 1: layer i) is
// compared with teacher hidden_states[map[j]], map[j] = round(j * n_teacher / n_student), so the
// embeddings match the embeddings and the last student layer the last teacher layer.
std::vector<int64_t> hidden_state_map(int64_t n_student, int64_t n_teacher);

int64_t count_parameters(const torch::nn::Module& module);

}  // namespace graft::distill
