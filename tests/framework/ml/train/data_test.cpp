// Batching, MLM masking, optimizer groups, schedules and runtime set-up.
#include "ml/train/batching.hpp"
#include "ml/train/mlm.hpp"
#include "ml/train/optim.hpp"
#include "ml/train/runtime.hpp"

#include "tiny_task.hpp"

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <ATen/autocast_mode.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>
#include <set>

using namespace graft::ml;

namespace {

std::vector<Example> lengths_dataset(std::initializer_list<size_t> lengths) {
    std::vector<Example> examples;
    int64_t next = 1;
    for (const size_t length : lengths) {
        Example e;
        for (size_t i = 0; i < length; ++i) e.ids.push_back(next++);
        examples.push_back(std::move(e));
    }
    return examples;
}

int64_t total_padded(std::span<const Example> examples,
                     const std::vector<std::vector<size_t>>& plan) {
    int64_t padded = 0;
    for (const auto& batch : plan) {
        size_t longest = 0;
        for (const size_t i : batch) longest = std::max(longest, examples[i].ids.size());
        padded += static_cast<int64_t>(longest * batch.size());
    }
    return padded;
}

}  // namespace

TEST_CASE("collate pads each batch to its longest example and masks the padding",
          "[batching]") {
    auto examples = lengths_dataset({3, 1, 5});
    examples[0].labels = {1};
    examples[1].labels = {0};
    examples[2].labels = {1};
    CollateOptions options;
    options.pad_id = 7;
    options.label_kind = LabelKind::sequence;
    const std::vector<size_t> indices{0, 1};
    const Batch batch = collate(examples, indices, options);
    REQUIRE(batch.ids.sizes() == torch::IntArrayRef({2, 3}));
    CHECK(torch::equal(batch.ids, torch::tensor({1, 2, 3, 4, 7, 7}, torch::kInt64).view({2, 3})));
    CHECK(torch::equal(batch.attention_mask,
                       torch::tensor({1, 1, 1, 1, 0, 0}, torch::kInt64).view({2, 3})));
    CHECK(torch::equal(batch.labels, torch::tensor({1, 0}, torch::kInt64)));
    CHECK(batch.real_tokens == 4);
    CHECK(batch.padded_tokens == 6);
    CHECK(batch.indices == indices);
}

TEST_CASE("collate pads token labels with the ignore index", "[batching]") {
    auto examples = lengths_dataset({2, 4});
    examples[0].labels = {5, 6};
    examples[1].labels = {1, 2, 3, kIgnoreIndex};
    CollateOptions options;
    options.label_kind = LabelKind::token;
    const std::vector<size_t> indices{0, 1};
    const Batch batch = collate(examples, indices, options);
    CHECK(torch::equal(batch.labels, torch::tensor({5, 6, -100, -100, 1, 2, 3, -100},
                                                   torch::kInt64)
                                         .view({2, 4})));
}

TEST_CASE("collate rejects bad examples with the example index and a fix", "[batching]") {
    auto examples = lengths_dataset({3, 6});
    const std::vector<size_t> both{0, 1};
    CollateOptions options;
    options.max_length = 4;
    CHECK_THROWS_WITH(collate(examples, both, options),
                      Catch::Contains("example 1 has 6 tokens") &&
                          Catch::Contains("at most 4") && Catch::Contains("truncate"));
    options.max_length = 0;
    options.label_kind = LabelKind::sequence;
    CHECK_THROWS_WITH(collate(examples, both, options),
                      Catch::Contains("example 0 has 0 labels") &&
                          Catch::Contains("label field"));
    options.label_kind = LabelKind::token;
    examples[0].labels = {1, 2};
    CHECK_THROWS_WITH(collate(examples, both, options),
                      Catch::Contains("example 0 has 3 tokens but 2 token labels"));
    examples[0].ids.clear();
    options.label_kind = LabelKind::none;
    CHECK_THROWS_WITH(collate(examples, both, options), Catch::Contains("example 0 has no tokens"));
}

TEST_CASE("truncate_examples cuts long examples and their token labels", "[batching]") {
    auto examples = lengths_dataset({2, 5, 7});
    examples[1].labels = {1, 2, 3, 4, 5};
    examples[2].labels = {1};
    CHECK(truncate_examples(examples, 4) == 2);
    CHECK(examples[0].ids.size() == 2);
    CHECK(examples[1].ids.size() == 4);
    CHECK(examples[1].labels == std::vector<int64_t>{1, 2, 3, 4});
    CHECK(examples[2].ids.size() == 4);
    CHECK(examples[2].labels == std::vector<int64_t>{1});  // a sequence label stays
}

