// safetensors reading/writing (including hostile files) and checkpoints: round trip, strict
// loading, encoder-only transfer.
#include "ml/model/checkpoint.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace graft::ml;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() /
               ("graft-ml-model-test-" + std::to_string(::getpid()) + "-" +
                std::to_string(counter()++));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    static int& counter() {
        static int n = 0;
        return n;
    }
};

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_file(const fs::path& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}

// A safetensors file from a hand-written header and data section (for corrupt-file tests).
std::string make_file(const std::string& header, const std::string& data, int64_t size = -1) {
    std::string out;
    const uint64_t n = size < 0 ? header.size() : static_cast<uint64_t>(size);
    for (int i = 0; i < 8; ++i) {
        out.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
    }
    return out + header + data;
}

ModelArchitecture tiny(HeadKind head) {
    ModelArchitecture a;
    a.head = head;
    a.encoder = TransformerEncoderOptions(40).max_len(12).d_model(16).n_layers(2).n_heads(2).d_ff(
        24);
    if (!a.is_language_model()) {
        a.labels = {"neg", "pos"};
    }
    return a;
}

torch::Tensor sample_ids() {
    return torch::tensor({{2, 5, 7, 9, 11, 0}, {3, 4, 39, 0, 0, 0}}, torch::kLong);
}
torch::Tensor sample_mask() { return sample_ids().ne(0).to(torch::kLong); }

// The message of the E that `action` throws; fails the test when it throws nothing or another type.
template <typename E, typename F>
std::string error_of(F&& action) {
    try {
        action();
    } catch (const E& e) {
        return e.what();
    }
    FAIL("expected an exception");
    return {};
}

}  // namespace

TEST_CASE("safetensors round-trips F32, I64, BF16, BOOL and metadata", "[ml][safetensors]") {
    torch::manual_seed(0);
    TensorMap tensors;
    tensors["a.f32"] = torch::randn({3, 5});
    tensors["b.i64"] = torch::arange(7, torch::kLong) - 3;
    tensors["c.bf16"] = torch::randn({4, 2}).to(torch::kBFloat16);
    tensors["d.bool"] = torch::tensor({true, false, true});
    tensors["e.scalar"] = torch::tensor(2.5);
    tensors["f.empty"] = torch::empty({0, 4});
    tensors["g.strided"] = torch::randn({4, 6}).t();  // non-contiguous input
    TempDir dir;
    const auto path = dir.path / "w.safetensors";
    save_safetensors(path, tensors, {{"format", "pt"}, {"step", "12"}});

    auto loaded = read_safetensors(path);
    REQUIRE(loaded.tensors.size() == tensors.size());
    for (const auto& [name, tensor] : tensors) {
        CAPTURE(name);
        const auto& back = loaded.tensors.at(name);
        CHECK(back.scalar_type() == tensor.scalar_type());
        CHECK(back.sizes() == tensor.sizes());
        CHECK(back.equal(tensor));
    }
    CHECK(loaded.metadata == SafetensorsMetadata{{"format", "pt"}, {"step", "12"}});
    // Atomic write leaves no temporary files behind.
    CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
}

TEST_CASE("safetensors layout follows the format", "[ml][safetensors]") {
    TensorMap tensors{{"x", torch::tensor({1.0f, 2.0f})},
                      {"w", torch::tensor({int64_t{7}})},
                      {"h", torch::tensor({1.0f}).to(torch::kBFloat16)}};
    const auto bytes = serialize_safetensors(tensors);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) {
        n = (n << 8) | static_cast<uint8_t>(bytes[static_cast<size_t>(i)]);
    }
    REQUIRE(8 + n <= bytes.size());
    CHECK((8 + n) % 8 == 0);  // data section 8-byte aligned
    const auto header = nlohmann::json::parse(bytes.substr(8, n));
    // Decreasing element size: I64 first, F32, then BF16; offsets tile the data section.
    CHECK(header["w"]["data_offsets"] == nlohmann::json::array({0, 8}));
    CHECK(header["x"]["data_offsets"] == nlohmann::json::array({8, 16}));
    CHECK(header["h"]["data_offsets"] == nlohmann::json::array({16, 18}));
    CHECK(header["h"]["dtype"] == "BF16");
    CHECK(header["x"]["shape"] == nlohmann::json::array({2}));
    CHECK(bytes.size() == 8 + n + 18);
    float second = 0.0f;
    std::memcpy(&second, bytes.data() + 8 + n + 12, 4);
    CHECK(second == 2.0f);
}

