// A Mamba language model's parameters: the config (blueprint) and one float32 buffer holding every tensor
// (views by name through `layout`, by role through weights()). For inference the large matrices can be stored
// in a reduced-precision WeightType instead (set_weight_type), or used in place from a mapped file (the loaders
// do so for every type, float32 included): the float32 buffer then holds only the small tensors. Training and
// anything else that writes parameters gets an owned float32 copy first (make_owned).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tinymamba/core/buffer.hpp"
#include "tinymamba/core/parallel.hpp"
#include "tinymamba/model/config.hpp"
#include "tinymamba/model/weights.hpp"

namespace tinymamba {

// The matrices that take a reduced type or are used in place: the embedding / lm_head and every projection.
[[nodiscard]] bool is_large_matrix(const ParamInfo& p);

struct Model {
  Config config;
  std::vector<ParamInfo> layout;
  // parameter_buffer_size(layout) floats (padding between tensors stays zero), or empty while the large matrices
  // are stored typed or used in place (set_weight_type, the in-place constructor); make_owned fills it again.
  Buffer<float> params;
  // A large matrix used in place: a typed view, under its official name, into memory that keep_alive owns (a
  // mapped file, which is never written: it is mapped read-only).
  struct InPlaceMatrix {
    std::string name;
    WeightMatrix view;
    std::shared_ptr<const void> keep_alive;
  };

  // `config` must be resolved (Config::resolve). Parameters start at zero: load or initialize them.
  explicit Model(const Config& config);
  // A model whose large matrices listed are used in place, with no float32 copy of them; each other tensor p is
  // float32, in a compact buffer, its p.numel values written by fill_f32(p, values) here (the model's parameters
  // do not change after construction). weight_type() reports `type`.
  using FillF32 = FunctionRef<void(const ParamInfo& p, float* values)>;
  Model(const Config& config, std::vector<InPlaceMatrix> in_place, WeightType type, FillF32 fill_f32);
  // A copy's views point into its own buffer; a move keeps the buffer, and with it the views.
  Model(const Model& other);
  Model& operator=(const Model& other);
  Model(Model&&) noexcept = default;
  Model& operator=(Model&&) noexcept = default;

  // The float32 parameters, mutable (initialization, loading, training), owned first (make_owned); an Error for
  // a model whose weights are stored in another type (training needs float32: no silent up-cast).
  [[nodiscard]] Weights weights();
  // Makes `params` hold every parameter, copying float32 matrices used in place out of their file (training and
  // anything else that writes weights); nothing for a model that owns them already; an Error for a model whose
  // weights are stored in another type.
  void make_owned();
  // The float32 values of a tensor that is not stored typed or used in place.
  [[nodiscard]] const float* f32_tensor(const std::string& name) const;
  // Bound at construction (and by set_weight_type): the forward pass reads it for every token and must not allocate.
  [[nodiscard]] const ConstWeights& weights() const { return bound_; }
  // The parameter with this official name, or null.
  [[nodiscard]] const ParamInfo* find(const std::string& name) const;

  // Stores the large matrices (the embedding / lm_head and every `*_proj.weight`) in type t, quantized from the
  // float32 parameters (quantize on load); the other tensors (norms, conv, A_log, D, biases) stay float32, as
  // llama.cpp keeps them. A matrix whose rows are not a whole number of t's blocks (dt_proj: dt_rank columns)
  // takes f16, as llama.cpp's converter falls back. The float32 buffer `params` is freed (its small tensors move
  // to a compact buffer), so memory drops to the typed bytes; weights() (mutable), training and float32 export
  // refuse the model from then on. t = f32, or the type the model already has, changes nothing; converting a
  // model already converted to another type is an Error.
  void set_weight_type(WeightType t);
  // f32 until set_weight_type: the type asked for (a fallen-back matrix reports its own in storage()).
  [[nodiscard]] WeightType weight_type() const { return weight_type_; }
  // How each tensor of `layout` is stored: its type and bytes (info, bench, export).
  struct TensorStorage {
    std::string name;
    WeightType type;
    std::int64_t bytes;
    const void* data;  // its `bytes` bytes (valid while the model lives)
  };
  [[nodiscard]] std::vector<TensorStorage> storage() const;
  // The sum of storage()'s bytes, kept up to date by every change of storage: a decode step reads it (its
  // thread count depends on it) and must not allocate.
  [[nodiscard]] std::int64_t weight_bytes() const { return weight_bytes_; }

 private:
  struct TypedMatrix {
    std::string name;
    WeightMatrix view;        // into bytes, or into what keep_alive owns
    Buffer<std::byte> bytes;  // owned (set_weight_type), or empty
    std::shared_ptr<const void> keep_alive;
  };
  // Moves the rest to small_ and frees params; the caller then rebinds.
  void store_typed(std::vector<TypedMatrix> typed, WeightType t);
  // Where layout entry i's float32 values are now (params, small_ or a float32 matrix used in place); null for
  // one stored in another type or not yet filled (the in-place constructor).
  [[nodiscard]] const float* f32_values(std::size_t i) const;
  void rebind();  // bound_ from params (or small_) and typed_, decay_rates_, and weight_bytes_

  WeightType weight_type_ = WeightType::f32;
  std::vector<TypedMatrix> typed_;  // the matrices set_weight_type converted or used in place, in layout order
  Buffer<float> small_;             // once params is freed: the float32 tensors, at small_offset_ (layout order)
  std::vector<std::int64_t> small_offset_;  // per layout entry, in floats into small_; −1 for a typed matrix
  // Once the parameters can no longer change (typed_ not empty: stored typed or used in place, small_ written
  // only at construction): A = −exp(A_log) of every Mamba-1 layer, (n_layer, E, N), bound as its
  // MixerWeightsT::A. Measured: the E·N exps per layer were 5–6% of a q8_0 decode step of the 130m shape
  // (docs/design.md). Empty for an owned model: training writes params, A_log included, at every step.
  Buffer<float> decay_rates_;
  ConstWeights bound_;
  std::int64_t weight_bytes_ = 0;
};

}  // namespace tinymamba
