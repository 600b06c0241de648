// Mamba-1 models as GGUF files (io/gguf_model.hpp): the golden tiny model written at each type and read back
// computes what it computed before (its typed matrices used in place from the mapping), the float32 file
// reproduces the golden logits, and files that do not describe this model are one-line errors naming the tensor.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "test_paths.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/io/gguf_model.hpp"
#include "tinymamba/io/model_folder.hpp"
#include "tinymamba/io/safetensors.hpp"
#include "tinymamba/model/lm.hpp"

namespace tinymamba {
namespace {

std::filesystem::path golden(const std::string& name) { return test::golden_dir() / "tiny-mamba" / name; }

struct Golden {
  std::vector<std::int32_t> ids;
  std::vector<float> logits;
  std::int64_t B = 0, L = 0;
};
const Golden& expected() {
  static const Golden g = [] {
    const auto f = read_safetensors(golden("expected.safetensors").string());
    const RawTensor& ids = f.tensors.at("input_ids");
    Golden out;
    out.B = ids.shape[0];
    out.L = ids.shape[1];
    for (std::size_t k = 0; k < ids.bytes.size() / 8; ++k) {  // I64
      std::int64_t v = 0;
      std::memcpy(&v, ids.bytes.data() + 8 * k, 8);
      out.ids.push_back(static_cast<std::int32_t>(v));
    }
    out.logits = to_f32(f.tensors.at("logits"), "logits");
    return out;
  }();
  return g;
}

std::vector<float> logits(const Model& m) {
  Activations a;
  lm_forward(m, expected().ids, expected().B, expected().L, a, {});
  return {a.logits.begin(), a.logits.end()};
}

// max |a − b| / max |b|
double rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0, s = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    d = std::max(d, static_cast<double>(std::fabs(a[i] - b[i])));
    s = std::max(s, static_cast<double>(std::fabs(b[i])));
  }
  return d / s;
}

// Written at each type and read back: the same matrices (the same bytes, used in place) and the same float
// tensors, except A, which travels as −exp(A_log) and comes back as log(−A): a float32 rounding or two in A_log,
// far below the forward's bar of 1e-5 of the largest logit (tests/golden). The f32 file also meets that bar
// against the golden (PyTorch) logits.
TEST(GgufModel, EachTypeRoundTripsThroughAFile) {
  const auto dir = test::temp_dir("gguf-model");
  for (const WeightType t : {WeightType::f32, WeightType::f16, WeightType::bf16, WeightType::q8_0, WeightType::q4_0}) {
    Model m = load_model(golden("hf").string());
    m.set_weight_type(t);
    const std::string path = (dir / (std::string(weight_type_name(t)) + ".gguf")).string();
    save_model_gguf(m, path);
    const GgufFile f = read_gguf(path);
    const Model back = model_from_gguf(f, path);
    EXPECT_EQ(back.weight_type(), t);
    EXPECT_LE(rel_diff(logits(back), logits(m)), 1e-5) << weight_type_name(t);
    const WeightMatrix& in_proj = back.weights().mamba1[0].in_proj;
    EXPECT_EQ(in_proj.type, t);
    if (t != WeightType::f32)  // used in place: the view points into the mapped file
      EXPECT_EQ(in_proj.data, f.tensor("blk.0.ssm_in.weight")->bytes.data()) << weight_type_name(t);
    else
      EXPECT_LE(rel_diff(logits(back), expected().logits), 1e-5);
    EXPECT_EQ(f.tensor("output.weight"), nullptr);  // tied: llama.cpp reuses token_embd
    EXPECT_EQ(f.tensor("blk.1.ssm_conv1d.weight")->ne, (std::vector<std::int64_t>{4, 128}));  // squeezed
    EXPECT_EQ(f.find("mamba.ssm.inner_size")->i, 128);
  }
}

void expect_refused(GgufFile f, const std::string& message) {
  try {
    (void)model_from_gguf(f, "m.gguf");
    ADD_FAILURE() << "accepted; expected: " << message;
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("m.gguf"), std::string::npos) << what;
    EXPECT_NE(what.find(message), std::string::npos) << what;
  }
}

TEST(GgufModel, FilesThatDoNotDescribeTheModelAreRefused) {
  const std::string path = (test::temp_dir("gguf-model-bad") / "m.gguf").string();
  Model src = load_model(golden("hf").string());
  src.set_weight_type(WeightType::q8_0);
  save_model_gguf(src, path);
  const GgufFile good = read_gguf(path);
  EXPECT_NO_THROW((void)model_from_gguf(good, "m.gguf"));
  GgufFile f = good;
  f.metadata["general.architecture"].s = "mamba2";
  expect_refused(f, "architecture 'mamba2'");
  f = good;
  f.metadata.erase("mamba.ssm.state_size");
  expect_refused(f, "mamba.ssm.state_size is missing");
  f = good;
  f.metadata["mamba.ssm.state_size"].i = 8;
  expect_refused(f, "tensor blk.0.ssm_x.weight has dims {128, 36}, the hparams give {128, 20}");
  f = good;
  std::erase_if(f.tensors, [](const GgufTensor& t) { return t.name == "blk.1.ssm_d"; });
  expect_refused(f, "tensor blk.1.ssm_d is missing");
  f = good;
  f.tensors.push_back(f.tensors.back());
  f.tensors.back().name = "blk.2.ssm_d";
  expect_refused(f, "unexpected tensor 'blk.2.ssm_d'");
  f = good;
  for (auto& t : f.tensors)
    if (t.name == "blk.0.attn_norm.weight") t.type = WeightType::q8_0;
  expect_refused(f, "tensor blk.0.attn_norm.weight is q8_0 (llama.cpp keeps it float)");
}

}  // namespace
}  // namespace tinymamba
