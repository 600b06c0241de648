// Loaded models use their large matrices in place from the mapped file (float32 safetensors, GGUF of any type):
// no float32 copy of them exists, the forward computes exactly what the model that was saved computes,
// make_owned copies them out for training without touching the file, and a matrix whose bytes are not aligned
// to a float is copied instead.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "small_models.hpp"
#include "test_paths.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/io/gguf_model.hpp"
#include "tinymamba/io/model_folder.hpp"
#include "tinymamba/model/init.hpp"
#include "tinymamba/model/lm.hpp"

namespace tinymamba {
namespace {

Model initialized() {  // untied: lm_head.weight is a matrix of its own
  return test::initialized_model(
      test::small_config({.d_model = 32, .n_layer = 2, .vocab_size = 40, .d_state = 4, .tie_embeddings = false}), 9);
}

std::vector<float> logits(const Model& m) {
  const std::vector<std::int32_t> ids = {1, 39, 7, 0, 22, 5};
  Activations a;
  lm_forward(m, ids, 2, 3, a, {});
  return {a.logits.begin(), a.logits.end()};
}

// Whether every tensor (or every large matrix: GGUF stores A = −exp(A_log), which reads back within rounding)
// holds the same type and bytes in both models.
bool same_storage(const Model& a, const Model& b, bool large_only = false) {
  const auto sa = a.storage(), sb = b.storage();
  if (sa.size() != sb.size()) return false;
  for (std::size_t i = 0; i < sa.size(); ++i)
    if ((!large_only || is_large_matrix(a.layout[i])) &&
        (sa[i].type != sb[i].type || sa[i].bytes != sb[i].bytes ||
         std::memcmp(sa[i].data, sb[i].data, static_cast<std::size_t>(sa[i].bytes)) != 0))
      return false;
  return true;
}

class WeightsInPlace : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::temp_dir("weights-in-place"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(WeightsInPlace, Float32SafetensorsAndGgufMapTheirMatrices) {
  const Model original = initialized();
  save_model_hf(original, (dir_ / "hf").string());
  save_model_gguf(original, (dir_ / "m.gguf").string());
  for (const std::string& path : {(dir_ / "hf").string(), (dir_ / "m.gguf").string()}) {
    const bool gguf = path.ends_with(".gguf");
    Model m = load_model(path);
    EXPECT_TRUE(m.params.empty()) << path << ": a float32 copy of every parameter";
    EXPECT_EQ(m.weight_type(), WeightType::f32) << path;
    EXPECT_EQ(m.weight_bytes(), original.weight_bytes()) << path;
    EXPECT_TRUE(same_storage(m, original, gguf)) << path;
    if (!gguf) {
      EXPECT_EQ(logits(m), logits(original)) << path;  // the same float32 values, read where they lie
    }

    // Converting reads the mapped values: the same bytes as converting the model that was saved.
    Model q = m, q_original = original;
    q.set_weight_type(WeightType::q8_0);
    q_original.set_weight_type(WeightType::q8_0);
    EXPECT_TRUE(same_storage(q, q_original, gguf)) << path;

    // Training's copy: every value in params, the same numbers, written there and not in the file.
    const std::vector<float> mapped = logits(m);
    m.make_owned();
    ASSERT_EQ(m.params.size(), original.params.size()) << path;
    EXPECT_TRUE(same_storage(m, original, gguf)) << path;
    EXPECT_EQ(logits(m), mapped) << path;
    m.weights().embedding[0] += 1.0f;
    EXPECT_TRUE(same_storage(load_model(path), original, gguf)) << path << ": the file changed";
  }
}

TEST_F(WeightsInPlace, QuantizedGgufIsUsedInPlaceAndRefusesAFloat32Copy) {
  Model q = initialized();
  q.set_weight_type(WeightType::q8_0);
  save_model_gguf(q, (dir_ / "q8_0.gguf").string());
  Model m = load_model((dir_ / "q8_0.gguf").string());
  EXPECT_TRUE(m.params.empty());
  EXPECT_EQ(m.weight_type(), WeightType::q8_0);
  EXPECT_TRUE(same_storage(m, q, /*large_only=*/true));
  EXPECT_THROW(m.make_owned(), Error);  // training needs float32: no silent up-cast
}

// Tensors handed to model_from_tensors one byte off a float boundary (safetensors does not promise alignment):
// they are copied, not read in place, and compute the same.
TEST_F(WeightsInPlace, UnalignedFloat32MatricesAreCopied) {
  const Model original = initialized();
  TensorMap tensors = model_tensors(original);
  std::size_t total = 0;
  for (const auto& [name, t] : tensors) total += t.bytes.size() + 1;
  auto bytes = std::make_shared<std::vector<std::byte>>(total + 1);
  std::size_t at = 1;  // odd: off every float boundary
  for (auto& [name, t] : tensors) {
    std::memcpy(bytes->data() + at, t.bytes.data(), t.bytes.size());
    t.bytes = {bytes->data() + at, t.bytes.size()};
    t.keep_alive = bytes;
    at += t.bytes.size();
    at += at % 2 == 0;  // every tensor starts on an odd address
  }
  const Model m = model_from_tensors(original.config, tensors, "unaligned");
  for (const auto& s : m.storage()) {
    const auto* p = static_cast<const std::byte*>(s.data);
    EXPECT_FALSE(p >= bytes->data() && p < bytes->data() + bytes->size()) << s.name << " is read in place";
  }
  EXPECT_TRUE(same_storage(m, original));
  EXPECT_EQ(logits(m), logits(original));
}

}  // namespace
}  // namespace tinymamba
