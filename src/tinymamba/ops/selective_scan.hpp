// The selective scan (paper §3.2, Algorithm 2; the official `selective_scan_ref` semantics), for one batch of
// sequences. Per batch row b and channel e (a vector of N states per channel):
//   δ_t  = softplus(Δ_t + Δ_bias)               (softplus only when delta_softplus; torch threshold 20)
//   h_t  = exp(δ_t·A) ⊙ h_{t−1} + δ_t·B_t·u_t    (ZOH for A, Euler for B; h_{−1} = initial state or 0)
//   y_t  = ⟨h_t, C_t⟩ + D·u_t
//   out_t = y_t · silu(z_t)                      (when z is given)
// and last_state = h_{L−1}.
//
// Layout: time-major with channels contiguous — u, Δ, z, out are (b, l, d_in) and B, C are (b, l, n) with a
// row stride (ld_*) between consecutive tokens, so the scan reads the model's activations in place (B and C
// are column slices of x_proj's output). The official code lays these out as (b, d_in, l) / (b, n, l); the
// golden tests transpose. Gradients follow the official backward: the last state receives none.
//
// Several algorithms implement the same contract (see ScanAlgorithm); all are verified on the same goldens.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "tinymamba/core/buffer.hpp"

namespace tinymamba {

enum class ScanAlgorithm {
  sequential,  // the plain recurrence, one channel at a time, libm exp: the reference
  logspace,    // cumulative sums of δ·A and exp(−S)·δ·B·u (the seed's method), restarted so it stays exact
  chunked,     // fused, vectorized over channels, chunk-boundary states + recomputation (the CUDA kernel's plan)
};

[[nodiscard]] std::span<const ScanAlgorithm> all_scan_algorithms();
[[nodiscard]] std::string_view scan_algorithm_name(ScanAlgorithm a);
// Parses "sequential" | "logspace" | "chunked"; throws Error naming the accepted values.
[[nodiscard]] ScanAlgorithm parse_scan_algorithm(std::string_view name);
// The fastest algorithm that passes the goldens: what the model uses unless told otherwise.
inline constexpr ScanAlgorithm kDefaultScan = ScanAlgorithm::chunked;

// The largest state size (n) any algorithm supports: the official kernels' limit too.
inline constexpr std::int64_t kMaxScanState = 256;

struct ScanDims {
  std::int64_t batch, len, d_inner, d_state;  // b, l, d_in, n
};

struct ScanInputs {
  const float* u;                        // (b, l, d_in)
  std::int64_t ld_u;
  const float* delta;                    // (b, l, d_in) Δ before bias and softplus
  std::int64_t ld_delta;
  const float* A;                        // (d_in, n), negative (A = −exp(A_log))
  const float* B;                        // (b, l, n)
  std::int64_t ld_B;
  const float* C;                        // (b, l, n)
  std::int64_t ld_C;
  const float* D = nullptr;              // (d_in) skip, optional
  const float* z = nullptr;              // (b, l, d_in) gate, optional
  std::int64_t ld_z = 0;
  const float* delta_bias = nullptr;     // (d_in), optional
  bool delta_softplus = true;
  const float* initial_state = nullptr;  // (b, d_in, n), optional (zeros when null): continues a sequence
};

struct ScanOutputs {
  float* out;                     // (b, l, d_in)
  std::int64_t ld_out;
  float* last_state = nullptr;    // (b, d_in, n), optional; may alias in.initial_state (state carried in place)
};

// Gradients of Σ out·dout w.r.t. every input; all are written (=), none accumulated.
struct ScanGrads {
  float* du;  // (b, l, d_in)
  std::int64_t ld_du;
  float* ddelta;  // (b, l, d_in), w.r.t. the raw Δ (before bias and softplus)
  std::int64_t ld_ddelta;
  float* dA;  // (d_in, n)
  float* dB;  // (b, l, n)
  std::int64_t ld_dB;
  float* dC;  // (b, l, n)
  std::int64_t ld_dC;
  float* dD = nullptr;           // (d_in), when D is given
  float* dz = nullptr;           // (b, l, d_in), when z is given
  std::int64_t ld_dz = 0;
  float* ddelta_bias = nullptr;  // (d_in), when delta_bias is given
};

// What a forward leaves for its backward (algorithm-specific; empty for algorithms that recompute everything).
// chunked and logspace: the state entering each chunk of 64 steps, (b, ⌈l/64⌉, d_in, n) — including the initial
// state, so their backward does not read in.initial_state (which the forward may have overwritten in place).
// sequential saves nothing and reads in.initial_state again in its backward.
struct ScanSaved {
  Buffer<float> states;
};

// `saved` may be null when no backward will follow (inference).
void selective_scan_forward(ScanAlgorithm algo, const ScanDims& dims, const ScanInputs& in, const ScanOutputs& out,
                            ScanSaved* saved);
void selective_scan_backward(ScanAlgorithm algo, const ScanDims& dims, const ScanInputs& in, const float* dout,
                             std::int64_t ld_dout, const ScanSaved& saved, const ScanGrads& grads);

}  // namespace tinymamba
