// Mamba models as GGUF files (io/gguf_model.hpp): the golden tiny models (Mamba-1 and Mamba-2) written at each type
// and read back compute what they computed before (their typed matrices used in place from the mapping), the
// float32 files reproduce the golden logits (Mamba-2's bit for bit its folder's), the written keys, names and
// shapes are llama.cpp's (spelled out here from ../shared/reference/gguf-mamba.md), and files that do not describe
// the model, or models llama.cpp cannot run, are one-line errors naming the file and the tensor or key.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <utility>

#include "test_paths.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/io/gguf_model.hpp"
#include "tinymamba/io/model_folder.hpp"
#include "tinymamba/io/safetensors.hpp"
#include "tinymamba/model/lm.hpp"

namespace tinymamba {
namespace {

const std::string kMamba1 = "tiny-mamba", kMamba2 = "tiny-mamba2";

std::filesystem::path golden(const std::string& model, const std::string& name) {
  return test::golden_dir() / model / name;
}

struct Golden {
  std::vector<std::int32_t> ids;
  std::vector<float> logits;
  std::int64_t B = 0, L = 0;
};
// The golden model's expected.safetensors: its input ids and the official code's float32 logits.
const Golden& expected(const std::string& model) {
  static std::map<std::string, Golden> cache;
  if (const auto it = cache.find(model); it != cache.end()) return it->second;
  const auto f = read_safetensors(golden(model, "expected.safetensors").string());
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
  return cache.emplace(model, std::move(out)).first->second;
}

std::vector<float> logits(const Model& m, const std::string& model) {
  const Golden& g = expected(model);
  Activations a;
  lm_forward(m, g.ids, g.B, g.L, a, {});
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
    Model m = load_model(golden(kMamba1, "hf").string());
    m.set_weight_type(t);
    const std::string path = (dir / (std::string(weight_type_name(t)) + ".gguf")).string();
    save_model_gguf(m, path);
    const GgufFile f = read_gguf(path);
    const Model back = model_from_gguf(f, path);
    EXPECT_EQ(back.weight_type(), t);
    EXPECT_LE(rel_diff(logits(back, kMamba1), logits(m, kMamba1)), 1e-5) << weight_type_name(t);
    const WeightMatrix& in_proj = back.weights().mamba1[0].in_proj;
    EXPECT_EQ(in_proj.type, t);
    if (t != WeightType::f32)  // used in place: the view points into the mapped file
      EXPECT_EQ(in_proj.data, f.tensor("blk.0.ssm_in.weight")->bytes.data()) << weight_type_name(t);
    else
      EXPECT_LE(rel_diff(logits(back, kMamba1), expected(kMamba1).logits), 1e-5);
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
  Model src = load_model(golden(kMamba1, "hf").string());
  src.set_weight_type(WeightType::q8_0);
  save_model_gguf(src, path);
  const GgufFile good = read_gguf(path);
  EXPECT_NO_THROW((void)model_from_gguf(good, "m.gguf"));
  GgufFile f = good;
  f.metadata["general.architecture"].s = "mamba2";  // a Mamba-1 file does not have Mamba-2's keys
  expect_refused(f, "metadata key mamba2.embedding_length is missing");
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


// ---- Mamba-2 (arch `mamba2`, gguf-mamba.md §4) ----

std::string temp_file(const std::string& name) { return (test::temp_dir("gguf-mamba2") / name).string(); }

// The first element where a and b differ as floats, or -1.
std::int64_t first_difference(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) return static_cast<std::int64_t>(i);
  return -1;
}

// The float32 file holds the checkpoint's own floats, A as −exp(A_log) rounded once (in double) and read back as
// the float nearest log(−A), so the forward's A = −exp(A_log) is the same float and the logits are the folder's
// bit for bit. GGUF has no key for the SSD kernels' chunk_size (llama.cpp's scan is not chunked): the file's
// model takes the official default, and runs at the folder's here, since the chunk changes the rounding.
TEST(GgufModel, Mamba2F32FileComputesTheFolderModelsLogitsBitForBit) {
  const Model folder = load_model(golden(kMamba2, "official").string());
  const std::string path = temp_file("f32.gguf");
  save_model_gguf(folder, path);
  Model back = load_gguf_model(path);
  EXPECT_EQ(back.config.mixer, MixerKind::mamba2);
  EXPECT_EQ(back.config.chunk_size, 256);
  back.config.chunk_size = folder.config.chunk_size;
  const std::vector<float> got = logits(back, kMamba2), want = logits(folder, kMamba2);
  const std::int64_t at = first_difference(got, want);
  EXPECT_EQ(at, -1) << "logit " << at << ": " << got.at(at) << " vs the folder's " << want.at(at);
  // and the golden (PyTorch) logits, at the forward's bar of 1e-5 of the largest (tests/golden)
  EXPECT_LE(rel_diff(got, expected(kMamba2).logits), 1e-5);
}

const GgufValue& key(const GgufFile& f, const std::string& name) {
  static const GgufValue none;
  const GgufValue* v = f.find(name);
  EXPECT_NE(v, nullptr) << name;
  return v ? *v : none;
}

// The keys and tensors of the written file, against the tables of gguf-mamba.md §2 and §4 for the golden tiny
// Mamba-2 (d_model 64, 2 layers, d_inner 128, d_state 16, d_conv 4, head_dim 16 → n_head 8, 1 group, vocab 256,
// tied): every integer key u32 as llama.cpp's Python writer stores it, every tensor F32 in an f32 file, no other.
TEST(GgufModel, Mamba2FileHasLlamaCppsKeysNamesAndShapes) {
  const Model m = load_model(golden(kMamba2, "official").string());
  const std::string path = temp_file("spec.gguf");
  save_model_gguf(m, path);
  const GgufFile f = read_gguf(path);
  EXPECT_EQ(key(f, "general.architecture").s, "mamba2");
  EXPECT_EQ(key(f, "general.file_type").i, 0);  // ALL_F32
  const std::map<std::string, std::int64_t> ints = {
      {"mamba2.context_length", 1 << 20},  {"mamba2.embedding_length", 64}, {"mamba2.feed_forward_length", 0},
      {"mamba2.attention.head_count", 0},  {"mamba2.block_count", 2},       {"mamba2.ssm.conv_kernel", 4},
      {"mamba2.ssm.inner_size", 128},      {"mamba2.ssm.state_size", 16},   {"mamba2.ssm.time_step_rank", 8},
      {"mamba2.ssm.group_count", 1}};
  for (const auto& [name, value] : ints) {
    EXPECT_EQ(key(f, name).type, GgufType::u32) << name;
    EXPECT_EQ(key(f, name).i, value) << name;
  }
  EXPECT_EQ(key(f, "mamba2.attention.layer_norm_rms_epsilon").type, GgufType::f32);
  EXPECT_FLOAT_EQ(static_cast<float>(key(f, "mamba2.attention.layer_norm_rms_epsilon").f), 1e-5f);
  for (const auto& [name, value] : f.metadata)
    EXPECT_TRUE(!name.starts_with("mamba.") && name != "mamba2.ssm.dt_b_c_rms") << name << ": a Mamba-1 key";

  std::map<std::string, std::vector<std::int64_t>> want = {{"token_embd.weight", {64, 256}},
                                                           {"output_norm.weight", {64}}};
  for (const std::string n : {"0", "1"}) {
    const std::string b = "blk." + n + ".";
    want[b + "attn_norm.weight"] = {64};
    want[b + "ssm_in.weight"] = {64, 2 * 128 + 2 * 1 * 16 + 8};  // z, xBC, dt
    want[b + "ssm_conv1d.weight"] = {4, 128 + 2 * 1 * 16};
    want[b + "ssm_conv1d.bias"] = {128 + 2 * 1 * 16};
    want[b + "ssm_dt.bias"] = {8};
    want[b + "ssm_a"] = {1, 8};
    want[b + "ssm_d"] = {1, 8};
    want[b + "ssm_norm.weight"] = {128 / 1, 1};
    want[b + "ssm_out.weight"] = {128, 64};
  }
  std::map<std::string, std::vector<std::int64_t>> got;
  for (const GgufTensor& t : f.tensors) {
    got[t.name] = t.ne;
    EXPECT_EQ(t.type, WeightType::f32) << t.name;
  }
  EXPECT_EQ(got, want);

  // ssm_a = −exp(A_log) of the checkpoint (computed here in double), D and dt_bias as they are.
  for (const std::string n : {"0", "1"}) {
    const auto floats = [&](const std::string& name) {
      const GgufTensor* t = f.tensor("blk." + n + "." + name);
      std::vector<float> v(t ? t->bytes.size() / 4 : 0);
      if (t) std::memcpy(v.data(), t->bytes.data(), t->bytes.size());
      return v;
    };
    const std::string p = "backbone.layers." + n + ".mixer.";
    const float* a_log = m.f32_tensor(p + "A_log");
    const float* d = m.f32_tensor(p + "D");
    const std::vector<float> a = floats("ssm_a"), ssm_d = floats("ssm_d");
    ASSERT_EQ(a.size(), 8u);
    for (std::size_t h = 0; h < 8; ++h) {
      EXPECT_EQ(a[h], static_cast<float>(-std::exp(static_cast<double>(a_log[h])))) << n << " " << h;
      EXPECT_EQ(ssm_d[h], d[h]) << n << " " << h;
    }
  }
}

// A model with 2 groups (the norm as {d_inner/2, 2}) and its own output.weight, every parameter a distinct value:
// written and read back, every tensor but A_log is the same float, and A_log within a float32 rounding (log∘exp).
TEST(GgufModel, Mamba2WithGroupsAndUntiedOutputRoundTrips) {
  Config c;
  c.mixer = MixerKind::mamba2;
  c.d_model = 32;
  c.n_layer = 2;
  c.vocab_size = 40;
  c.d_state = 8;
  c.headdim = 8;
  c.ngroups = 2;
  c.tie_embeddings = false;
  c.resolve("test config");
  Model m(c);
  for (std::size_t i = 0; i < m.params.size(); ++i) m.params.data()[i] = 0.5f * std::sin(0.37f * static_cast<float>(i));
  const std::string path = temp_file("groups.gguf");
  save_model_gguf(m, path);
  const GgufFile f = read_gguf(path);
  EXPECT_EQ(f.tensor("blk.1.ssm_norm.weight")->ne, (std::vector<std::int64_t>{32, 2}));  // d_inner 64 in 2 groups
  EXPECT_EQ(f.tensor("output.weight")->ne, (std::vector<std::int64_t>{32, 40}));
  EXPECT_EQ(f.find("mamba2.ssm.group_count")->i, 2);
  EXPECT_EQ(f.find("mamba2.ssm.time_step_rank")->i, 8);  // 64 / 8
  const Model back = model_from_gguf(f, path);
  EXPECT_EQ(back.config.ngroups, 2);
  EXPECT_EQ(back.config.headdim, 8);
  EXPECT_FALSE(back.config.tie_embeddings);
  ASSERT_EQ(back.layout.size(), m.layout.size());
  const std::vector<Model::TensorStorage> stored = back.storage();  // the matrices live in the mapping
  for (std::size_t k = 0; k < m.layout.size(); ++k) {
    const ParamInfo& p = m.layout[k];
    ASSERT_EQ(back.layout[k].name, p.name);
    ASSERT_EQ(stored[k].type, WeightType::f32) << p.name;
    const auto* values = static_cast<const float*>(stored[k].data);
    for (std::int64_t i = 0; i < p.numel; ++i) {
      const float x = m.params.data()[p.offset + i], y = values[i];
      if (p.name.ends_with("A_log"))  // A's rounding (relative 2^-24) plus half an ulp of |A_log| ≤ 0.5 (2^-26)
        EXPECT_NEAR(y, x, 0x1p-24 + 0x1p-26) << p.name << "[" << i << "]";
      else
        EXPECT_EQ(y, x) << p.name << "[" << i << "]";
    }
  }
}

// Quantized files: the matrices used in place from the mapping, the logits within the Mamba-1 test's bar of the
// same model quantized in memory (only A's log∘exp rounding separates them).
TEST(GgufModel, Mamba2EachTypeRoundTripsThroughAFile) {
  for (const WeightType t : {WeightType::f16, WeightType::bf16, WeightType::q8_0, WeightType::q4_0}) {
    Model m = load_model(golden(kMamba2, "official").string());
    m.set_weight_type(t);
    const std::string path = temp_file(std::string(weight_type_name(t)) + ".gguf");
    save_model_gguf(m, path);
    const GgufFile f = read_gguf(path);
    Model back = model_from_gguf(f, path);
    back.config.chunk_size = m.config.chunk_size;
    EXPECT_EQ(back.weight_type(), t);
    EXPECT_LE(rel_diff(logits(back, kMamba2), logits(m, kMamba2)), 1e-5) << weight_type_name(t);
    const ConstWeights& w = std::as_const(back).weights();
    for (const auto& [name, view] : {std::pair{"blk.1.ssm_in.weight", w.mamba2[1].in_proj},
                                     std::pair{"blk.0.ssm_out.weight", w.mamba2[0].out_proj}}) {
      EXPECT_EQ(view.type, t) << name;
      EXPECT_EQ(view.data, f.tensor(name)->bytes.data()) << name << " " << weight_type_name(t);
    }
    EXPECT_EQ(f.tensor("blk.0.ssm_conv1d.weight")->type, WeightType::f32);  // ggml's ssm_conv needs F32
  }
}

// The file's bytes of one f32 tensor replaced (the tensors view the read-only mapping).
void set_floats(GgufFile& f, const std::string& name, std::vector<float>& storage) {
  for (auto& t : f.tensors)
    if (t.name == name) t.bytes = std::as_bytes(std::span<const float>(storage));
}

TEST(GgufModel, Mamba2FilesThatDoNotDescribeTheModelAreRefused) {
  Model src = load_model(golden(kMamba2, "official").string());
  src.set_weight_type(WeightType::q8_0);
  const std::string path = temp_file("m.gguf");
  save_model_gguf(src, path);
  const GgufFile good = read_gguf(path);
  EXPECT_NO_THROW((void)model_from_gguf(good, "m.gguf"));
  GgufFile f = good;
  std::erase_if(f.tensors, [](const GgufTensor& t) { return t.name == "blk.1.ssm_norm.weight"; });
  expect_refused(f, "tensor blk.1.ssm_norm.weight is missing");
  f = good;
  for (auto& t : f.tensors)
    if (t.name == "blk.0.ssm_a") t.ne = {8, 1};
  expect_refused(f, "tensor blk.0.ssm_a has dims {8, 1}, the hparams give {1, 8}");
  f = good;
  for (auto& t : f.tensors)
    if (t.name == "blk.1.ssm_norm.weight") t.ne = {128};
  expect_refused(f, "tensor blk.1.ssm_norm.weight has dims {128}, the hparams give {128, 1}");
  f = good;  // Mamba-1's dt projection has no place in a Mamba-2 file
  f.tensors.push_back(*f.tensor("blk.0.ssm_out.weight"));
  f.tensors.back().name = "blk.0.ssm_dt.weight";
  expect_refused(f, "unexpected tensor 'blk.0.ssm_dt.weight'");

  std::vector<float> a(8, -1.0f);
  a[3] = 0.5f;
  f = good;
  set_floats(f, "blk.0.ssm_a", a);
  expect_refused(f, "tensor blk.0.ssm_a element 3 is 0.5 (A must be negative)");
  a[3] = std::numeric_limits<float>::quiet_NaN();
  expect_refused(f, "tensor blk.0.ssm_a element 3 is nan (A must be negative)");
  a[3] = -std::numeric_limits<float>::infinity();
  expect_refused(f, "tensor blk.0.ssm_a element 3 is not finite");
  std::vector<float> d(8, 1.0f);
  d[5] = std::numeric_limits<float>::infinity();
  f = good;
  set_floats(f, "blk.1.ssm_d", d);
  expect_refused(f, "tensor blk.1.ssm_d element 5 is not finite");

  for (const char* k : {"mamba2.ssm.group_count", "mamba2.ssm.time_step_rank", "mamba2.ssm.inner_size",
                        "mamba2.embedding_length"}) {
    f = good;
    f.metadata.erase(k);
    expect_refused(f, std::string("metadata key ") + k + " is missing");
  }
  f = good;
  f.metadata["mamba2.ssm.time_step_rank"].i = 7;  // 128 channels do not split into 7 heads
  expect_refused(f, "mamba2.ssm.time_step_rank (n_head) = 7 does not divide mamba2.ssm.inner_size = 128");
  f = good;
  f.metadata["mamba2.ssm.time_step_rank"].i = 0;
  expect_refused(f, "mamba2.ssm.time_step_rank (n_head) = 0 does not divide");
  f = good;
  f.metadata["mamba2.ssm.group_count"].i = 3;
  expect_refused(f, "mamba2.ssm.group_count = 3 does not divide the 8 heads");
  f = good;
  f.metadata["mamba2.ssm.time_step_rank"].i = 4;  // head_dim 32: dt and A then have 4 values per layer, not 8
  expect_refused(f, "tensor blk.0.ssm_in.weight has dims {64, 296}, the hparams give {64, 292}");
  f = good;
  f.metadata["mamba2.ssm.inner_size"].type = GgufType::string;
  expect_refused(f, "metadata key mamba2.ssm.inner_size is not an integer");
  f = good;
  f.metadata["mamba2.attention.layer_norm_rms_epsilon"].type = GgufType::u32;
  expect_refused(f, "mamba2.attention.layer_norm_rms_epsilon is not a float");
  f = good;
  f.metadata["general.architecture"].s = "jamba";
  expect_refused(f, "architecture 'jamba'");
}

// What llama.cpp's mamba / mamba2 cannot hold is refused before anything is written, naming the file and the
// reason (gguf-mamba.md §3–4 list no in_proj / out_proj bias for either arch, and a conv1d bias for both).
TEST(GgufModel, ModelsLlamaCppCannotRunAreNotWritten) {
  const auto refused = [](const std::function<void(Config&)>& change, const std::string& reason,
                          MixerKind kind = MixerKind::mamba2) {
    Config c;
    c.mixer = kind;
    c.d_model = 16;
    c.n_layer = 1;
    c.vocab_size = 16;
    c.d_state = 4;
    c.headdim = 8;
    change(c);
    c.resolve("test config");
    const Model m(c);
    const std::string path = temp_file("refused.gguf");
    try {
      save_model_gguf(m, path);
      ADD_FAILURE() << "written; expected: " << reason;
    } catch (const Error& e) {
      const std::string what = e.what();
      const std::string model = kind == MixerKind::mamba2 ? "Mamba-2" : "Mamba-1";
      EXPECT_NE(what.find(path + ": this " + model + " model cannot be written as GGUF: "), std::string::npos) << what;
      EXPECT_NE(what.find(reason), std::string::npos) << what;
    }
    EXPECT_FALSE(std::filesystem::exists(path)) << reason;
  };
  refused([](Config& c) { c.D_has_hdim = true; }, "D_has_hdim = true");
  refused([](Config& c) { c.d_ssm = 16; }, "d_ssm = 16 < d_inner = 32");
  refused([](Config& c) { c.gated_rmsnorm = false; }, "rmsnorm = false");
  refused([](Config& c) { c.dt_limit_max = 0.1; }, "dt_limit = (0, 0.1)");
  refused([](Config& c) { c.bias = true; }, "in_proj / out_proj biases");
  refused([](Config& c) { c.conv_bias = false; }, "no conv1d bias");
  refused([](Config& c) { c.bias = true; }, "in_proj / out_proj biases (llama.cpp's mamba has none)",
          MixerKind::mamba1);
  refused([](Config& c) { c.conv_bias = false; }, "no conv1d bias (llama.cpp's mamba requires", MixerKind::mamba1);
}

}  // namespace
}  // namespace tinymamba
