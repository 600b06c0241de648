#include "tinymamba/model/inference_state.hpp"

#include <algorithm>

#include "tinymamba/model/mamba1/mixer.hpp"
#include "tinymamba/model/mamba2/mixer.hpp"

namespace tinymamba {

std::int64_t InferenceState::conv_size(const Config& c) {
  switch (c.mixer) {
    case MixerKind::mamba1: return mamba1::conv_state_size(c);
    case MixerKind::mamba2: return mamba2::conv_state_size(c);
  }
  return 0;
}

std::int64_t InferenceState::ssm_size(const Config& c) {
  switch (c.mixer) {
    case MixerKind::mamba1: return mamba1::ssm_state_size(c);
    case MixerKind::mamba2: return mamba2::ssm_state_size(c);
  }
  return 0;
}

Shape InferenceState::conv_shape(const Config& c) { return {conv_size(c) / c.d_conv, c.d_conv}; }

Shape InferenceState::ssm_shape(const Config& c) {
  switch (c.mixer) {
    case MixerKind::mamba1: return {c.d_inner, c.d_state};
    case MixerKind::mamba2: return {c.nheads(), c.headdim, c.d_state};
  }
  return {};
}

InferenceState::InferenceState(const Config& c, std::int64_t b) : batch(b) {
  for (std::int64_t i = 0; i < c.n_layer; ++i) {
    conv.emplace_back(static_cast<std::size_t>(b * conv_size(c)), 0.0f);
    ssm.emplace_back(static_cast<std::size_t>(b * ssm_size(c)), 0.0f);
  }
}

void InferenceState::reset() {
  for (auto& v : conv) std::fill(v.begin(), v.end(), 0.0f);
  for (auto& v : ssm) std::fill(v.begin(), v.end(), 0.0f);
  tokens_seen = 0;
}

}  // namespace tinymamba
