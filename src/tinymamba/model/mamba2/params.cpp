// The Mamba-2 mixer's parameters: layout (official names and order), views, state sizes and initialization.
#include <algorithm>
#include <cmath>

#include "tinymamba/model/init.hpp"
#include "tinymamba/model/mamba2/mixer.hpp"
#include "tinymamba/model/mamba2/widths.hpp"

namespace tinymamba::mamba2 {
void add_params(const Config& c, const std::string& p, const AddParam& add) {
  const Widths k(c);
  const std::int64_t d = k.d, E = k.E, H = k.H, I = k.I, C = k.C;
  add(p + "in_proj.weight", {I, d}, true);
  if (c.bias) add(p + "in_proj.bias", {I}, false);
  add(p + "conv1d.weight", {C, 1, c.d_conv}, true);
  if (c.conv_bias) add(p + "conv1d.bias", {C}, false);
  add(p + "dt_bias", {H}, false);
  add(p + "A_log", {H}, false);
  add(p + "D", {c.D_has_hdim ? c.d_ssm : H}, false);
  if (c.gated_rmsnorm) add(p + "norm.weight", {c.d_ssm}, false);
  add(p + "out_proj.weight", {d, E}, true);
  if (c.bias) add(p + "out_proj.bias", {d}, false);
}

template <class F>
MixerWeightsT<F> bind(const Config& c, const std::string& p, const FindParam<F>& find) {
  return {.in_proj = matrix_view<F>(find(p + "in_proj.weight"), Widths(c).I, c.d_model),
          .in_proj_bias = find(p + "in_proj.bias"),
          .conv = find(p + "conv1d.weight"),
          .conv_bias = find(p + "conv1d.bias"),
          .dt_bias = find(p + "dt_bias"),
          .A_log = find(p + "A_log"),
          .D = find(p + "D"),
          .norm = find(p + "norm.weight"),
          .out_proj = matrix_view<F>(find(p + "out_proj.weight"), c.d_model, c.d_inner),
          .out_proj_bias = find(p + "out_proj.bias")};
}
template MixerWeightsT<float> bind(const Config&, const std::string&, const FindParam<float>&);
template MixerWeightsT<const float> bind(const Config&, const std::string&, const FindParam<const float>&);

std::int64_t conv_state_size(const Config& c) { return Widths(c).C * c.d_conv; }
std::int64_t ssm_state_size(const Config& c) { return c.nheads() * c.headdim * c.d_state; }

void init(const Config& c, const MixerWeightsT<float>& w, Rng& rng) {
  const Widths k(c);
  const std::int64_t d = k.d, E = k.E, H = k.H, K = k.K, C = k.C;
  fill_uniform(rng, w.in_proj, k.I * d, 1.0 / std::sqrt(static_cast<double>(d)));
  fill_uniform(rng, w.conv, C * K, 1.0 / std::sqrt(static_cast<double>(K)));
  if (w.conv_bias) fill_uniform(rng, w.conv_bias, C, 1.0 / std::sqrt(static_cast<double>(K)));
  for (std::int64_t h = 0; h < H; ++h) w.dt_bias[h] = draw_dt_bias(rng, c);
  for (std::int64_t h = 0; h < H; ++h)  // A = −U[A_init_range]: A_log = log of the draw
    w.A_log[h] = static_cast<float>(std::log(c.A_init_min + rng.uniform() * (c.A_init_max - c.A_init_min)));
  std::fill_n(w.D, c.D_has_hdim ? c.d_ssm : H, 1.0f);
  if (w.norm) std::fill_n(w.norm, c.d_ssm, 1.0f);
  fill_uniform(rng, w.out_proj, d * E, out_proj_bound(c, E));
  // in_proj / out_proj biases stay 0 (the official _init_weights zeroes Linear biases).
}

}  // namespace tinymamba::mamba2
