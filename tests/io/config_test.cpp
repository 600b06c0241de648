// config.json in both dialects: defaults, the mamba-130m parameter count, round trips, and bad configs.
#include "tinymamba/io/config_json.hpp"

#include <gtest/gtest.h>

#include "tinymamba/core/error.hpp"
#include "tinymamba/model/weights.hpp"

namespace tinymamba {
namespace {

TEST(Config, OfficialDefaultsAnd130mParameterCount) {
  const Config c = parse_official_config(
      R"({"d_model": 768, "n_layer": 24, "vocab_size": 50277, "ssm_cfg": {}, "rms_norm": true,
          "residual_in_fp32": true, "fused_add_norm": true, "pad_vocab_size_multiple": 8})", "130m");
  EXPECT_EQ(c.padded_vocab(), 50280);
  EXPECT_EQ(c.d_inner, 1536);
  EXPECT_EQ(c.dt_rank, 48);
  EXPECT_EQ(c.d_state, 16);
  EXPECT_EQ(c.d_conv, 4);
  EXPECT_TRUE(c.conv_bias);
  EXPECT_FALSE(c.bias);
  EXPECT_TRUE(c.tie_embeddings);
  EXPECT_EQ(c.parameter_count(), 129135360);  // official-mamba.md §6
}

TEST(Config, PublishedSizesParameterCounts) {
  struct Size {
    int d, layers;
    std::int64_t params;
  };
  for (const Size s : {Size{1024, 48, 371516416}, Size{1536, 48, 793204224}, Size{2048, 48, 1372178432},
                       Size{2560, 64, 2768345600}}) {
    const Config c = parse_official_config(R"({"d_model": )" + std::to_string(s.d) + R"(, "n_layer": )" +
                                               std::to_string(s.layers) + R"(, "vocab_size": 50277})",
                                           "size");
    EXPECT_EQ(c.parameter_count(), s.params) << s.d;
  }
}

TEST(Config, OfficialSsmCfgFields) {
  const Config c = parse_official_config(
      R"({"d_model": 63, "n_layer": 3, "vocab_size": 100, "pad_vocab_size_multiple": 16,
          "ssm_cfg": {"d_state": 4, "d_conv": 3, "expand": 3, "dt_rank": 7, "conv_bias": false, "bias": true}})", "x");
  EXPECT_EQ(c.d_inner, 189);
  EXPECT_EQ(c.dt_rank, 7);
  EXPECT_EQ(c.padded_vocab(), 112);
  EXPECT_FALSE(c.conv_bias);
  EXPECT_TRUE(c.bias);
  EXPECT_EQ(parse_official_config(R"({"d_model": 63, "n_layer": 1, "vocab_size": 5, "ssm_cfg": {"dt_rank": "auto"}})", "x").dt_rank, 4);
}

TEST(Config, HuggingFaceDialectAndRoundTrips) {
  const Config hf = parse_config(
      R"({"model_type": "mamba", "hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 256, "state_size": 16,
          "conv_kernel": 4, "expand": 2, "intermediate_size": 128, "time_step_rank": 4, "use_bias": false,
          "use_conv_bias": true, "layer_norm_epsilon": 1e-5, "tie_word_embeddings": true})", "hf");
  EXPECT_EQ(hf.d_model, 64);
  EXPECT_EQ(hf.padded_vocab(), 256);
  EXPECT_EQ(detect_config_dialect(hf_config_json(hf), "x"), ConfigDialect::huggingface);
  const Config back = parse_config(hf_config_json(hf), "round trip");
  EXPECT_EQ(parameter_layout(back).size(), parameter_layout(hf).size());
  EXPECT_EQ(back.parameter_count(), hf.parameter_count());
  const Config official = parse_config(official_config_json(hf), "official round trip");
  EXPECT_EQ(official.parameter_count(), hf.parameter_count());
}

// Every bad config is an Error whose one-line message names the file and the field.
TEST(Config, BadConfigsAreClearErrors) {
  const std::pair<const char*, const char*> cases[] = {
      {"not json", "not valid JSON"},
      {"[1, 2]", "must be a JSON object"},
      {R"({"n_layer": 2, "vocab_size": 10})", "missing field d_model"},
      {R"({"d_model": 0, "n_layer": 2, "vocab_size": 10})", "d_model"},
      {R"({"d_model": -4, "n_layer": 2, "vocab_size": 10})", "d_model"},
      {R"({"d_model": 4.5, "n_layer": 2, "vocab_size": 10})", "must be an integer"},
      {R"({"d_model": "64", "n_layer": 2, "vocab_size": 10})", "must be an integer"},
      {R"({"d_model": 1e30, "n_layer": 2, "vocab_size": 10})", "must be an integer"},
      {R"({"d_model": 99999999999, "n_layer": 2, "vocab_size": 10})", "outside"},
      {R"({"d_model": 64, "n_layer": 100000, "vocab_size": 10})", "n_layer"},
      {R"({"d_model": 64, "n_layer": 2, "vocab_size": 10, "ssm_cfg": {"d_state": 100000}})", "d_state"},
      {R"({"d_model": 64, "n_layer": 2, "vocab_size": 10, "ssm_cfg": {"layer": "Mamba3"}})", "Mamba3"},
      {R"({"d_model": 64, "n_layer": 2, "vocab_size": 10, "rms_norm": false})", "rms_norm"},
      {R"({"d_model": 64, "n_layer": 2, "vocab_size": 10, "d_intermediate": 128})", "d_intermediate"},
      {R"({"d_model": 64, "n_layer": 2, "vocab_size": 10, "ssm_cfg": {"expand": -1}})", "expand"},
      {R"({"d_model": 64, "n_layer": 2, "vocab_size": 10, "ssm_cfg": 3})", "ssm_cfg must be an object"},
      {R"({"d_model": 64, "n_layer": 2, "vocab_size": 10, "tie_embeddings": "yes"})", "true or false"},
      {R"({"hidden_size": 64, "num_hidden_layers": 2})", "missing field vocab_size"},
      {R"({"hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 10, "hidden_act": "gelu"})", "gelu"},
      {"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", "nesting"},
  };
  for (const auto& [text, expect] : cases) {
    try {
      (void)parse_config(text, "cfg.json");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("cfg.json"), std::string::npos) << msg;
      EXPECT_NE(msg.find(expect), std::string::npos) << "message '" << msg << "' lacks '" << expect << "'";
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
  }
}

}  // namespace
}  // namespace tinymamba