TEST_CASE("batch plans cover every example once and are seeded", "[batching]") {
    const auto examples = test::classification_data(103, 5);
    BatchingOptions options;
    options.batch_size = 8;
    options.bucket_size = 4;
    std::mt19937_64 rng_a(42), rng_b(42), rng_c(43);
    const auto plan_a = plan_batches(examples, options, rng_a);
    const auto plan_b = plan_batches(examples, options, rng_b);
    const auto plan_c = plan_batches(examples, options, rng_c);
    CHECK(plan_a == plan_b);
    CHECK(plan_a != plan_c);
    CHECK(plan_a.size() == 13);
    std::multiset<size_t> seen;
    for (const auto& batch : plan_a) seen.insert(batch.begin(), batch.end());
    CHECK(seen.size() == examples.size());
    CHECK(std::set<size_t>(seen.begin(), seen.end()).size() == examples.size());
    // The next epoch's plan (same engine, advanced) is a different order.
    CHECK(plan_batches(examples, options, rng_a) != plan_a);

    SECTION("drop_last drops the short final batch") {
        options.drop_last = true;
        options.bucket_size = 0;
        std::mt19937_64 rng(1);
        const auto plan = plan_batches(examples, options, rng);
        CHECK(plan.size() == 12);
        for (const auto& batch : plan) CHECK(batch.size() == 8);
    }
}

TEST_CASE("length bucketing cuts padding", "[batching]") {
    const auto examples = test::classification_data(512, 9, 60);
    BatchingOptions options;
    options.batch_size = 16;
    std::mt19937_64 rng_plain(3), rng_bucketed(3);
    const auto plain = plan_batches(examples, options, rng_plain);
    options.bucket_size = 8;
    const auto bucketed = plan_batches(examples, options, rng_bucketed);
    int64_t real = 0;
    for (const auto& e : examples) real += static_cast<int64_t>(e.ids.size());
    const auto plain_padded = total_padded(examples, plain);
    const auto bucketed_padded = total_padded(examples, bucketed);
    INFO("real " << real << ", plain " << plain_padded << ", bucketed " << bucketed_padded);
    CHECK(bucketed_padded < plain_padded);
    CHECK(static_cast<double>(bucketed_padded) < 1.15 * static_cast<double>(real));
    // Batches are shuffled after bucketing: lengths do not rise monotonically through the epoch.
    std::vector<size_t> first_lengths;
    for (const auto& batch : bucketed) first_lengths.push_back(examples[batch.front()].ids.size());
    CHECK_FALSE(std::is_sorted(first_lengths.begin(), first_lengths.end()));
}

TEST_CASE("eval batches keep every example in a fixed order", "[batching]") {
    const auto examples = test::classification_data(50, 2);
    CollateOptions options;
    options.label_kind = LabelKind::sequence;
    const auto a = make_eval_batches(examples, 8, options);
    const auto b = make_eval_batches(examples, 8, options);
    REQUIRE(a.size() == 7);
    int64_t count = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        CHECK(a[i].indices == b[i].indices);
        count += a[i].size();
    }
    CHECK(count == 50);
}

TEST_CASE("uniform_below stays in range and hits every value", "[batching]") {
    std::mt19937_64 rng(0);
    std::vector<int> counts(7, 0);
    for (int i = 0; i < 7000; ++i) ++counts.at(uniform_below(rng, 7));
    for (const int c : counts) CHECK(c > 800);
    CHECK(uniform_below(rng, 1) == 0);
}

TEST_CASE("MLM masking follows BERT's 15% and 80/10/10 and never touches specials", "[mlm]") {
    constexpr int64_t vocab = 1000, cls = 1, sep = 2, mask_id = 3, pad = 0;
    constexpr int64_t rows = 440, cols = 256;
    // Real tokens in [4, vocab); [CLS] first, [SEP] last, then padding on every other row.
    auto ids = torch::randint(4, vocab, {rows, cols}, torch::kInt64);
    auto attention = torch::ones({rows, cols}, torch::kInt64);
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t length = r % 2 == 0 ? cols : cols - 1 - r % 100;
        ids.index_put_({r, 0}, cls);
        ids.index_put_({r, length - 1}, sep);
        if (length < cols) {
            ids.index_put_({r, torch::indexing::Slice(length, cols)}, pad);
            attention.index_put_({r, torch::indexing::Slice(length, cols)}, 0);
        }
    }
    MlmOptions options;
    options.mask_id = mask_id;
    options.vocab_size = vocab;
    options.special_ids = {pad, cls, sep};
    options.seed = 1234;
    MlmMasker masker(options);
    const auto [corrupted, labels] = masker.apply(ids, attention);

    const auto special = (ids == pad) | (ids == cls) | (ids == sep);
    const auto eligible = torch::logical_not(special) & (attention != 0);
    const auto selected = labels != kIgnoreIndex;
    const double n_eligible = eligible.sum().item<double>();
    const double n_selected = selected.sum().item<double>();
    REQUIRE(n_eligible > 95000);
    CHECK(n_selected / n_eligible == Approx(0.15).margin(0.005));
    CHECK((selected & special).sum().item<int64_t>() == 0);
    CHECK((selected & (attention == 0)).sum().item<int64_t>() == 0);
    // Labels hold the original ids where selected; unselected positions are unchanged.
    CHECK(torch::equal(labels.masked_select(selected), ids.masked_select(selected)));
    CHECK(torch::equal(corrupted.masked_select(~selected), ids.masked_select(~selected)));

    const double masked = (selected & (corrupted == mask_id)).sum().item<double>();
    const double kept = (selected & (corrupted == ids)).sum().item<double>();
    const auto random = selected & (corrupted != ids) & (corrupted != mask_id);
    CHECK(masked / n_selected == Approx(0.8).margin(0.015));
    CHECK(kept / n_selected == Approx(0.1).margin(0.015));
    CHECK(random.sum().item<double>() / n_selected == Approx(0.1).margin(0.015));
    // Random replacements are never special tokens.
    const auto replaced = corrupted.masked_select(random);
    CHECK((replaced == pad).logical_or(replaced == cls).logical_or(replaced == sep)
              .sum().item<int64_t>() == 0);
}

