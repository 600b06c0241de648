// The SSD scan of Mamba-2 (Dao & Gu 2024, arXiv 2405.21060; the official `mamba_chunk_scan_combined` semantics,
// ../shared/reference/official-mamba2.md §2), for one batch of sequences. Glossary: b batch, l length,
// h heads, p headdim, g groups (head h reads group h / (h_total / g)), n d_state, Q chunk size.
// Per batch row b and head h, with the state M a (p, n) matrix:
//   δ_t  = clamp(softplus(dt_t + dt_bias), dt_min, dt_max)   (softplus only when dt_softplus; torch threshold 20)
//   M_t  = exp(δ_t·A_h)·M_{t−1} + δ_t·x_t B_tᵀ              (A_h one negative scalar per head; M_{−1} = initial)
//   y_t  = M_t C_t + D·x_t                                   (D per head, or per (head, p) when D_has_hdim)
//   out_t = y_t · silu(z_t)                                  (when z is given)
// and final_state = M_{l−1}.
//
// Layout: time-major, each token a row — x, z, y are (b, l, h, p) with h·p contiguous per row, dt is (b, l, h),
// B and C are (b, l, g, n) — with a row stride (ld_*) between consecutive tokens, so the scan reads in_proj's and
// the conv's outputs in place. The official layout (b, l, h, p) is the same; states are (b, h, p, n) as there.
// Unlike the Mamba-1 scan, the final state receives a gradient (the official autograd function gives one).
//
// Two algorithms implement the same contract (SsdAlgorithm); both are verified on the same goldens.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <string_view>

#include "tinymamba/core/buffer.hpp"

namespace tinymamba {

enum class SsdAlgorithm {
  sequential,  // the recurrence one token at a time, per (head, p) row of the state: the reference
  chunked,     // the paper's chunked SSD: per chunk, masked C·Bᵀ "attention" and state passing, as sgemm calls
};

[[nodiscard]] std::span<const SsdAlgorithm> all_ssd_algorithms();
[[nodiscard]] std::string_view ssd_algorithm_name(SsdAlgorithm a);
// Parses "sequential" | "chunked"; throws Error naming the accepted values.
[[nodiscard]] SsdAlgorithm parse_ssd_algorithm(std::string_view name);
inline constexpr SsdAlgorithm kDefaultSsd = SsdAlgorithm::chunked;

struct SsdDims {
  std::int64_t batch, len, nheads, headdim, ngroups, d_state;  // b, l, h, p, g, n
  std::int64_t chunk = 256;  // Q, the chunked algorithm's chunk size (the result depends on it only by rounding)
};

struct SsdInputs {
  const float* x;                        // (b, l, h, p)
  std::int64_t ld_x;
  const float* dt;                       // (b, l, h) before bias, softplus and clamp
  std::int64_t ld_dt;
  const float* A;                        // (h), negative (A = −exp(A_log))
  const float* B;                        // (b, l, g, n)
  std::int64_t ld_B;
  const float* C;                        // (b, l, g, n)
  std::int64_t ld_C;
  const float* D = nullptr;              // (h), or (h, p) when D_has_hdim; optional
  bool D_has_hdim = false;
  const float* z = nullptr;              // (b, l, h, p) gate, optional
  std::int64_t ld_z = 0;
  const float* dt_bias = nullptr;        // (h), optional
  bool dt_softplus = true;
  float dt_min = 0.0f, dt_max = INFINITY;  // dt_limit; the clamp's gradient is 0 outside it
  const float* initial_state = nullptr;  // (b, h, p, n), optional (zeros when null)
};

struct SsdOutputs {
  float* y;                        // (b, l, h, p)
  std::int64_t ld_y;
  float* final_state = nullptr;    // (b, h, p, n), optional; may alias in.initial_state (state carried in place)
};

// Gradients of Σ y·dy + Σ final_state·dfinal_state w.r.t. every input; all written (=), none accumulated.
struct SsdGrads {
  float* dx;  // (b, l, h, p)
  std::int64_t ld_dx;
  float* ddt;  // (b, l, h), w.r.t. the raw dt (before bias, softplus and clamp)
  std::int64_t ld_ddt;
  float* dA;  // (h)
  float* dB;  // (b, l, g, n)
  std::int64_t ld_dB;
  float* dC;  // (b, l, g, n)
  std::int64_t ld_dC;
  float* dD = nullptr;             // like D, when D is given
  float* dz = nullptr;             // (b, l, h, p), when z is given
  std::int64_t ld_dz = 0;
  float* ddt_bias = nullptr;       // (h), when dt_bias is given
  float* dinitial_state = nullptr;  // (b, h, p, n), optional
};

// What a forward leaves for its backward. chunked: the state entering each chunk, (b, h, ⌈l/Q⌉, p, n) — 1/Q of
// a per-token state tensor — including the initial state, so its backward does not read in.initial_state (which
// the forward may have overwritten in place). sequential saves nothing and reads in.initial_state again.
struct SsdSaved {
  Buffer<float> states;
};

// Checks the dimensions (positive sizes, g divides h, chunk ≥ 1); throws Error naming the problem.
void check_ssd_dims(const SsdDims& dims);

// `saved` may be null when no backward will follow (inference).
void ssd_scan_forward(SsdAlgorithm algo, const SsdDims& dims, const SsdInputs& in, const SsdOutputs& out,
                      SsdSaved* saved);
// dfinal_state (b, h, p, n) may be null (no gradient reaches the final state).
void ssd_scan_backward(SsdAlgorithm algo, const SsdDims& dims, const SsdInputs& in, const float* dy,
                       std::int64_t ld_dy, const float* dfinal_state, const SsdSaved& saved, const SsdGrads& grads);

}  // namespace tinymamba
