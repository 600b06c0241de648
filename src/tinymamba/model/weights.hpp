// Every parameter lives in one float32 buffer; the layout lists them under their official names
// (state-spaces/mamba state_dict keys) with shape and offset. Weights / LayerWeights are views into such a
// buffer — the parameters, or a gradient buffer of the same layout (so gradients carry the same names).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tinymamba/core/raw_tensor.hpp"
#include "tinymamba/model/config.hpp"

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

template <class F>  // F = float (mutable view) or const float
struct LayerWeightsT {
  F* norm;          // (d)          backbone.layers.i.norm.weight
  F* in_proj;       // (2·d_in, d)  mixer.in_proj.weight: rows [0, d_in) → x, [d_in, 2·d_in) → z
  F* in_proj_bias;  // (2·d_in) or null (config.bias)
  F* conv;          // (d_in, 1, K) mixer.conv1d.weight
  F* conv_bias;     // (d_in) or null (config.conv_bias)
  F* x_proj;        // (R + 2n, d_in) mixer.x_proj.weight: rows → [Δ_low (R), B (n), C (n)]
  F* dt_proj;       // (d_in, R)    mixer.dt_proj.weight
  F* dt_proj_bias;  // (d_in)       mixer.dt_proj.bias: the Δ bias, applied inside the scan
  F* A_log;         // (d_in, n)    A = −exp(A_log)
  F* D;             // (d_in)       skip connection
  F* out_proj;      // (d, d_in)    mixer.out_proj.weight
  F* out_proj_bias; // (d) or null
};

template <class F>
struct WeightsT {
  F* embedding;  // (V, d) backbone.embedding.weight
  std::vector<LayerWeightsT<F>> layers;
  F* norm_f;     // (d) backbone.norm_f.weight
  F* lm_head;    // (V, d): the embedding when tied, else lm_head.weight
};

using LayerWeights = LayerWeightsT<float>;
using Weights = WeightsT<float>;
using ConstWeights = WeightsT<const float>;

// Views into `base`, a buffer of parameter_buffer_size(parameter_layout(c)) floats.
[[nodiscard]] Weights bind_weights(const Config& c, float* base);
[[nodiscard]] ConstWeights bind_weights(const Config& c, const float* base);

}  // namespace tinymamba
