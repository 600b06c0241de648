#include "tinymamba/io/gguf_model.hpp"

#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/quantize.hpp"
#include "tinymamba/io/untrusted.hpp"

namespace tinymamba {
namespace {

// llama.cpp's name for an official parameter name (gguf-mamba.md §3; Mamba-2 adds dt_bias and the gated norm, §4).
std::string gguf_name(const std::string& official) {
  if (official == "backbone.embedding.weight") return "token_embd.weight";
  if (official == "backbone.norm_f.weight") return "output_norm.weight";
  if (official == "lm_head.weight") return "output.weight";
  const std::string layers = "backbone.layers.";
  const std::size_t dot = official.find('.', layers.size());
  const std::string n = official.substr(layers.size(), dot - layers.size()), rest = official.substr(dot + 1);
  static const std::pair<const char*, const char*> kMixer[] = {
      {"norm.weight", "attn_norm.weight"},        {"mixer.in_proj.weight", "ssm_in.weight"},
      {"mixer.in_proj.bias", "ssm_in.bias"},      {"mixer.conv1d.weight", "ssm_conv1d.weight"},
      {"mixer.conv1d.bias", "ssm_conv1d.bias"},   {"mixer.x_proj.weight", "ssm_x.weight"},
      {"mixer.dt_proj.weight", "ssm_dt.weight"},  {"mixer.dt_proj.bias", "ssm_dt.bias"},
      {"mixer.A_log", "ssm_a"},                   {"mixer.D", "ssm_d"},
      {"mixer.out_proj.weight", "ssm_out.weight"}, {"mixer.out_proj.bias", "ssm_out.bias"},
      {"mixer.dt_bias", "ssm_dt.bias"},           {"mixer.norm.weight", "ssm_norm.weight"}};
  for (const auto& [ours, theirs] : kMixer)
    if (rest == ours) return "blk." + n + "." + theirs;
  fail("no GGUF name for parameter ", official);
}

// ggml dims of a parameter: the torch shape reversed, conv1d's (E, 1, K) squeezed to (E, K) first. Mamba-2's
// per-head A and D (H) become {1, H}, and its gated norm's weight (S) one row per group, {S/G, G}: the same bytes.
std::vector<std::int64_t> gguf_dims(const ParamInfo& p, const Config& c) {
  if (c.mixer == MixerKind::mamba2) {
    if (p.name.ends_with("mixer.A_log") || p.name.ends_with("mixer.D")) return {1, p.numel};
    if (p.name.ends_with("mixer.norm.weight")) return {p.numel / c.ngroups, c.ngroups};
  }
  std::vector<std::int64_t> ne;
  for (auto it = p.shape.rbegin(); it != p.shape.rend(); ++it)
    if (!(p.shape.size() == 3 && it == p.shape.rbegin() + 1)) ne.push_back(*it);
  return ne;
}

bool is_large_matrix(const std::string& official) {
  return official == "backbone.embedding.weight" || official == "lm_head.weight" || official.ends_with("_proj.weight");
}

std::int64_t int_key(const GgufFile& f, const std::string& key, const std::string& source) {
  const GgufValue* v = f.find(key);
  TM_CHECK(v, source, ": metadata key ", key, " is missing");
  TM_CHECK(v->type != GgufType::string && v->type != GgufType::array && v->type != GgufType::f32 &&
               v->type != GgufType::f64 && v->type != GgufType::boolean,
           source, ": metadata key ", key, " is not an integer");
  TM_CHECK(v->i >= 0 && v->i <= (std::int64_t{1} << 32), source, ": metadata key ", key, " = ", v->i,
           " is out of range");
  return v->i;
}

// llama.cpp's architecture name for a mixer kind: the prefix of its hparam keys (gguf-mamba.md §2).
std::string gguf_arch(MixerKind k) { return k == MixerKind::mamba1 ? "mamba" : "mamba2"; }

// The hparams of the `{arch}.*` keys (§2). Mamba-2 stores n_head as ssm.time_step_rank and no head_dim: P = d_inner
// / n_head, and all of d_inner is SSM (d_ssm = d_inner; llama.cpp has no gated MLP part).
Config config_from_gguf(const GgufFile& f, const std::string& source) {
  const GgufValue* arch = f.find("general.architecture");
  TM_CHECK(arch && arch->type == GgufType::string, source, ": no general.architecture string");
  TM_CHECK(arch->s == "mamba" || arch->s == "mamba2", source, ": architecture ", quoted(arch->s),
           " (tinymamba reads 'mamba', Mamba-1, and 'mamba2', Mamba-2)");
  Config c;
  c.mixer = arch->s == "mamba" ? MixerKind::mamba1 : MixerKind::mamba2;
  const std::string k = arch->s + ".";
  c.d_model = int_key(f, k + "embedding_length", source);
  c.n_layer = int_key(f, k + "block_count", source);
  c.d_conv = int_key(f, k + "ssm.conv_kernel", source);
  c.d_inner = int_key(f, k + "ssm.inner_size", source);
  c.d_state = int_key(f, k + "ssm.state_size", source);
  TM_CHECK(c.d_model > 0, source, ": ", k, "embedding_length is 0");
  c.expand = static_cast<double>(c.d_inner) / static_cast<double>(c.d_model);
  if (c.mixer == MixerKind::mamba1) {
    c.dt_rank = int_key(f, k + "ssm.time_step_rank", source);
    if (const GgufValue* v = f.find("mamba.ssm.dt_b_c_rms"))
      TM_CHECK(v->i == 0, source, ": mamba.ssm.dt_b_c_rms (Falcon-Mamba's extra norms) is not supported");
  } else {
    const std::int64_t n_head = int_key(f, k + "ssm.time_step_rank", source);
    TM_CHECK(n_head > 0 && c.d_inner % n_head == 0, source, ": mamba2.ssm.time_step_rank (n_head) = ", n_head,
             " does not divide mamba2.ssm.inner_size = ", c.d_inner, " into heads");
    c.headdim = c.d_inner / n_head;
    c.d_ssm = c.d_inner;
    c.ngroups = int_key(f, k + "ssm.group_count", source);
    TM_CHECK(c.ngroups > 0 && n_head % c.ngroups == 0, source, ": mamba2.ssm.group_count = ", c.ngroups,
             " does not divide the ", n_head, " heads into groups");
  }
  if (const GgufValue* eps = f.find(k + "attention.layer_norm_rms_epsilon")) {
    TM_CHECK(eps->type == GgufType::f32 || eps->type == GgufType::f64, source, ": ", k,
             "attention.layer_norm_rms_epsilon is not a float");
    c.norm_eps = static_cast<float>(eps->f);
  }
  return c;
}

// What llama.cpp's `mamba` / `mamba2` tensors and graph cannot hold (§3–5); `path` names the file that was to be
// written. Neither arch has in_proj / out_proj biases, and both load ssm_conv1d.bias as required.
void check_writable(const Config& c, const std::string& path) {
  const bool mamba2 = c.mixer == MixerKind::mamba2;
  const char* arch = mamba2 ? "mamba2" : "mamba";
  const std::string no = path + ": this " + (mamba2 ? "Mamba-2" : "Mamba-1") + " model cannot be written as GGUF: ";
  TM_CHECK(!c.bias, no, "in_proj / out_proj biases (llama.cpp's ", arch, " has none)");
  TM_CHECK(c.conv_bias, no, "no conv1d bias (llama.cpp's ", arch, " requires ssm_conv1d.bias)");
  if (!mamba2) return;
  TM_CHECK(c.d_ssm == c.d_inner, no, "d_ssm = ", c.d_ssm, " < d_inner = ", c.d_inner,
           " (a gated MLP part; llama.cpp's mamba2 has none)");
  TM_CHECK(!c.D_has_hdim, no, "D_has_hdim = true (D per channel; llama.cpp's ssm_d holds one value per head)");
  TM_CHECK(c.gated_rmsnorm, no, "rmsnorm = false (llama.cpp's mamba2 always applies the gated norm ssm_norm)");
  TM_CHECK(c.dt_limit_min == 0 && c.dt_limit_max == std::numeric_limits<double>::infinity(), no, "dt_limit = (",
           c.dt_limit_min, ", ", c.dt_limit_max, ") (llama.cpp does not clamp dt)");
}

std::string dims_text(const std::vector<std::int64_t>& ne) {
  std::string s = "{";
  for (std::size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + "}";
}

// Every tensor the hparams call for is in f with its dims, a type llama.cpp would give it and its bytes, and no
// other tensor is, before the model is allocated: the hparams are only the file's claim, the tensors' bytes are
// bounded by its size.
void check_tensors(const GgufFile& f, const Config& c, const std::string& source) {
  std::set<std::string> expected;
  for (const ParamInfo& p : parameter_layout(c)) {
    const std::string name = gguf_name(p.name);
    expected.insert(name);
    const GgufTensor* t = f.tensor(name);
    TM_CHECK(t, source, ": tensor ", name, " is missing");
    const std::vector<std::int64_t> want = gguf_dims(p, c);
    TM_CHECK(t->ne == want, source, ": tensor ", name, " has dims ", dims_text(t->ne), ", the hparams give ",
             dims_text(want));
    const std::int64_t cols = want[0], rows = p.numel / cols;
    TM_CHECK(weight_type_block(t->type) == 1 || is_large_matrix(p.name), source, ": tensor ", name, " is ",
             weight_type_name(t->type), " (llama.cpp keeps it float)");
    TM_CHECK(static_cast<std::int64_t>(t->bytes.size()) == rows * weight_row_bytes(t->type, cols, source + ": " + name),
             source, ": tensor ", name, " holds ", t->bytes.size(), " bytes, not ", rows, " rows of ",
             weight_type_name(t->type));  // parse_gguf sized it; checked again for a GgufFile built otherwise
  }
  for (const GgufTensor& t : f.tensors)
    TM_CHECK(expected.contains(t.name), source, ": unexpected tensor ", quoted(t.name));
}

struct FileType {
  WeightType type;
  std::uint32_t id;  // llama.cpp's LlamaFileType
};
constexpr FileType kFileTypes[] = {{WeightType::f32, 0},  {WeightType::f16, 1},  {WeightType::q4_0, 2},
                                   {WeightType::q8_0, 7}, {WeightType::bf16, 32}};

}  // namespace

Model model_from_gguf(const GgufFile& f, const std::string& source) {
  Config c = config_from_gguf(f, source);
  const GgufTensor* embd = f.tensor("token_embd.weight");
  TM_CHECK(embd && embd->ne.size() == 2, source, ": no 2-D tensor token_embd.weight");
  c.vocab_size = embd->ne[1];  // already padded by the converter
  c.pad_vocab_size_multiple = 1;
  c.conv_bias = f.tensor("blk.0.ssm_conv1d.bias") != nullptr;
  c.bias = c.mixer == MixerKind::mamba1 && f.tensor("blk.0.ssm_in.bias") != nullptr;  // llama.cpp's mamba2 has none
  c.tie_embeddings = f.tensor("output.weight") == nullptr;
  c.resolve(source);

  check_tensors(f, c, source);
  const std::vector<ParamInfo> layout = parameter_layout(c);
  std::vector<Model::InPlaceMatrix> in_place;
  std::map<std::string, const GgufTensor*> copied;  // the float32 tensors, filled by the Model below
  std::map<WeightType, int> counts;
  for (const ParamInfo& p : layout) {
    const std::string name = gguf_name(p.name);
    const GgufTensor* t = f.tensor(name);  // present, with these dims, type and bytes: check_tensors
    const std::int64_t cols = t->ne[0], rows = p.numel / cols;
    // Every large matrix is used in place, float32 too (GGUF aligns tensor data to 32 bytes; one a file did not
    // align to its float is copied into the float32 buffer instead).
    if (is_large_matrix(p.name) && (t->type != WeightType::f32 ||
                                    reinterpret_cast<std::uintptr_t>(t->bytes.data()) % alignof(float) == 0)) {
      in_place.push_back({p.name, WeightMatrix::dense(t->type, t->bytes.data(), rows, cols), f.keep_alive});
      if (t->type != WeightType::f32) ++counts[t->type];
      const auto* values = reinterpret_cast<const float*>(t->bytes.data());
      for (std::int64_t i = 0; t->type == WeightType::f32 && i < p.numel; ++i)
        TM_CHECK(std::isfinite(values[i]), source, ": tensor ", name, " element ", i, " is not finite");
      continue;
    }
    copied.emplace(p.name, t);
  }
  WeightType most = WeightType::f32;  // the type most large matrices have: the model's weight_type()
  for (const auto& [type, n] : counts)
    if (most == WeightType::f32 || n > counts[most]) most = type;
  return Model(c, std::move(in_place), most, [&](const ParamInfo& p, float* dst) {
    const GgufTensor* t = copied.at(p.name);
    const std::string name = gguf_name(p.name);
    const std::int64_t cols = t->ne[0], rows = p.numel / cols;
    const std::int64_t row_bytes = weight_row_bytes(t->type, cols, name);
    for (std::int64_t r = 0; r < rows; ++r) dequantize_row(t->type, t->bytes.data() + r * row_bytes, cols, dst + r * cols);
    for (std::int64_t i = 0; i < p.numel; ++i) {
      if (name.ends_with("ssm_a")) {  // A = −exp(A_log) < 0; log in double: the float nearest the true log(−A)
        TM_CHECK(dst[i] < 0, source, ": tensor ", name, " element ", i, " is ", dst[i], " (A must be negative)");
        dst[i] = static_cast<float>(std::log(-static_cast<double>(dst[i])));
      }
      TM_CHECK(std::isfinite(dst[i]), source, ": tensor ", name, " element ", i, " is not finite");
    }
  });
}

Model load_gguf_model(const std::string& path) { return model_from_gguf(read_gguf(path), path); }

void save_model_gguf(const Model& m, const std::string& path, const std::map<std::string, GgufValue>& extra) {
  const Config& c = m.config;
  check_writable(c, path);
  std::map<std::string, GgufValue> meta = extra;
  const auto u32 = [](std::int64_t v) {
    GgufValue g;
    g.type = GgufType::u32;
    g.i = v;
    return g;
  };
  GgufValue arch;
  arch.type = GgufType::string;
  arch.s = gguf_arch(c.mixer);
  meta["general.architecture"] = arch;
  const std::string k = arch.s + ".";
  std::uint32_t file_type = 0;
  for (const auto& [type, id] : kFileTypes)
    if (type == m.weight_type()) file_type = id;
  meta["general.file_type"] = u32(file_type);
  if (weight_type_block(m.weight_type()) > 1) meta["general.quantization_version"] = u32(2);
  meta[k + "context_length"] = u32(1 << 20);
  meta[k + "embedding_length"] = u32(c.d_model);
  meta[k + "feed_forward_length"] = u32(0);
  meta[k + "attention.head_count"] = u32(0);
  meta[k + "block_count"] = u32(c.n_layer);
  meta[k + "ssm.conv_kernel"] = u32(c.d_conv);
  meta[k + "ssm.inner_size"] = u32(c.d_inner);
  meta[k + "ssm.state_size"] = u32(c.d_state);
  meta[k + "ssm.time_step_rank"] = u32(c.mixer == MixerKind::mamba1 ? c.dt_rank : c.nheads());
  GgufValue eps;
  eps.type = GgufType::f32;
  eps.f = c.norm_eps;
  meta[k + "attention.layer_norm_rms_epsilon"] = eps;
  if (c.mixer == MixerKind::mamba1) {
    GgufValue no;
    no.type = GgufType::boolean;
    meta["mamba.ssm.dt_b_c_rms"] = no;
  } else {
    meta["mamba2.ssm.group_count"] = u32(c.ngroups);
  }

  const std::vector<Model::TensorStorage> stored = m.storage();
  std::vector<Buffer<float>> a_values;  // ssm_a = −exp(A_log), made here
  a_values.reserve(stored.size());
  std::vector<GgufTensorOut> tensors;
  for (std::size_t i = 0; i < stored.size(); ++i) {
    const Model::TensorStorage& s = stored[i];
    const ParamInfo& p = m.layout[i];
    std::span<const std::byte> bytes(static_cast<const std::byte*>(s.data), static_cast<std::size_t>(s.bytes));
    if (p.name.ends_with("mixer.A_log")) {
      const auto* a_log = static_cast<const float*>(s.data);
      Buffer<float>& a = a_values.emplace_back(static_cast<std::size_t>(p.numel));
      for (std::int64_t j = 0; j < p.numel; ++j) {  // in double: the float nearest the true −exp(A_log)
        a[j] = static_cast<float>(-std::exp(static_cast<double>(a_log[j])));
        TM_CHECK(std::isfinite(a[j]), path, ": ", p.name, " element ", j, " = ", a_log[j],
                 ": A = −exp(A_log) overflows float32");
      }
      bytes = std::as_bytes(std::span<const float>(a.data(), a.size()));
    }
    tensors.push_back({gguf_name(p.name), gguf_dims(p, c), s.type, bytes});
  }
  write_gguf(path, meta, tensors);
}

}  // namespace tinymamba
