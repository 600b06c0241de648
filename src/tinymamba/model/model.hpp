// A Mamba language model's parameters: the config (blueprint) and one float32 buffer holding every tensor
// (views by name through `layout`, by role through weights()).
#pragma once

#include <string>
#include <vector>

#include "tinymamba/core/buffer.hpp"
#include "tinymamba/model/config.hpp"
#include "tinymamba/model/weights.hpp"

namespace tinymamba {

struct Model {
  Config config;
  std::vector<ParamInfo> layout;
  Buffer<float> params;  // parameter_buffer_size(layout) floats; padding between tensors stays zero; never resized

  // `config` must be resolved (Config::resolve). Parameters start at zero: load or initialize them.
  explicit Model(const Config& config);
  // A copy's views point into its own buffer; a move keeps the buffer, and with it the views.
  Model(const Model& other);
  Model& operator=(const Model& other);
  Model(Model&&) noexcept = default;
  Model& operator=(Model&&) noexcept = default;

  [[nodiscard]] Weights weights() { return bind_weights(config, params.data()); }
  // Bound once at construction: the forward pass reads it for every token and must not allocate.
  [[nodiscard]] const ConstWeights& weights() const { return bound_; }
  // The parameter with this official name, or null.
  [[nodiscard]] const ParamInfo* find(const std::string& name) const;

 private:
  ConstWeights bound_;
};

}  // namespace tinymamba
