// The student's architecture, teacher-layer initialisation, hidden-state map and checkpoint form.
#include "distill_task.hpp"
#include "student.hpp"

#include "ml/model/checkpoint.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

using namespace graft;
using namespace graft::distill;

namespace {

ml::ModelArchitecture teacher_arch(int64_t n_layers = 4) {
    ml::ModelArchitecture a;
    a.head = ml::HeadKind::sequence_classification;
    a.encoder = ml::TransformerEncoderOptions(50).max_len(16).d_model(16).n_layers(n_layers).n_heads(2).d_ff(32).pre_ln(true);
    a.labels = {"neg", "pos"};
    a.pooling = "mean";
    return a;
}

}  // namespace

TEST_CASE("student_architecture derives its defaults from the teacher", "[distill][student]") {
    const auto t = teacher_arch();
    const auto half = student_architecture(t, {});
    CHECK(half.encoder.n_layers() == 2);
    CHECK(half.encoder.d_model() == 16);
    CHECK(half.encoder.n_heads() == 2);
    CHECK(half.encoder.d_ff() == 32);
    CHECK(half.labels == t.labels);
    CHECK(half.pooling == "mean");
    const auto narrow = student_architecture(t, {1, 8, 0, 0});
    CHECK(narrow.encoder.d_ff() == 16);  // 32 * 8 / 16
    CHECK(narrow.encoder.vocab_size() == 50);
    CHECK(student_architecture(teacher_arch(1), {}).encoder.n_layers() == 1);
}

TEST_CASE("student_architecture names the bad param", "[distill][student]") {
    const auto t = teacher_arch();
    CHECK_THROWS_WITH(student_architecture(t, {2, 10, 3, 0}),
                      Catch::Contains("n_heads = 3 does not divide d_model = 10"));
    CHECK_THROWS_WITH(student_architecture(t, {-1, 0, 0, 0}), Catch::Contains("n_layers = -1"));
    auto lm = t;
    lm.head = ml::HeadKind::mlm;
    lm.labels.clear();
    CHECK_THROWS_WITH(student_architecture(lm, {}), Catch::Contains("sequence_classification"));
}

TEST_CASE("teacher_layers init copies embeddings, layers 0 and 2, final norm and head", "[distill][student]") {
    torch::manual_seed(1);
    auto teacher = ml::build_model(teacher_arch());
    auto student = ml::build_model(student_architecture(teacher->architecture(), {2, 0, 0, 0}));
    init_from_teacher_layers(*student, *teacher);
    const auto t = ml::state_dict(*teacher);
    const auto s = ml::state_dict(*student);
    const auto same = [&](const std::string& sn, const std::string& tn) { return torch::equal(s.at(sn), t.at(tn)); };
    CHECK(same("encoder.embeddings.token.weight", "encoder.embeddings.token.weight"));
    CHECK(same("encoder.embeddings.position.weight", "encoder.embeddings.position.weight"));
    CHECK(same("encoder.layers.0.attention.query.weight", "encoder.layers.0.attention.query.weight"));
    CHECK(same("encoder.layers.1.attention.query.weight", "encoder.layers.2.attention.query.weight"));
    CHECK(same("encoder.layers.1.feed_forward.output.bias", "encoder.layers.2.feed_forward.output.bias"));
    CHECK_FALSE(same("encoder.layers.1.attention.query.weight", "encoder.layers.1.attention.query.weight"));
    CHECK(same("encoder.final_norm.weight", "encoder.final_norm.weight"));
    CHECK(same("head.classifier.weight", "head.classifier.weight"));
}

TEST_CASE("teacher_layers init refuses mismatched widths and too few teacher layers", "[distill][student]") {
    auto teacher = ml::build_model(teacher_arch());
    auto narrow = ml::build_model(student_architecture(teacher->architecture(), {2, 8, 0, 0}));
    CHECK_THROWS_WITH(init_from_teacher_layers(*narrow, *teacher),
                      Catch::Contains("d_model student 8 vs teacher 16") && Catch::Contains("init = \"random\""));
    auto deep = ml::build_model(student_architecture(teacher->architecture(), {3, 0, 0, 0}));
    CHECK_THROWS_WITH(init_from_teacher_layers(*deep, *teacher),
                      Catch::Contains("needs a teacher of at least 5 layers, this one has 4"));
    CHECK(alternate_teacher_layers(2, 3) == std::vector<int64_t>{0, 2});
}

