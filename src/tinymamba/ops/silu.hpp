// SiLU (swish) activation, y = x·σ(x) (the Mamba block's activation after the conv and on the gate z).
#pragma once

#include <cstdint>

namespace tinymamba {

// y (n) = silu(x). y may alias x.
void silu_forward(float* y, const float* x, std::int64_t n);
// dx (n) = dy · silu'(x)   (written, =). dx may alias dy.
void silu_backward(float* dx, const float* dy, const float* x, std::int64_t n);

}  // namespace tinymamba
