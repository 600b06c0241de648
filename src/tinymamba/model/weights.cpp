#include "tinymamba/model/weights.hpp"

#include <unordered_map>

namespace tinymamba {
namespace {
std::string layer_prefix(std::int64_t i) { return "backbone.layers." + std::to_string(i) + "."; }
}  // namespace

std::vector<ParamInfo> parameter_layout(const Config& c) {
  const std::int64_t d = c.d_model, V = c.padded_vocab();
  std::vector<ParamInfo> out;
  std::int64_t offset = 0;
  const AddParam add = [&](std::string name, Shape shape, bool decay) {
    const std::int64_t numel = checked_numel(shape, name);
    out.push_back({std::move(name), std::move(shape), offset, numel, decay});
    offset += (numel + 15) / 16 * 16;
  };
  add("backbone.embedding.weight", {V, d}, true);
  for (std::int64_t i = 0; i < c.n_layer; ++i) {
    add(layer_prefix(i) + "norm.weight", {d}, false);
    switch (c.mixer) {
      case MixerKind::mamba1: mamba1::add_params(c, layer_prefix(i) + "mixer.", add); break;
      case MixerKind::mamba2: mamba2::add_params(c, layer_prefix(i) + "mixer.", add); break;
    }
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
WeightsT<F> bind(const Config& c, const FindParam<F>& find) {
  WeightsT<F> w;
  w.embedding = matrix_view<F>(find("backbone.embedding.weight"), c.padded_vocab(), c.d_model);
  for (std::int64_t i = 0; i < c.n_layer; ++i) {
    w.norms.push_back(find(layer_prefix(i) + "norm.weight"));
    switch (c.mixer) {
      case MixerKind::mamba1: w.mamba1.push_back(mamba1::bind<F>(c, layer_prefix(i) + "mixer.", find)); break;
      case MixerKind::mamba2: w.mamba2.push_back(mamba2::bind<F>(c, layer_prefix(i) + "mixer.", find)); break;
    }
  }
  w.norm_f = find("backbone.norm_f.weight");
  w.lm_head = c.tie_embeddings ? w.embedding : matrix_view<F>(find("lm_head.weight"), c.padded_vocab(), c.d_model);
  return w;
}

template <class F>
WeightsT<F> bind(const Config& c, F* base) {
  std::unordered_map<std::string, F*> at;
  for (const auto& p : parameter_layout(c)) at[p.name] = base + p.offset;
  return bind<F>(c, [&](const std::string& name) -> F* {
    auto it = at.find(name);
    return it == at.end() ? nullptr : it->second;
  });
}
}  // namespace

Weights bind_weights(const Config& c, float* base) { return bind(c, base); }
ConstWeights bind_weights(const Config& c, const float* base) { return bind(c, base); }
ConstWeights bind_weights(const Config& c, const FindParam<const float>& find) { return bind<const float>(c, find); }

}  // namespace tinymamba
