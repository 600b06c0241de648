// The chunked SSD algorithm (paper §6; the official `ssd_minimal_discrete` / `chunk_scan_ref` plan), one
// (b, h) at a time and chunk after chunk, so the state passing of the paper's step 3 is folded into the walk.
// Per chunk of q ≤ Q tokens, with a_l = Σ_{r≤l} δ_r·A (the chunk's dA_cumsum, summed in double so that
// a_l − a_s keeps its digits where both are large), decay L[l, s] = exp(a_l − a_s) for s ≤ l, 0 above:
//   W       = (C Bᵀ) ∘ L · diag(δ)                 (q, q)    the masked "attention" matrix
//   y       = W X + diag(exp(a)) C M_inᵀ + D·X      (q, p)    intra-chunk + from the entering state
//   M_out   = exp(a_last)·M_in + Xᵀ diag(w) B        (p, n)    w_s = exp(a_last − a_s)·δ_s
// Every product is an sgemm on the inputs in place (row strides as given); C Bᵀ, which depends on the group and
// not the head, is computed once per (b, group, chunk) before the walk. Every exp argument is ≤ 0, so
// nothing overflows. The backward is the same list reversed, per chunk from the last, carrying
// G = ∂/∂M_out into the previous chunk; the (q, q) loop gives the gradients through the decay mask and δ,
// and the reverse cumulative sum of ∂/∂a gives those through a = cumsum(δ·A).
#include <cblas.h>

#include <algorithm>
#include <vector>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/parallel.hpp"
#include "tinymamba/core/vmath.hpp"
#include "tinymamba/ops/ssd/ssd_algorithms.hpp"

namespace tinymamba::ssd {
namespace {

// Row-major C (m, n) = alpha·op(A)·op(B) + beta·C.
void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda,
          const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), 1.0f, a, static_cast<int>(lda), b, static_cast<int>(ldb),
              beta, c, static_cast<int>(ldc));
}

std::int64_t chunk_of(const SsdDims& d) { return std::max<std::int64_t>(1, std::min(d.chunk, d.len)); }
std::int64_t chunks_of(const SsdDims& d) { return (d.len + chunk_of(d) - 1) / chunk_of(d); }

// One chunk's time axis for head h: δ, dδ/d(raw dt), a = cumsum(δ·A) (double), exp(a), and the decay mask.
struct ChunkTime {
  std::vector<float> delta, dd_draw, ea, decay;  // (Q), (Q), (Q), (Q, Q) lower triangle
  std::vector<double> a;
  explicit ChunkTime(std::int64_t Q) : delta(Q), dd_draw(Q), ea(Q), decay(Q * Q), a(Q) {}
  void compute(const SsdInputs& in, std::int64_t row0, std::int64_t q, std::int64_t Q, std::int64_t h) {
    double acc = 0.0;
    for (std::int64_t s = 0; s < q; ++s) {
      const Discretized d = discretize(in, in.dt[(row0 + s) * in.ld_dt + h], h);
      delta[s] = d.delta, dd_draw[s] = d.ddelta_draw;
      acc += static_cast<double>(d.delta) * in.A[h];
      a[s] = acc;
      ea[s] = vmath::exp(static_cast<float>(acc));
    }
    for (std::int64_t l = 0; l < q; ++l) {
      float* row = decay.data() + l * Q;
      for (std::int64_t s = 0; s <= l; ++s) row[s] = vmath::exp(static_cast<float>(a[l] - a[s]));
    }
  }
};

// C Bᵀ of every chunk, (b, g, ⌈l/Q⌉, Q, Q): it depends on the group, not the head, so the heads of a group
// share it (with n = 2p, as in mamba2-130m, it is half of the forward's products). About b·g·l·Q values.
Buffer<float> chunk_cbs(const SsdDims& dims, const SsdInputs& in) {
  const std::int64_t L = dims.len, G = dims.ngroups, N = dims.d_state, Q = chunk_of(dims), nc = chunks_of(dims);
  Buffer<float> cbs(static_cast<std::size_t>(dims.batch * G * nc * Q * Q));
  parallel_for(dims.batch * G * nc, [&](std::int64_t i0, std::int64_t i1, int) {
    for (std::int64_t i = i0; i < i1; ++i) {
      const std::int64_t b = i / (G * nc), g = i / nc % G, t0 = i % nc * Q, q = std::min(Q, L - t0);
      const std::int64_t row0 = b * L + t0;
      gemm(false, true, q, q, N, in.C + row0 * in.ld_C + g * N, in.ld_C, in.B + row0 * in.ld_B + g * N, in.ld_B,
           0.0f, cbs.data() + i * Q * Q, Q);
    }
  }, grain_for(Q * Q * N));
  return cbs;
}