TEST_CASE("hidden_state_map matches embeddings to embeddings and last layer to last", "[distill][student]") {
    CHECK(hidden_state_map(2, 4) == std::vector<int64_t>{0, 2, 4});
    CHECK(hidden_state_map(3, 4) == std::vector<int64_t>{0, 1, 3, 4});
    CHECK(hidden_state_map(1, 6) == std::vector<int64_t>{0, 6});
    CHECK(hidden_state_map(4, 2) == std::vector<int64_t>{0, 1, 1, 2, 2});  // wider than the teacher
}

TEST_CASE("a student checkpoint round-trips its config and weights", "[distill][student]") {
    graft::testing::TempDir dir;
    torch::manual_seed(2);
    auto teacher = ml::build_model(teacher_arch());
    auto student = ml::build_model(student_architecture(teacher->architecture(), {1, 8, 2, 0}));
    ml::save_checkpoint(dir / "student", *student);
    const auto loaded = ml::load_checkpoint(dir / "student");
    CHECK(ml::architecture_to_json(loaded.model->architecture()) == ml::architecture_to_json(student->architecture()));
    CHECK(loaded.model->architecture().encoder.d_model() == 8);
    for (const auto& [name, tensor] : ml::state_dict(*student)) {
        INFO(name);
        CHECK(torch::equal(tensor, ml::state_dict(*loaded.model).at(name)));
    }
}

TEST_CASE("DistillTask trains the student and the projections, never the teacher", "[distill][task]") {
    torch::manual_seed(4);
    auto teacher = ml::build_model(teacher_arch());
    auto student = ml::build_model(student_architecture(teacher->architecture(), {1, 8, 2, 0}));
    std::vector<ml::Example> rows = {{{2, 5, 6, 3}, {0}}, {{2, 7, 3}, {1}}};
    const auto cached = teacher_logits(*teacher, rows, 8, 0);
    REQUIRE(cached.sizes() == torch::IntArrayRef({2, 2}));
    DistillTask task(student, teacher, cached, {{2.0, 0.5}, 1.0});
    const auto batch = ml::collate(rows, std::vector<size_t>{0, 1}, {0, ml::LabelKind::sequence, 0});
    task.module().train();
    const auto loss = task.loss(batch);
    loss.backward();
    // total = KD parts + beta * MSE, with beta = 1
    CHECK(loss.item<double>() == Approx(task.last_parts().total.item<double>() + task.last_hidden_mse()).epsilon(1e-5));
    CHECK(task.last_hidden_mse() > 0);
    int projections = 0;
    for (const auto& p : task.module().named_parameters()) {
        INFO(p.key());
        if (p.key().rfind("projection.", 0) == 0) ++projections;
        CHECK(p.value().grad().defined());
    }
    CHECK(projections == 4);  // weight + bias for each of the 2 matched hidden states
    for (const auto& p : teacher->parameters()) CHECK_FALSE(p.grad().defined());
    // Cached logits are the teacher's eval-mode logits, row by row.
    torch::NoGradGuard no_grad;
    teacher->eval();
    const auto direct = teacher->forward(batch.ids, batch.attention_mask);
    CHECK(torch::allclose(direct, cached, 1e-5, 1e-6));
}

TEST_CASE("a structurally pruned teacher gives a uniform student, teacher_layers init refuses it",
          "[distill][student]") {
    auto t = teacher_arch();
    t.encoder.layer_heads({2, 1, 1, 2}).layer_d_ff({32, 20, 12, 32});
    REQUIRE_FALSE(t.encoder.uniform());
    const auto s = student_architecture(t, {});
    CHECK(s.encoder.uniform());
    CHECK(s.encoder.n_layers() == 2);
    // Same depth and widths as the pruned teacher's nominal ones, but its layers are narrower.
    auto same = student_architecture(t, {4, 0, 0, 0});
    auto student = ml::build_model(same);
    auto teacher = ml::build_model(t);
    CHECK_THROWS_WITH(init_from_teacher_layers(*student, *teacher), Catch::Contains("structurally pruned"));
}
