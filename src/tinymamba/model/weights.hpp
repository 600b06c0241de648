// Every parameter lives in one float32 buffer; the layout lists them under their official names
// (state-spaces/mamba state_dict keys) with shape and offset. WeightsT views such a buffer by role — the
// parameters, or a gradient buffer of the same layout (so gradients carry the same names). The LM's own tensors
// are here; each layer's mixer is a view of its kind (model/<kind>/mixer.hpp), in the vector of that kind.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tinymamba/core/raw_tensor.hpp"
#include "tinymamba/model/config.hpp"
#include "tinymamba/model/mamba1/mixer.hpp"
#include "tinymamba/model/mamba2/mixer.hpp"
#include "tinymamba/model/param_views.hpp"

namespace tinymamba {

struct ParamInfo {
  std::string name;      // official name, e.g. "backbone.layers.3.mixer.in_proj.weight"
  Shape shape;
  std::int64_t offset;   // in floats, from the start of the buffer (64-byte aligned)
  std::int64_t numel;
  bool weight_decay;     // AdamW group: tensors with >= 2 dims except A_log (official `_no_weight_decay`)
};

// Parameters in a fixed order: embedding, then per layer norm + mixer, then norm_f, then lm_head.weight when
// the embeddings are not tied. Offsets are rounded up to 16 floats so every tensor starts on a cache line.
[[nodiscard]] std::vector<ParamInfo> parameter_layout(const Config& c);
[[nodiscard]] std::int64_t parameter_buffer_size(const std::vector<ParamInfo>& layout);

template <class F>  // F = float (mutable: init, load, gradients) or const float (the forward's view)
struct WeightsT {
  MatrixT<F> embedding;                         // (V, d) backbone.embedding.weight
  std::vector<F*> norms;                        // per layer (d): backbone.layers.i.norm.weight
  std::vector<mamba1::MixerWeightsT<F>> mamba1; // per layer, when config.mixer is mamba1
  std::vector<mamba2::MixerWeightsT<F>> mamba2; // per layer, when config.mixer is mamba2
  F* norm_f;                                    // (d) backbone.norm_f.weight
  MatrixT<F> lm_head;                           // (V, d): the embedding when tied, else lm_head.weight
};

using Weights = WeightsT<float>;
using ConstWeights = WeightsT<const float>;

// Views into `base`, a buffer of parameter_buffer_size(parameter_layout(c)) floats.
[[nodiscard]] Weights bind_weights(const Config& c, float* base);
[[nodiscard]] ConstWeights bind_weights(const Config& c, const float* base);
// Views of the parameters `find` places (a model whose matrices live outside one buffer: model.hpp).
[[nodiscard]] ConstWeights bind_weights(const Config& c, const FindParam<const float>& find);

}  // namespace tinymamba
