// The Mamba-1 mixer's parameters: layout (official names and order), views, state sizes and initialization.
#include <algorithm>
#include <cmath>

#include "tinymamba/model/init.hpp"
#include "tinymamba/model/mamba1/mixer.hpp"

namespace tinymamba::mamba1 {

void add_params(const Config& c, const std::string& p, const AddParam& add) {
  const std::int64_t d = c.d_model, E = c.d_inner, N = c.d_state, K = c.d_conv, R = c.dt_rank;
  add(p + "in_proj.weight", {2 * E, d}, true);
  if (c.bias) add(p + "in_proj.bias", {2 * E}, false);
  add(p + "conv1d.weight", {E, 1, K}, true);
  if (c.conv_bias) add(p + "conv1d.bias", {E}, false);
  add(p + "x_proj.weight", {R + 2 * N, E}, true);
  add(p + "dt_proj.weight", {E, R}, true);
  add(p + "dt_proj.bias", {E}, false);
  add(p + "A_log", {E, N}, false);
  add(p + "D", {E}, false);
  add(p + "out_proj.weight", {d, E}, true);
  if (c.bias) add(p + "out_proj.bias", {d}, false);
}

template <class F>
MixerWeightsT<F> bind(const Config& c, const std::string& p, const FindParam<F>& find) {
  const std::int64_t d = c.d_model, E = c.d_inner, N = c.d_state, R = c.dt_rank;
  return {.in_proj = matrix_view<F>(find(p + "in_proj.weight"), 2 * E, d),
          .in_proj_bias = find(p + "in_proj.bias"),
          .conv = find(p + "conv1d.weight"),
          .conv_bias = find(p + "conv1d.bias"),
          .x_proj = matrix_view<F>(find(p + "x_proj.weight"), R + 2 * N, E),
          .dt_proj = matrix_view<F>(find(p + "dt_proj.weight"), E, R),
          .dt_proj_bias = find(p + "dt_proj.bias"),
          .A_log = find(p + "A_log"),
          .A = nullptr,
          .D = find(p + "D"),
          .out_proj = matrix_view<F>(find(p + "out_proj.weight"), d, E),
          .out_proj_bias = find(p + "out_proj.bias")};
}
template MixerWeightsT<float> bind(const Config&, const std::string&, const FindParam<float>&);
template MixerWeightsT<const float> bind(const Config&, const std::string&, const FindParam<const float>&);

std::int64_t conv_state_size(const Config& c) { return c.d_inner * c.d_conv; }
std::int64_t ssm_state_size(const Config& c) { return c.d_inner * c.d_state; }


void init(const Config& c, const MixerWeightsT<float>& w, Rng& rng) {
  const std::int64_t d = c.d_model, E = c.d_inner, N = c.d_state, K = c.d_conv, R = c.dt_rank;
  fill_uniform(rng, w.in_proj, 2 * E * d, 1.0 / std::sqrt(static_cast<double>(d)));
  fill_uniform(rng, w.conv, E * K, 1.0 / std::sqrt(static_cast<double>(K)));
  if (w.conv_bias) fill_uniform(rng, w.conv_bias, E, 1.0 / std::sqrt(static_cast<double>(K)));
  fill_uniform(rng, w.x_proj, (R + 2 * N) * E, 1.0 / std::sqrt(static_cast<double>(E)));
  const double dt_std = std::pow(static_cast<double>(R), -0.5) * c.dt_scale;
  if (c.dt_init_random)
    fill_uniform(rng, w.dt_proj, E * R, dt_std);
  else
    std::fill_n(w.dt_proj, E * R, static_cast<float>(dt_std));
  for (std::int64_t e = 0; e < E; ++e) w.dt_proj_bias[e] = draw_dt_bias(rng, c);
  for (std::int64_t e = 0; e < E; ++e)
    for (std::int64_t n = 0; n < N; ++n) w.A_log[e * N + n] = static_cast<float>(std::log(static_cast<double>(n + 1)));
  std::fill_n(w.D, E, 1.0f);
  fill_uniform(rng, w.out_proj, d * E, out_proj_bound(c, E));
  // in_proj / out_proj biases stay 0 (the official _init_weights zeroes Linear biases).
}

}  // namespace tinymamba::mamba1
