// The chunked scan: the official CUDA kernel's plan on a CPU (scan_blocked.hpp has the chunk walk, the saved
// boundary states and the backward's recomputation). This file supplies its recurrence evaluator, the plain
// one: per step and state, a = exp(δ_t·A) (vmath::exp, vectorized over a block of channels) and
// h_t = a·h_{t−1} + δ_t·B_t·u_t, in float32 like the official kernel.
#include "tinymamba/ops/scan_algorithms.hpp"
#include "tinymamba/ops/scan_blocked.hpp"

namespace tinymamba::scan {
namespace {

using blocked::kLanes;

struct Direct {
  using Params = ChunkedParams;
  static constexpr std::int64_t kArrays = 1;  // v

  float* v;  // (n, kLanes)
  std::int64_t N;
  Direct(float* mem, std::int64_t N_, const Params&) : v(mem), N(N_) {}

  void reset(const float* v0) { std::copy_n(v0, N * kLanes, v); }
  void rebase() {}
  const float* value() const { return v; }

  template <bool Record>
  void step(std::int64_t n, const float* ell, const float* x, float* d, float* memo) {
    float* vn = v + n * kLanes;
#pragma omp simd
    for (std::int64_t j = 0; j < kLanes; ++j) {
      const float a = vmath::exp(ell[j]);
      if constexpr (Record) {
        d[j] = a * vn[j];
        memo[j] = a;  // the adjoint's decay
      }
      vn[j] = std::fma(a, vn[j], x[j]);
    }
  }

  // g ← a_{t+1}·g + x, with a_{t+1} as the recompute of step t+1 computed it.
  void adjoint(std::int64_t n, const float* a_next, const float* x, float* g) {
    float* vn = v + n * kLanes;
#pragma omp simd
    for (std::int64_t j = 0; j < kLanes; ++j) {
      vn[j] = std::fma(a_next[j], vn[j], x[j]);
      g[j] = vn[j];
    }
  }
};

}  // namespace

void chunked_forward(const ScanDims& dims, const ScanInputs& in, const ScanOutputs& out, ScanSaved* saved,
                     const ChunkedParams& params) {
  blocked::forward<Direct>(dims, in, out, saved, params);
}

void chunked_backward(const ScanDims& dims, const ScanInputs& in, const float* dout, std::int64_t ld_dout,
                      const ScanSaved& saved, const ScanGrads& grads, const ChunkedParams& params) {
  blocked::backward<Direct>(dims, in, dout, ld_dout, saved, grads, params);
}

}  // namespace tinymamba::scan