// W = CB ∘ decay · diag(δ), zero above the diagonal.
void attention(const ChunkTime& tm, const float* cb, std::int64_t q, std::int64_t Q, float* W) {
  for (std::int64_t l = 0; l < q; ++l) {
    const float* cbr = cb + l * Q;
    const float* dr = tm.decay.data() + l * Q;
    float* wr = W + l * Q;
    for (std::int64_t s = 0; s <= l; ++s) wr[s] = cbr[s] * dr[s] * tm.delta[s];
    for (std::int64_t s = l + 1; s < q; ++s) wr[s] = 0.0f;
  }
}

}  // namespace

void chunked_forward(const SsdDims& dims, const SsdInputs& in, const SsdOutputs& out, SsdSaved* saved) {
  const std::int64_t L = dims.len, H = dims.nheads, P = dims.headdim, N = dims.d_state, Q = chunk_of(dims),
                     nc = chunks_of(dims), hpg = H / dims.ngroups;
  if (saved) saved->states.assign(static_cast<std::size_t>(dims.batch * H * nc * P * N), 0.0f);
  const Buffer<float> cbs = chunk_cbs(dims, in);
  parallel_for(dims.batch * H, [&](std::int64_t i0, std::int64_t i1, int) {
    ChunkTime tm(Q);
    std::vector<float> W(Q * Q), CM(Q * P), Bw(Q * N), M(P * N);
    for (std::int64_t i = i0; i < i1; ++i) {
      const std::int64_t b = i / H, h = i % H, g = h / hpg;
      for (std::int64_t k = 0; k < P * N; ++k) M[k] = in.initial_state ? in.initial_state[i * P * N + k] : 0.0f;
      for (std::int64_t c = 0; c < nc; ++c) {
        const std::int64_t t0 = c * Q, q = std::min(Q, L - t0), row0 = b * L + t0;
        if (saved) std::copy(M.begin(), M.end(), saved->states.begin() + (i * nc + c) * P * N);
        const float* X = in.x + row0 * in.ld_x + h * P;            // (q, p)
        const float* Bc = in.B + row0 * in.ld_B + g * N;           // (q, n)
        const float* Cc = in.C + row0 * in.ld_C + g * N;           // (q, n)
        float* Y = out.y + row0 * out.ld_y + h * P;                // (q, p)
        tm.compute(in, row0, q, Q, h);
        attention(tm, cbs.data() + ((b * dims.ngroups + g) * nc + c) * Q * Q, q, Q, W.data());
        gemm(false, false, q, P, q, W.data(), Q, X, in.ld_x, 0.0f, Y, out.ld_y);  // (q, p) = (q, q)·(q, p)
        gemm(false, true, q, P, N, Cc, in.ld_C, M.data(), N, 0.0f, CM.data(), P);  // (q, p) = (q, n)·(p, n)ᵀ
        for (std::int64_t l = 0; l < q; ++l) {
          float* yr = Y + l * out.ld_y;
          const float* xr = X + l * in.ld_x;
          const float* zr = in.z ? in.z + (row0 + l) * in.ld_z + h * P : nullptr;
          for (std::int64_t p = 0; p < P; ++p) {
            const float v = yr[p] + tm.ea[l] * CM[l * P + p] + skip(in, h, p, P) * xr[p];
            yr[p] = zr ? v * vmath::silu(zr[p]) : v;
          }
        }
        // M ← exp(a_last)·M + Xᵀ diag(w) B:  (p, n) = (q, p)ᵀ·(q, n)
        for (std::int64_t s = 0; s < q; ++s) {
          const float w = tm.decay[(q - 1) * Q + s] * tm.delta[s];
          for (std::int64_t n = 0; n < N; ++n) Bw[s * N + n] = w * Bc[s * in.ld_B + n];
        }
        for (float& m : M) m *= tm.ea[q - 1];
        gemm(true, false, P, N, q, X, in.ld_x, Bw.data(), N, 1.0f, M.data(), N);
      }
      if (out.final_state) std::copy(M.begin(), M.end(), out.final_state + i * P * N);
    }
  }, grain_for(L * P * (N + Q)));
}

