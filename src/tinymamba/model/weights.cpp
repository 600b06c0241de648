#include "tinymamba/model/weights.hpp"

#include <unordered_map>

namespace tinymamba {

std::vector<ParamInfo> parameter_layout(const Config& c) {
  const std::int64_t d = c.d_model, E = c.d_inner, N = c.d_state, K = c.d_conv, R = c.dt_rank, V = c.padded_vocab();
  std::vector<ParamInfo> out;
  std::int64_t offset = 0;
  auto add = [&](std::string name, Shape shape, bool decay) {
    const std::int64_t numel = checked_numel(shape, name);
    out.push_back({std::move(name), std::move(shape), offset, numel, decay});
    offset += (numel + 15) / 16 * 16;
  };
  add("backbone.embedding.weight", {V, d}, true);
  for (std::int64_t i = 0; i < c.n_layer; ++i) {
    const std::string p = "backbone.layers." + std::to_string(i) + ".";
    add(p + "norm.weight", {d}, false);
    add(p + "mixer.in_proj.weight", {2 * E, d}, true);
    if (c.bias) add(p + "mixer.in_proj.bias", {2 * E}, false);
    add(p + "mixer.conv1d.weight", {E, 1, K}, true);
    if (c.conv_bias) add(p + "mixer.conv1d.bias", {E}, false);
    add(p + "mixer.x_proj.weight", {R + 2 * N, E}, true);
    add(p + "mixer.dt_proj.weight", {E, R}, true);
    add(p + "mixer.dt_proj.bias", {E}, false);
    add(p + "mixer.A_log", {E, N}, false);
    add(p + "mixer.D", {E}, false);
    add(p + "mixer.out_proj.weight", {d, E}, true);
    if (c.bias) add(p + "mixer.out_proj.bias", {d}, false);
  }
  add("backbone.norm_f.weight", {d}, false);
  if (!c.tie_embeddings) add("lm_head.weight", {V, d}, true);
  return out;
}

std::int64_t parameter_buffer_size(const std::vector<ParamInfo>& layout) {
  if (layout.empty()) return 0;
  return layout.back().offset + (layout.back().numel + 15) / 16 * 16;
}

namespace {
template <class F>
WeightsT<F> bind(const Config& c, F* base) {
  std::unordered_map<std::string, F*> at;
  for (const auto& p : parameter_layout(c)) at[p.name] = base + p.offset;
  auto get = [&](const std::string& name) -> F* {
    auto it = at.find(name);
    return it == at.end() ? nullptr : it->second;
  };
  WeightsT<F> w;
  w.embedding = get("backbone.embedding.weight");
  for (std::int64_t i = 0; i < c.n_layer; ++i) {
    const std::string p = "backbone.layers." + std::to_string(i) + ".";
    w.layers.push_back({get(p + "norm.weight"), get(p + "mixer.in_proj.weight"), get(p + "mixer.in_proj.bias"),
                        get(p + "mixer.conv1d.weight"), get(p + "mixer.conv1d.bias"), get(p + "mixer.x_proj.weight"),
                        get(p + "mixer.dt_proj.weight"), get(p + "mixer.dt_proj.bias"), get(p + "mixer.A_log"),
                        get(p + "mixer.D"), get(p + "mixer.out_proj.weight"), get(p + "mixer.out_proj.bias")});
  }
  w.norm_f = get("backbone.norm_f.weight");
  w.lm_head = c.tie_embeddings ? w.embedding : get("lm_head.weight");
  return w;
}
}  // namespace

Weights bind_weights(const Config& c, float* base) { return bind(c, base); }
ConstWeights bind_weights(const Config& c, const float* base) { return bind(c, base); }

}  // namespace tinymamba
