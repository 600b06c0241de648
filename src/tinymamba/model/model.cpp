#include "tinymamba/model/model.hpp"

namespace tinymamba {

Model::Model(const Config& c)
    : config(c), layout(parameter_layout(c)), params(static_cast<std::size_t>(parameter_buffer_size(layout)), 0.0f),
      bound_(bind_weights(config, static_cast<const float*>(params.data()))) {}

Model::Model(const Model& other)
    : config(other.config), layout(other.layout), params(other.params),
      bound_(bind_weights(config, static_cast<const float*>(params.data()))) {}

Model& Model::operator=(const Model& other) {
  if (this != &other) *this = Model(other);
  return *this;
}

const ParamInfo* Model::find(const std::string& name) const {
  for (const auto& p : layout)
    if (p.name == name) return &p;
  return nullptr;
}

}  // namespace tinymamba