TEST_CASE("MLM masking is seeded and its generator state round-trips", "[mlm]") {
    MlmOptions options;
    options.mask_id = 3;
    options.vocab_size = 50;
    options.special_ids = {0};
    options.seed = 7;
    const auto examples = test::classification_data(16, 4);
    std::vector<size_t> indices(16);
    std::iota(indices.begin(), indices.end(), size_t{0});
    const Batch batch = collate(examples, indices, CollateOptions{});

    MlmMasker a(options), b(options);
    const Batch first = a.apply(batch);
    CHECK(torch::equal(first.ids, b.apply(batch).ids));
    CHECK(torch::equal(batch.ids, collate(examples, indices, CollateOptions{}).ids));  // untouched
    const auto saved = a.generator_state();
    const Batch second = a.apply(batch);
    CHECK_FALSE(torch::equal(second.labels, first.labels));
    a.set_generator_state(saved);
    CHECK(torch::equal(a.apply(batch).labels, second.labels));

    options.seed = 8;
    MlmMasker c(options);
    CHECK_FALSE(torch::equal(c.apply(batch).labels, first.labels));
}

TEST_CASE("MLM options are validated", "[mlm]") {
    MlmOptions options;
    options.vocab_size = 10;
    options.mask_id = 10;
    CHECK_THROWS_WITH(MlmMasker(options), Catch::Contains("mask_id 10 is outside"));
    options.mask_id = 3;
    options.mask_prob = 1.5;
    CHECK_THROWS_WITH(MlmMasker(options), Catch::Contains("mask_prob must be in [0, 1]"));
    options.mask_prob = 0.15;
    options.mask_token_prob = 0.95;
    CHECK_THROWS_WITH(MlmMasker(options), Catch::Contains("exceed 1"));
}

TEST_CASE("schedules give the expected factor at key steps", "[optim]") {
    LrSchedule linear{ScheduleKind::linear, 10, 110};
    CHECK(linear.factor(0) == Approx(0.1));
    CHECK(linear.factor(4) == Approx(0.5));
    CHECK(linear.factor(9) == Approx(1.0));
    CHECK(linear.factor(10) == Approx(1.0));
    CHECK(linear.factor(60) == Approx(0.5));
    CHECK(linear.factor(109) == Approx(0.01));
    CHECK(linear.factor(110) == Approx(0.0).margin(1e-12));
    CHECK(linear.factor(500) == Approx(0.0).margin(1e-12));

    LrSchedule cosine{ScheduleKind::cosine, 10, 110};
    CHECK(cosine.factor(0) == Approx(0.1));
    CHECK(cosine.factor(10) == Approx(1.0));
    CHECK(cosine.factor(35) == Approx(0.5 * (1 + std::cos(std::numbers::pi / 4))));
    CHECK(cosine.factor(60) == Approx(0.5));
    CHECK(cosine.factor(110) == Approx(0.0).margin(1e-12));

    LrSchedule constant{ScheduleKind::constant, 4, 100};
    CHECK(constant.factor(1) == Approx(0.5));
    CHECK(constant.factor(3) == Approx(1.0));
    CHECK(constant.factor(99) == Approx(1.0));

    LrSchedule no_warmup{ScheduleKind::linear, 0, 4};
    CHECK(no_warmup.factor(0) == Approx(1.0));
    CHECK(no_warmup.factor(3) == Approx(0.25));
}