TEST_CASE("safetensors rejects corrupt files", "[ml][safetensors]") {
    const std::string good_header =
        R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    const std::string data(8, '\0');
    REQUIRE(parse_safetensors(make_file(good_header, data)).tensors.at("t").numel() == 2);

    const auto rejects = [](const std::string& bytes, const std::string& message) {
        CAPTURE(message);
        const auto error =
            error_of<SafetensorsError>([&] { parse_safetensors(bytes, "f.safetensors"); });
        CHECK_THAT(error, Catch::Contains(message) && Catch::Contains("f.safetensors"));
    };
    const auto good = make_file(good_header, data);
    rejects(good.substr(0, good.size() - 1), "out of range");         // truncated data
    rejects(good + "junk", "but the tensors cover 8");                 // trailing bytes
    rejects(good.substr(0, 5), "too short");                          // truncated size field
    rejects(good.substr(0, 20), "runs past the end");                 // truncated header
    rejects(make_file(good_header, data, int64_t{1} << 40), "exceeds the");  // header too large
    rejects(make_file(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", data),
            "out of range");
    rejects(make_file(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data),
            "need 12 bytes");
    rejects(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                      R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                      data),
            "overlap");
    rejects(make_file(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", data),
            "belong to no tensor");
    rejects(make_file(R"({"t":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", data),
            "unsupported safetensors dtype \"Q4\"");
    rejects(make_file(R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data),
            "non-negative integer");
    rejects(make_file(R"({"t":{"dtype":"F32","shape":[4294967296,4294967296],)"
                      R"("data_offsets":[0,8]}})", data),
            "overflows");
    rejects(make_file(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                      R"("t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                      data),
            "names \"t\" twice");
    rejects(make_file(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", data),
            "unknown field \"x\"");
    rejects(make_file(R"({"__metadata__":{"k":3}})", ""), "must be a string");
    rejects(make_file("{\"t\": [1, 2", data), "not valid JSON");
    rejects(make_file("[]      ", ""), "starting with '{'");

    TempDir dir;
    CHECK_THROWS_AS(load_safetensors(dir.path / "absent.safetensors"), SafetensorsError);
    CHECK_THROWS_WITH(serialize_safetensors({{"u", torch::zeros({2}, torch::kComplexFloat)}}),
                      Catch::Contains("no safetensors equivalent"));
}

TEST_CASE("checkpoint round trip gives identical outputs", "[ml][checkpoint]") {
    TempDir dir;
    const auto tokenizer = dir.path / "my-tokenizer.json";
    write_file(tokenizer, R"({"model": {"type": "WordPiece"}})");
    for (auto head : {HeadKind::mlm, HeadKind::clm, HeadKind::sequence_classification,
                      HeadKind::token_classification}) {
        CAPTURE(to_string(head));
        torch::manual_seed(1);
        auto architecture = tiny(head);
        architecture.encoder.pre_ln(head == HeadKind::clm);
        auto model = build_model(architecture);
        model->eval();
        const auto ckpt = dir.path / ("ckpt-" + to_string(head));
        SaveCheckpointOptions options;
        options.tokenizer = tokenizer;
        options.training_state = "trainer/state.safetensors";
        options.extra = {{"step", 40}};
        save_checkpoint(ckpt, *model, options);

        auto loaded = load_checkpoint(ckpt);
        CHECK(loaded.config.architecture.head == head);
        CHECK(loaded.config.architecture.labels == architecture.labels);
        CHECK(loaded.config.extra["step"] == 40);
        CHECK(read_file(*loaded.tokenizer_path()) == read_file(tokenizer));
        CHECK(*loaded.training_state_path() == fs::absolute(ckpt / "trainer/state.safetensors"));
        CHECK_FALSE(loaded.model->is_training());
        const auto before = model->forward(sample_ids(), sample_mask());
        const auto after = loaded.model->forward(sample_ids(), sample_mask());
        CHECK(before.equal(after));
        CHECK(state_dict(*loaded.model).size() == state_dict(*model).size());
    }
    auto config = nlohmann::json::parse(read_file(dir.path / "ckpt-mlm" / "config.json"));
    CHECK_FALSE(config["architecture"]["encoder"].contains("position_bias"));  // configs as before
    CHECK(config["format"] == "graft.checkpoint/1");
    CHECK(config["architecture"]["model_type"] == "encoder");
    CHECK(config["architecture"]["encoder"]["d_model"] == 16);
    CHECK(config["tokenizer"] == "tokenizer.json");
}

TEST_CASE("an ALiBi model round-trips with its slopes and position_bias", "[ml][checkpoint]") {
    TempDir dir;
    torch::manual_seed(4);
    auto architecture = tiny(HeadKind::sequence_classification);
    architecture.encoder.position_bias("alibi");
    auto model = build_model(architecture);
    model->eval();
    save_checkpoint(dir.path, *model);
    const auto config = nlohmann::json::parse(read_file(dir.path / "config.json"));
    CHECK(config["architecture"]["encoder"]["position_bias"] == "alibi");
    auto loaded = load_checkpoint(dir.path);
    CHECK(loaded.config.architecture.encoder.position_bias() == "alibi");
    CHECK(state_dict(*loaded.model).count("encoder.layers.1.attention.alibi_slopes") == 1);
    CHECK(model->forward(sample_ids(), sample_mask()).equal(loaded.model->forward(sample_ids(), sample_mask())));
    // The bias is part of the function: the same weights without it give other logits.
    auto plain_architecture = architecture;
    plain_architecture.encoder.position_bias("none");
    auto plain = build_model(plain_architecture);
    load_state(*plain, state_dict(*model), /*strict=*/false, "", "test");
    plain->eval();
    CHECK_FALSE(plain->forward(sample_ids(), sample_mask()).equal(model->forward(sample_ids(), sample_mask())));
}

TEST_CASE("a classifier's truncation is saved when not the default and read back", "[ml][checkpoint][truncation]") {
    TempDir dir;
    torch::manual_seed(6);
    auto architecture = tiny(HeadKind::sequence_classification);
    save_checkpoint(dir.path / "head", *build_model(architecture));
    // The default writes nothing, so earlier checkpoints and these are alike.
    CHECK_FALSE(nlohmann::json::parse(read_file(dir.path / "head" / "config.json"))["architecture"]["head_options"]
                    .contains("truncation"));
    CHECK(read_checkpoint_config(dir.path / "head").architecture.truncation == Truncation::head);
    architecture.truncation = Truncation::head_tail;
    save_checkpoint(dir.path / "both", *build_model(architecture));
    CHECK(nlohmann::json::parse(read_file(dir.path / "both" / "config.json"))["architecture"]["head_options"]["truncation"] ==
          "head_tail");
    CHECK(load_checkpoint(dir.path / "both").model->architecture().truncation == Truncation::head_tail);
    // Transfer sets it on the new classifier.
    save_checkpoint(dir.path / "lm", *build_model(tiny(HeadKind::mlm)));
    TransferOptions t;
    t.labels = {"neg", "pos"};
    t.truncation = Truncation::tail;
    CHECK(load_encoder_for_transfer(dir.path / "lm", t).model->architecture().truncation == Truncation::tail);
    // Only sequence classifiers have one, and only the three names.
    auto lm = tiny(HeadKind::mlm);
    lm.truncation = Truncation::tail;
    CHECK_THROWS_WITH(build_model(lm), Catch::Contains("sequence classifiers only"));
    // A config naming another truncation is refused on load, naming the key.
    auto config = nlohmann::json::parse(read_file(dir.path / "both" / "config.json"));
    config["architecture"]["head_options"]["truncation"] = "middle";
    write_file(dir.path / "both" / "config.json", config.dump());
    CHECK_THAT(error_of<CheckpointError>([&] { load_checkpoint(dir.path / "both"); }),
               Catch::Contains("head_options") && Catch::Contains("unknown truncation \"middle\""));
}

TEST_CASE("tied LM decoder stays tied after loading", "[ml][checkpoint]") {
    TempDir dir;
    torch::manual_seed(2);
    auto model = build_model(tiny(HeadKind::mlm));
    save_checkpoint(dir.path, *model);
    auto loaded = load_checkpoint(dir.path);
    auto head = std::static_pointer_cast<MaskedLMHeadImpl>(loaded.model->head());
    REQUIRE(head->tied());
    CHECK(head->decoder_weight().data_ptr() ==
          loaded.model->encoder()->token_embedding_weight().data_ptr());
    CHECK_FALSE(loaded.tokenizer_path().has_value());
    CHECK_FALSE(loaded.training_state_path().has_value());
}

TEST_CASE("encoder-only transfer: MLM checkpoint to a fresh classifier", "[ml][checkpoint]") {
    TempDir dir;
    torch::manual_seed(3);
    auto pretrained = build_model(tiny(HeadKind::mlm));
    save_checkpoint(dir.path, *pretrained);

    TransferOptions options;
    options.head = HeadKind::sequence_classification;
    options.labels = {"neg", "pos", "neutral"};
    options.pooling = "mean";
    options.dropout = 0.05;
    auto transferred = load_encoder_for_transfer(dir.path, options);
    CHECK(transferred.model->is_training());
    CHECK(transferred.model->head_kind() == HeadKind::sequence_classification);
    CHECK(transferred.config.architecture.encoder.dropout() == 0.05);
    std::sort(transferred.fresh_parameters.begin(), transferred.fresh_parameters.end());
    CHECK(transferred.fresh_parameters ==
          std::vector<std::string>{"head.classifier.bias", "head.classifier.weight"});
    std::sort(transferred.unused_weights.begin(), transferred.unused_weights.end());
    CHECK(transferred.unused_weights ==
          std::vector<std::string>{"head.decoder_bias", "head.dense.bias", "head.dense.weight",
                                   "head.norm.bias", "head.norm.weight"});
    const auto want = state_dict(*pretrained->encoder());
    const auto got = state_dict(*transferred.model->encoder());
    REQUIRE(want.size() == got.size());
    for (const auto& [name, tensor] : want) {
        CAPTURE(name);
        CHECK(got.at(name).equal(tensor));
    }
    transferred.model->eval();
    pretrained->eval();
    CHECK(transferred.model->encoder()->forward(sample_ids(), sample_mask())
              .equal(pretrained->encoder()->forward(sample_ids(), sample_mask())));
    CHECK(transferred.model->forward(sample_ids(), sample_mask()).sizes() ==
          torch::IntArrayRef({2, 3}));
}

TEST_CASE("strict loading lists missing, unexpected and mismatched weights", "[ml][checkpoint]") {
    TempDir dir;
    torch::manual_seed(4);
    auto model = build_model(tiny(HeadKind::sequence_classification));
    save_checkpoint(dir.path, *model);
    const auto config_path = dir.path / "config.json";
    const auto original = read_file(config_path);

    auto config = nlohmann::json::parse(original);
    config["architecture"]["encoder"]["n_layers"] = 3;
    write_file(config_path, config.dump());
    CHECK_THAT(error_of<CheckpointError>([&] { load_checkpoint(dir.path); }),
               Catch::Contains("missing") &&
                   Catch::Contains("encoder.layers.2.attention.key.bias") &&
                   Catch::Contains("model.safetensors"));

    config = nlohmann::json::parse(original);
    config["architecture"]["labels"] = {"a", "b", "c"};
    write_file(config_path, config.dump());
    CHECK_THROWS_WITH(load_checkpoint(dir.path),
                      Catch::Contains("head.classifier.weight: checkpoint [2, 16] vs "
                                      "model [3, 16]"));

    config = nlohmann::json::parse(original);
    config["architecture"]["encoder"]["n_layers"] = 1;
    write_file(config_path, config.dump());
    CHECK_THROWS_WITH(load_checkpoint(dir.path), Catch::Contains("unexpected") &&
                                                     Catch::Contains("encoder.layers.1."));
    // The encoder-only path is just as strict about the encoder.
    CHECK_THROWS_WITH(load_encoder_for_transfer(dir.path, TransferOptions{
                                                              HeadKind::token_classification,
                                                              {"x"}, "cls", 0.1, Truncation::head, {}, {}}),
                      Catch::Contains("encoder.layers.1."));
}

TEST_CASE("bad checkpoint configs are refused with the key named", "[ml][checkpoint]") {
    TempDir dir;
    torch::manual_seed(5);
    save_checkpoint(dir.path, *build_model(tiny(HeadKind::mlm)));
    const auto config_path = dir.path / "config.json";
    const auto original = nlohmann::json::parse(read_file(config_path));
    const auto refuses = [&](const std::function<void(nlohmann::json&)>& edit,
                             const std::string& message) {
        auto config = original;
        edit(config);
        write_file(config_path, config.dump());
        CAPTURE(message);
        CHECK_THAT(error_of<CheckpointError>([&] { load_checkpoint(dir.path); }),
                   Catch::Contains(message) && Catch::Contains("config.json"));
    };
    refuses([](auto& c) { c["format"] = "other/2"; }, "unsupported checkpoint format");
    refuses([](auto& c) { c["architecture"]["encoder"]["colour"] = 1; }, "unknown key \"colour\"");
    refuses([](auto& c) { c["architecture"]["encoder"].erase("d_model"); },
            "missing key \"d_model\"");
    refuses([](auto& c) { c["architecture"]["encoder"]["n_heads"] = "two"; }, "must be an integer");
    refuses([](auto& c) { c["architecture"]["head"] = "seq2seq"; }, "unknown model head");
    refuses([](auto& c) { c["architecture"]["encoder"]["position_bias"] = "rope"; },
            "position_bias must be \"none\" or \"alibi\"");
    refuses([](auto& c) { c["tokenizer"] = "../../etc/passwd"; }, "relative path inside");
    refuses([](auto& c) { c["tokenizer"] = "tokenizer.json"; }, "does not exist");
    write_file(config_path, "{ not json");
    CHECK_THROWS_WITH(load_checkpoint(dir.path), Catch::Contains("not valid JSON"));
    fs::remove(config_path);
    CHECK_THROWS_WITH(load_checkpoint(dir.path), Catch::Contains("not a graft checkpoint"));
    CHECK_THROWS_WITH(load_checkpoint(dir.path / "nowhere"), Catch::Contains("does not exist"));
}
