#include "tinymamba/model/inference_state.hpp"

#include <algorithm>

namespace tinymamba {

InferenceState::InferenceState(const Config& c, std::int64_t b) : batch(b) {
  for (std::int64_t i = 0; i < c.n_layer; ++i) {
    conv.emplace_back(static_cast<std::size_t>(b * c.d_inner * c.d_conv), 0.0f);
    ssm.emplace_back(static_cast<std::size_t>(b * c.d_inner * c.d_state), 0.0f);
  }
}

void InferenceState::reset() {
  for (auto& v : conv) std::fill(v.begin(), v.end(), 0.0f);
  for (auto& v : ssm) std::fill(v.begin(), v.end(), 0.0f);
  tokens_seen = 0;
}

}  // namespace tinymamba
