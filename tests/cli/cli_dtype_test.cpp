// --dtype as a user runs it: the golden tiny model's logits with its matrices in f16 / bf16 against the official
// fp16 / bf16 checkpoints run in float32 by PyTorch (independent references), the block types within their
// documented error, info's per-tensor listing, convert to bf16 safetensors, and one-line refusals.
#include <gtest/gtest.h>

#include <cmath>

#include "run_cli.hpp"
#include "test_paths.hpp"
#include "tinymamba/io/safetensors.hpp"

namespace tinymamba {
namespace {

using test::run_cli;
using test::shell_quote;

std::filesystem::path golden(const std::string& name) { return test::golden_dir() / "tiny-mamba" / name; }

// max |a − b| over two float tensors of the same size, and max |b|.
std::pair<double, double> max_diff(const RawTensor& a, const RawTensor& b) {
  const auto x = to_f32(a, "a"), y = to_f32(b, "b");
  EXPECT_EQ(x.size(), y.size());
  double m = 0, scale = 0;
  for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
    m = std::max(m, static_cast<double>(std::fabs(x[i] - y[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(y[i])));
  }
  return {m, scale};
}

class CliDtype : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::temp_dir("cli-dtype");
    exp_ = read_safetensors(golden("expected.safetensors").string());
    ids_ = (dir_ / "ids.safetensors").string();
    write_safetensors(ids_, {{"input_ids", exp_.tensors.at("input_ids")}});
  }
  // The logits of `forward` on the golden ids (extra: e.g. "--mode recurrent").
  RawTensor logits(const std::string& model, const std::string& dtype, const std::string& extra = "") {
    const std::string out = (dir_ / "out.safetensors").string();
    const auto r = run_cli("forward -m " + shell_quote(model) + " --input " + shell_quote(ids_) + " --out " +
                           shell_quote(out) + " --dtype " + dtype + " " + extra);
    EXPECT_EQ(r.status, 0) << r.err;
    read_ = read_safetensors(out);
    return read_.tensors.at("logits");
  }
  std::filesystem::path dir_;
  std::string ids_;
  SafetensorsFile exp_, read_;
};

// The official fp16 / bf16 checkpoints hold every tensor in that type; loaded with --dtype f16 / bf16 their
// matrices stay exactly those values (f16/bf16 → f32 → f16/bf16 is exact) and the small tensors are the same
// values in float32, so our typed kernels must give PyTorch's float32 run of the same weights
// (logits_fp16_weights / logits_bf16_weights) up to float32 rounding: the forward's bar, 1e-5 of the largest
// logit (tests/golden/checkpoint_cases.cpp; measured float32-vs-float64 drift ≤ 3e-7, golden/README.md). Both the
// parallel forward (GEMM, embedding rows) and the recurrent step (GEMV) are checked.
TEST_F(CliDtype, HalfPrecisionMatricesReproduceTheOfficialHalfCheckpoints) {
  for (const auto& [type, folder, key] : {std::tuple{"f16", "official-fp16", "logits_fp16_weights"},
                                          std::tuple{"bf16", "official-bf16", "logits_bf16_weights"}})
    for (const std::string mode : {"", "--mode recurrent"}) {
      const auto [diff, scale] = max_diff(logits(golden(folder).string(), type, mode), exp_.tensors.at(key));
      EXPECT_LE(diff, 1e-5 * scale) << type << " " << mode;
    }
}

// The block types round weights (and, in the kernels, activations) to 8 or 4 bits: measured on this model (random
// weights of std 0.1, the hardest case for 4 bits), max |logits − f32 logits| is 1.0e-2 / 1.4e-2 (q8_0, parallel
// / recurrent) and 0.15 (q4_0) of the largest logit (docs/quantization.md). The bars are twice those; a type
// that silently computed in float32 would show as a zero difference.
TEST_F(CliDtype, BlockTypesStayWithinTheirMeasuredError) {
  for (const auto& [type, bar] : {std::pair{"q8_0", 3e-2}, std::pair{"q4_0", 0.3}})
    for (const std::string mode : {"", "--mode recurrent"}) {
      const auto [diff, scale] = max_diff(logits(golden("hf").string(), type, mode), exp_.tensors.at("logits"));
      EXPECT_LE(diff, bar * scale) << type << " " << mode;
      EXPECT_GT(diff, 0.0) << type << " " << mode;
    }
}

TEST_F(CliDtype, InfoListsEachTensorsTypeAndBytes) {
  const auto r = run_cli("info -m " + shell_quote(golden("hf").string()) + " --dtype q4_0");
  ASSERT_EQ(r.status, 0) << r.err;
  // in_proj (256, 64): 2 blocks of 18 bytes a row; dt_proj (128, 4): 4 columns are no
  // whole q4_0 block, so f16 (llama.cpp's fallback); A_log stays f32.
  EXPECT_NE(r.out.find("backbone.layers.0.mixer.in_proj.weight           q4_0  9,216"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("backbone.layers.0.mixer.dt_proj.weight           f16   1,024"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("backbone.layers.0.mixer.A_log                    f32   8,192"), std::string::npos) << r.out;
}

TEST_F(CliDtype, ConvertWritesBf16MatricesThatLoadBackToTheSameLogits) {
  const std::string out = (dir_ / "m").string();
  const auto c = run_cli("convert -m " + shell_quote(golden("hf").string()) + " --out " + shell_quote(out) +
                         " --dtype bf16");
  ASSERT_EQ(c.status, 0) << c.err;
  const auto f = read_safetensors(out + "/model.safetensors");
  EXPECT_EQ(f.tensors.at("backbone.layers.0.mixer.in_proj.weight").dtype, DType::BF16);
  EXPECT_EQ(f.tensors.at("backbone.layers.0.mixer.A_log").dtype, DType::F32);
  // The written bf16 values, read and kept as bf16, are the same weights: the same logits bit for bit.
  const RawTensor direct = logits(golden("hf").string(), "bf16");
  const auto [diff, scale] = max_diff(logits(out, "bf16"), direct);
  EXPECT_EQ(diff, 0.0);
}

TEST_F(CliDtype, BadUsesAreOneLineErrors) {
  const std::string m = shell_quote(golden("hf").string());
  const std::pair<std::string, std::string> cases[] = {
      {"info -m " + m + " --dtype q5_0", "--dtype: unknown weight type 'q5_0'"},
      {"info -m " + m + " --dtype q4_k", "q4_k weights are read from files, not made here"},
      {"convert -m " + m + " --out " + shell_quote((dir_ / "x").string()) + " --dtype q8_0",
       "safetensors holds f32, f16 and bf16 tensors"},
      {"forward -m " + m + " --input " + shell_quote(ids_) + " --out " + shell_quote((dir_ / "g").string()) +
           " --grads --dtype bf16",
       "--grads needs float32 weights"},
  };
  for (const auto& [args, message] : cases) {
    const auto r = run_cli(args);
    EXPECT_EQ(r.status, 1) << args;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
}  // namespace tinymamba
