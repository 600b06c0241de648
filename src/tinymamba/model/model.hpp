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
  Buffer<float> params;  // parameter_buffer_size(layout) floats; padding between tensors stays zero

  // `config` must be resolved (Config::resolve). Parameters start at zero: load or initialize them.
  explicit Model(const Config& config);

  [[nodiscard]] Weights weights() { return bind_weights(config, params.data()); }
  [[nodiscard]] ConstWeights weights() const { return bind_weights(config, params.data()); }
  // The parameter with this official name, or null.
  [[nodiscard]] const ParamInfo* find(const std::string& name) const;
};

}  // namespace tinymamba
