// A Mamba language model's parameters: the config (blueprint) and one float32 buffer holding every tensor
// (views by name through `layout`, by role through weights()). For inference the large matrices can be stored
// in a reduced-precision WeightType instead (set_weight_type): the float32 buffer is then freed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tinymamba/core/buffer.hpp"
#include "tinymamba/model/config.hpp"
#include "tinymamba/model/weights.hpp"

namespace tinymamba {

struct Model {
  Config config;
  std::vector<ParamInfo> layout;
  // parameter_buffer_size(layout) floats; padding between tensors stays zero; resized only by set_weight_type,
  // which empties it.
  Buffer<float> params;

  // `config` must be resolved (Config::resolve). Parameters start at zero: load or initialize them.
  explicit Model(const Config& config);
  // A copy's views point into its own buffer; a move keeps the buffer, and with it the views.
  Model(const Model& other);
  Model& operator=(const Model& other);
  Model(Model&&) noexcept = default;
  Model& operator=(Model&&) noexcept = default;

  // The float32 parameters, mutable (initialization, loading, training); an Error for a model whose weights
  // are stored in another type (training needs float32: no silent up-cast).
  [[nodiscard]] Weights weights();
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
  // Stores the large matrices listed (official name → a typed view into memory that keep_alive owns, e.g. a
  // mapped GGUF file) as they are, used in place, and frees the float32 buffer as set_weight_type does; the other
  // tensors must already be in `params`. weight_type() then reports `type`.
  void use_weights_in_place(const std::vector<std::pair<std::string, WeightMatrix>>& matrices, WeightType type,
                            std::shared_ptr<const void> keep_alive);
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
  void store_typed(std::vector<TypedMatrix> typed, WeightType t);  // moves the rest to small_, frees params
  void rebind();  // bound_ from params (or small_) and typed_, and weight_bytes_

  WeightType weight_type_ = WeightType::f32;
  std::vector<TypedMatrix> typed_;  // the matrices set_weight_type converted, in layout order
  Buffer<float> small_;             // once params is freed: the float32 tensors, at small_offset_ (layout order)
  std::vector<std::int64_t> small_offset_;  // per layout entry, in floats into small_; −1 for a typed matrix
  ConstWeights bound_;
  std::int64_t weight_bytes_ = 0;
};

}  // namespace tinymamba
