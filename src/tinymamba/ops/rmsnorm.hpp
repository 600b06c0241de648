// RMSNorm (Zhang & Sennrich 2019), as the official `rms_norm_ref`: y = x · rsqrt(mean(x²) + eps) · w.
// x, y: (T, d) rows; w: (d); rstd: (T) the saved 1/rms per row for the backward.
#pragma once

#include <cstdint>

namespace tinymamba {

void rmsnorm_forward(float* y, float* rstd, const float* x, const float* w, std::int64_t T, std::int64_t d, float eps);

// dx (T, d) = (written, =) gradient w.r.t. x; dw (d) += gradient w.r.t. w.
//   With r = rstd, n = x·r:  dx = r · (dy·w − n · mean(dy·w·n)),  dw = Σ_t dy·n.
void rmsnorm_backward(float* dx, float* dw, const float* dy, const float* x, const float* w, const float* rstd,
                      std::int64_t T, std::int64_t d);

}  // namespace tinymamba
