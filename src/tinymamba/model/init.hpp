// The official initialization (state-spaces/mamba: Mamba.__init__ and MambaLMHeadModel's _init_weights), seeded:
//   embedding            N(0, initializer_range = 0.02)
//   in_proj, x_proj      U(±1/√fan_in)  (PyTorch's Linear default, kaiming_uniform(a=√5)); their biases 0
//   conv1d weight, bias  U(±1/√K)       (fan_in = K for a depthwise conv); the bias is NOT zeroed
//   dt_proj.weight       U(±R^-0.5·dt_scale), or the constant R^-0.5·dt_scale with dt_init "constant"
//   dt_proj.bias         softplus⁻¹(dt), dt = exp(U[ln dt_min, ln dt_max]) floored at dt_init_floor
//   A_log                log(1 .. n) in every row (S4D-real);  D = 1
//   out_proj.weight      U(±1/√d_in) / √n_layer (rescale_prenorm_residual); its bias 0
//   norm weights         1
#pragma once

#include <cstdint>

#include "tinymamba/core/rng.hpp"
#include "tinymamba/model/model.hpp"

namespace tinymamba {

void init_parameters(Model& m, std::uint64_t seed);

// The draws the block kinds' init share (model/<kind>/params.cpp).
// p[0, n) ~ U(−bound, bound): PyTorch's default Linear / Conv1d init has bound 1/√fan_in.
void fill_uniform(Rng& rng, float* p, std::int64_t n, double bound);
// softplus⁻¹(dt) with dt = exp(U[ln dt_min, ln dt_max]) floored at dt_init_floor: the Δ bias, so that
// softplus(bias) is log-uniform in [dt_min, dt_max] (official Mamba and Mamba2 __init__).
[[nodiscard]] float draw_dt_bias(Rng& rng, const Config& c);
// The official out_proj bound: U(±1/√fan_in), divided by √n_layer with rescale_prenorm_residual.
[[nodiscard]] double out_proj_bound(const Config& c, std::int64_t fan_in);

}  // namespace tinymamba
