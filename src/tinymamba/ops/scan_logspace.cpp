// The log-space scan (the seed's method, made exact). With S_t = Σ_{r≤t} δ_r·A the running sum of log-decays,
//     h_t = exp(S_t) · (h_{−1} + Σ_{s≤t} exp(−S_s)·δ_s·B_s·u_s),
// i.e. two cumulative sums over time instead of a product of decays. Computed over a whole sequence in float32
// this drifts: S_t grows like t·δ·A, each addition to it rounds with an absolute error ~ε·|S_t|, and exp(−S_t)
// overflows once S_t < −88 (docs/numerics.md, "Scan algorithms: logspace error vs length", measures it).
// Here the running sums restart — the state so far becomes the new base, S and the sum start again from 0 —
//   - at every chunk boundary (where the forward saves the state for the backward), and
//   - in each lane as soon as |S| would exceed s_max (1 by default: the error an addition to S can make is then
//     below ε, as small as the rounding of a single decay factor of the plain recurrence).
// A step whose own |δ·A| exceeds s_max restarts at once and is applied as one plain step (c = exp(ℓ)·h + x), so
// nothing over- or underflows beyond what the true values do. Per lane the evaluator keeps the base c, the
// running log-decay S, the running sum P = Σ exp(−S_s)·x_s and the current value v = exp(S)·(c + P).
// The backward recomputes each chunk in the same form and runs the adjoint recurrence with the same evaluator,
// in reverse time.
#include "tinymamba/ops/scan_algorithms.hpp"
#include "tinymamba/ops/scan_blocked.hpp"

namespace tinymamba::scan {
namespace {

using blocked::kLanes;

struct Logspace {
  using Params = LogspaceParams;
  static constexpr std::int64_t kArrays = 4;  // v, c, S, P

  float *v, *c, *S, *P;  // each (n, kLanes)
  std::int64_t N;
  float s_max;
  Logspace(float* mem, std::int64_t N_, const Params& p)
      : v(mem), c(mem + N_ * kLanes), S(mem + 2 * N_ * kLanes), P(mem + 3 * N_ * kLanes), N(N_), s_max(p.s_max) {}

  void reset(const float* v0) { std::copy_n(v0, N * kLanes, v); }
  void rebase() {
    std::copy_n(v, N * kLanes, c);
    std::fill_n(S, N * kLanes, 0.0f);
    std::fill_n(P, N * kLanes, 0.0f);
  }
  const float* value() const { return v; }

  template <bool Record>
  void step(std::int64_t n, const float* ell, const float* x, float* d, float* memo) {
    float *vn = v + n * kLanes, *cn = c + n * kLanes, *Sn = S + n * kLanes, *Pn = P + n * kLanes;
#pragma omp simd
    for (std::int64_t j = 0; j < kLanes; ++j) {
      const float S1 = Sn[j] + ell[j];
      const bool restart = !(std::fabs(S1) <= s_max);  // (NaN restarts too, and propagates)
      const float E = vmath::exp(restart ? ell[j] : S1);
      const float decayed = restart ? E * vn[j] : E * (cn[j] + Pn[j]);  // exp(ℓ)·v_{t−1}
      const float P1 = Pn[j] + x[j] / E;
      const float v1 = restart ? decayed + x[j] : E * (cn[j] + P1);
      if constexpr (Record) {
        d[j] = decayed;
        memo[j] = ell[j];  // the adjoint runs the same evaluator on ℓ
      }
      cn[j] = restart ? v1 : cn[j];
      Sn[j] = restart ? 0.0f : S1;
      Pn[j] = restart ? 0.0f : P1;
      vn[j] = v1;
    }
  }

  // g_t = exp(ℓ_{t+1})·g_{t+1} + x_t: the same evaluator, stepping backwards in time.
  void adjoint(std::int64_t n, const float* ell_next, const float* x, float* g) {
    step<false>(n, ell_next, x, nullptr, nullptr);
    std::copy_n(v + n * kLanes, kLanes, g);
  }
};

}  // namespace

void logspace_forward(const ScanDims& dims, const ScanInputs& in, const ScanOutputs& out, ScanSaved* saved,
                      const LogspaceParams& params) {
  blocked::forward<Logspace>(dims, in, out, saved, params);
}

void logspace_backward(const ScanDims& dims, const ScanInputs& in, const float* dout, std::int64_t ld_dout,
                       const ScanSaved& saved, const ScanGrads& grads, const LogspaceParams& params) {
  blocked::backward<Logspace>(dims, in, dout, ld_dout, saved, grads, params);
}

}  // namespace tinymamba::scan
