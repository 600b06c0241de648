// The gated RMSNorm of Mamba-2 (official `RMSNormGated` with norm_before_gate=False, reference
// `layernorm_gated.rms_norm_ref`; official-mamba2.md §3): per row t and each group of `group` consecutive channels
// (group = d_ssm / ngroups),
//   v = y · silu(z);   out = v · rsqrt(mean_group(v²) + eps) · w.
// y, z: (T, d) rows with row strides (z is a column slice of in_proj's output); out: (T, d) with its own row
// stride (the block may write it beside the MLP half); w: (d); rstd: (T, d / group) saved for the backward.
#pragma once

#include <cstdint>

namespace tinymamba {

struct GatedRmsNormDims {
  std::int64_t rows, d, group;  // T, d, channels per group (divides d)
  float eps = 1e-5f;
};

// Throws Error unless rows ≥ 0, d > 0 and group divides d.
void check_gated_rmsnorm_dims(const GatedRmsNormDims& dims);

void gated_rmsnorm_forward(const GatedRmsNormDims& dims, float* out, std::int64_t ld_out, float* rstd,
                           const float* y, std::int64_t ld_y, const float* z, std::int64_t ld_z, const float* w);

// dy, dz (T, d) written (=); dw (d) accumulated (+=), as rmsnorm_backward. With r = rstd and v̂ = v·r per group:
//   dv = r·(dout·w − v̂·mean_group(dout·w·v̂)),  dy = dv·silu(z),  dz = dv·y·silu'(z),  dw += Σ_t dout·v̂.
void gated_rmsnorm_backward(const GatedRmsNormDims& dims, float* dy, std::int64_t ld_dy, float* dz,
                            std::int64_t ld_dz, float* dw, const float* dout, std::int64_t ld_dout, const float* y,
                            std::int64_t ld_y, const float* z, std::int64_t ld_z, const float* w, const float* rstd);

}  // namespace tinymamba