TEST_CASE("option strings parse or fail with the choices", "[optim]") {
    CHECK(parse_optimizer("adamw") == OptimizerKind::adamw);
    CHECK(parse_optimizer("sgd") == OptimizerKind::sgd);
    CHECK_THROWS_WITH(parse_optimizer("adam"), Catch::Contains("\"adamw\" or \"sgd\""));
    CHECK(parse_schedule("cosine") == ScheduleKind::cosine);
    CHECK_THROWS_WITH(parse_schedule("step"), Catch::Contains("\"linear\""));
    CHECK(parse_precision("bf16") == Precision::bf16);
    CHECK_THROWS_WITH(parse_precision("fp16"), Catch::Contains("\"fp32\" or \"bf16\""));
}

TEST_CASE("weight decay skips biases and norms by name", "[optim]") {
    CHECK(is_no_decay_parameter("hidden.bias"));
    CHECK(is_no_decay_parameter("bias"));
    CHECK(is_no_decay_parameter("norm.weight"));
    CHECK(is_no_decay_parameter("layers.0.attention_norm.weight"));
    CHECK(is_no_decay_parameter("encoder.LayerNorm.weight"));
    CHECK(is_no_decay_parameter("block.layer_norm.weight"));
    CHECK_FALSE(is_no_decay_parameter("hidden.weight"));
    CHECK_FALSE(is_no_decay_parameter("embedding.weight"));
    CHECK_FALSE(is_no_decay_parameter("biased.weight"));

    test::ClassifierTask task(1);
    const auto groups = make_param_groups(task.module(), 0.05);
    REQUIRE(groups.size() == 2);
    CHECK(groups[0].weight_decay == 0.05);
    CHECK(groups[0].names ==
          std::vector<std::string>{"embedding.weight", "hidden.weight", "out.weight"});
    CHECK(groups[1].weight_decay == 0.0);
    CHECK(groups[1].names ==
          std::vector<std::string>{"norm.weight", "norm.bias", "hidden.bias", "out.bias"});

    SECTION("lr multipliers split groups and scale their learning rate") {
        const auto scaled = make_param_groups(task.module(), 0.05, [](const std::string& name) {
            return name.starts_with("out.") ? 1.0 : 0.25;
        });
        REQUIRE(scaled.size() == 4);
        OptimizerSettings settings;
        settings.lr = 0.01;
        const auto optimizer = make_optimizer(scaled, settings);
        REQUIRE(optimizer->param_groups().size() == 4);
        for (size_t i = 0; i < scaled.size(); ++i) {
            const auto& options = static_cast<const torch::optim::AdamWOptions&>(
                optimizer->param_groups()[i].options());
            const bool top = scaled[i].names.front().starts_with("out.");
            CHECK(options.lr() == Approx(top ? 0.01 : 0.0025));
            CHECK(options.weight_decay() == scaled[i].weight_decay);
            CHECK(scaled[i].lr_scale == (top ? 1.0 : 0.25));
        }
        set_learning_rates(*optimizer, {1.0, 2.0, 3.0, 4.0}, 0.5);
        CHECK(optimizer->param_groups()[3].options().get_lr() == Approx(2.0));
        CHECK_THROWS_WITH(make_param_groups(task.module(), 0.0, [](const std::string&) {
                              return 0.0;
                          }),
                          Catch::Contains("requires_grad_(false)"));
    }
    SECTION("SGD groups carry momentum and their own decay") {
        OptimizerSettings settings;
        settings.kind = OptimizerKind::sgd;
        settings.lr = 0.1;
        settings.momentum = 0.8;
        const auto optimizer = make_optimizer(groups, settings);
        const auto& options =
            static_cast<const torch::optim::SGDOptions&>(optimizer->param_groups()[1].options());
        CHECK(options.momentum() == 0.8);
        CHECK(options.weight_decay() == 0.0);
    }
}

TEST_CASE("init_runtime sets threads and measures the matmul rate", "[runtime]") {
    const RuntimeInfo info = init_runtime(1, Precision::bf16);
    CHECK(info.threads == 1);
    CHECK(info.matmul_gflops > 0);
    if (!info.warning.empty()) CHECK_THAT(info.warning, Catch::Contains("BLAS"));
    const char* isa = std::getenv("ONEDNN_MAX_CPU_ISA");
    REQUIRE(isa != nullptr);
}

TEST_CASE("autocast scopes switch bf16 on for matmuls and restore the previous state",
          "[runtime]") {
    const auto a = torch::randn({4, 4});
    CHECK_FALSE(at::autocast::is_cpu_enabled());
    {
        AutocastScope outer(true);
        CHECK(at::autocast::is_cpu_enabled());
        CHECK(torch::mm(a, a).scalar_type() == torch::kBFloat16);
        {
            AutocastScope off(false);  // disabled scope: a no-op
            CHECK(at::autocast::is_cpu_enabled());
        }
    }
    CHECK_FALSE(at::autocast::is_cpu_enabled());
    CHECK(torch::mm(a, a).scalar_type() == torch::kFloat32);
}