void chunked_backward(const SsdDims& dims, const SsdInputs& in, const float* dy, std::int64_t ld_dy,
                      const float* dfinal_state, const SsdSaved& saved, const SsdGrads& grads) {
  const std::int64_t Bsz = dims.batch, L = dims.len, H = dims.nheads, P = dims.headdim, G = dims.ngroups,
                     N = dims.d_state, Q = chunk_of(dims), nc = chunks_of(dims), hpg = H / G;
  TM_CHECK(saved.states.size() == static_cast<std::size_t>(Bsz * H * nc * P * N),
           "SSD chunked backward: the saved chunk states (", saved.states.size(), " values) do not fit this scan (",
           Bsz * H * nc * P * N, " expected): run the forward with the same dimensions first");
  const std::int64_t rows_bc = Bsz * L * G * N;
  const int threads = num_threads();
  // dB and dC sum over the heads of a group; threads own head ranges, so each accumulates its own partial.
  std::vector<double> dB_part(static_cast<std::size_t>(threads * rows_bc), 0.0);
  std::vector<double> dC_part(dB_part.size(), 0.0);
  const Buffer<float> cbs = chunk_cbs(dims, in);

  parallel_for(H, [&](std::int64_t h0, std::int64_t h1, int thread) {
    ChunkTime tm(Q);
    std::vector<float> W(Q * Q), dW(Q * Q), CM(Q * P), Yp(Q * P), dY(Q * P), dX(Q * P), dCc(Q * N),
        dBc(Q * N), T(Q * N), Gm(P * N);
    std::vector<double> da(Q), dd(Q), colsum(Q);
    double* dBp = dB_part.data() + thread * rows_bc;
    double* dCp = dC_part.data() + thread * rows_bc;
    for (std::int64_t h = h0; h < h1; ++h) {
      const std::int64_t g = h / hpg;
      const float A = in.A[h];
      double dA = 0.0, dbias = 0.0;
      std::vector<double> dD(in.D_has_hdim ? P : 1, 0.0);
      for (std::int64_t b = 0; b < Bsz; ++b) {
        const std::int64_t i = b * H + h;
        for (std::int64_t k = 0; k < P * N; ++k) Gm[k] = dfinal_state ? dfinal_state[i * P * N + k] : 0.0f;
        for (std::int64_t c = nc - 1; c >= 0; --c) {
          const std::int64_t t0 = c * Q, q = std::min(Q, L - t0), row0 = b * L + t0;
          const float* M = saved.states.data() + (i * nc + c) * P * N;  // M_in (p, n)
          const float* X = in.x + row0 * in.ld_x + h * P;
          const float* Bc = in.B + row0 * in.ld_B + g * N;
          const float* Cc = in.C + row0 * in.ld_C + g * N;
          const float* cb = cbs.data() + ((b * G + g) * nc + c) * Q * Q;
          tm.compute(in, row0, q, Q, h);
          attention(tm, cb, q, Q, W.data());
          gemm(false, true, q, P, N, Cc, in.ld_C, M, N, 0.0f, CM.data(), P);  // C M_inᵀ
          // dY = ∂/∂y before the gate; with z the pre-gate y is recomputed for dz.
          if (in.z) gemm(false, false, q, P, q, W.data(), Q, X, in.ld_x, 0.0f, Yp.data(), P);
          for (std::int64_t l = 0; l < q; ++l) {
            const float* xr = X + l * in.ld_x;
            const float* gr = dy + (row0 + l) * ld_dy + h * P;
            double de = 0.0;
            for (std::int64_t p = 0; p < P; ++p) {
              float d = gr[p];
              if (in.z) {
                const float z = in.z[(row0 + l) * in.ld_z + h * P + p];
                const float v = Yp[l * P + p] + tm.ea[l] * CM[l * P + p] + skip(in, h, p, P) * xr[p];
                grads.dz[(row0 + l) * grads.ld_dz + h * P + p] = d * v * vmath::silu_grad(z);
                d *= vmath::silu(z);
              }
              dY[l * P + p] = d;
              if (in.D) dD[in.D_has_hdim ? p : 0] += static_cast<double>(d) * xr[p];
              de += static_cast<double>(d) * CM[l * P + p];
            }
            da[l] = de * tm.ea[l];  // through exp(a_l) C_l M_inᵀ
            dd[l] = 0.0, colsum[l] = 0.0;
          }
          // Through W = CB ∘ decay · diag(δ):  dW = dY Xᵀ (q, q); the mask's gradient goes to a_l (+) and a_s (−).
          gemm(false, true, q, q, P, dY.data(), P, X, in.ld_x, 0.0f, dW.data(), Q);
          for (std::int64_t l = 0; l < q; ++l) {
            float* r = dW.data() + l * Q;
            const float* cbr = cb + l * Q;
            const float* dr = tm.decay.data() + l * Q;
            double rowsum = 0.0;
            for (std::int64_t s = 0; s <= l; ++s) {
              const float gl = r[s] * dr[s];
              const double t = static_cast<double>(gl) * cbr[s];
              dd[s] += t;
              if (s < l) rowsum += t * tm.delta[s], colsum[s] += t * tm.delta[s];  // the diagonal's decay is 1
              r[s] = gl * tm.delta[s];  // dW → d(CB)
            }
            for (std::int64_t s = l + 1; s < q; ++s) r[s] = 0.0f;
            da[l] += rowsum;
          }
          for (std::int64_t s = 0; s < q; ++s) da[s] -= colsum[s];
          gemm(false, false, q, N, q, dW.data(), Q, Bc, in.ld_B, 0.0f, dCc.data(), N);  // dC = d(CB)·B
          gemm(true, false, q, N, q, dW.data(), Q, Cc, in.ld_C, 0.0f, dBc.data(), N);   // dB = d(CB)ᵀ·C
          gemm(false, false, q, N, P, dY.data(), P, M, N, 0.0f, T.data(), N);           // dY M_in (q, n)
          for (std::int64_t l = 0; l < q; ++l)
            for (std::int64_t n = 0; n < N; ++n) dCc[l * N + n] += tm.ea[l] * T[l * N + n];
          gemm(true, false, q, P, q, W.data(), Q, dY.data(), P, 0.0f, dX.data(), P);   // dX = Wᵀ dY
          // Through M_out = exp(a_last)·M_in + Xᵀ diag(w) B, with G = ∂/∂M_out.
          gemm(false, true, q, P, N, Bc, in.ld_B, Gm.data(), N, 0.0f, CM.data(), P);   // B Gᵀ (q, p)
          gemm(false, false, q, N, P, X, in.ld_x, Gm.data(), N, 0.0f, T.data(), N);    // X G (q, n)
          for (std::int64_t s = 0; s < q; ++s) {
            const float last_decay = tm.decay[(q - 1) * Q + s], w = last_decay * tm.delta[s];
            const float* xr = X + s * in.ld_x;
            double dw = 0.0;
            for (std::int64_t p = 0; p < P; ++p) {
              dX[s * P + p] += w * CM[s * P + p] + skip(in, h, p, P) * dY[s * P + p];
              dw += static_cast<double>(xr[p]) * CM[s * P + p];
            }
            for (std::int64_t n = 0; n < N; ++n) dBc[s * N + n] += w * T[s * N + n];
            dd[s] += dw * last_decay;
            if (s < q - 1) da[q - 1] += dw * w, da[s] -= dw * w;  // exp(a_last − a_s) is 1 at s = last
          }
          double gm = 0.0;
          for (std::int64_t k = 0; k < P * N; ++k) gm += static_cast<double>(Gm[k]) * M[k];
          da[q - 1] += gm * tm.ea[q - 1];
          // G ← ∂/∂M_in = exp(a_last)·G + dYᵀ diag(exp(a)) C:  (p, n) = (q, p)ᵀ·(q, n)
          for (std::int64_t l = 0; l < q; ++l)
            for (std::int64_t n = 0; n < N; ++n) T[l * N + n] = tm.ea[l] * Cc[l * in.ld_C + n];
          for (float& v : Gm) v *= tm.ea[q - 1];
          gemm(true, false, P, N, q, dY.data(), P, T.data(), N, 1.0f, Gm.data(), N);
          // Through a = cumsum(δ·A): ∂/∂(δ_r·A) = Σ_{l≥r} ∂/∂a_l.
          double S = 0.0;
          for (std::int64_t s = q - 1; s >= 0; --s) {
            S += da[s];
            dd[s] += S * A;
            dA += S * tm.delta[s];
          }
          for (std::int64_t s = 0; s < q; ++s) {
            const std::int64_t row = row0 + s;
            const double draw = dd[s] * tm.dd_draw[s];
            grads.ddt[row * grads.ld_ddt + h] = static_cast<float>(draw);
            dbias += draw;
            std::copy(dX.begin() + s * P, dX.begin() + (s + 1) * P, grads.dx + row * grads.ld_dx + h * P);
            double* dBrow = dBp + (row * G + g) * N;
            double* dCrow = dCp + (row * G + g) * N;
            for (std::int64_t n = 0; n < N; ++n) dBrow[n] += dBc[s * N + n], dCrow[n] += dCc[s * N + n];
          }
        }
        if (grads.dinitial_state) std::copy(Gm.begin(), Gm.end(), grads.dinitial_state + i * P * N);
      }
      write_head_grads(in, grads, h, P, dA, dD, dbias);
    }
  });

  sum_bc_partials(grads, Bsz * L, G, N, threads, dB_part, dC_part);
}

}  // namespace tinymamba::ssd
