// Naive scalar references for every op, templated on the scalar type (instantiated with double in the tests).
// They define what each fast kernel means: the simplest loops that compute the official formulas, same
// layouts as the fast ops (rows of (T, ·), channels contiguous), no threads, no tricks. Tests compare the fast
// float kernels against these in double, and take central finite differences of them to check backwards.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace tinymamba::ref {

template <class T>
using Vec = std::vector<T>;

// out (rows, d) = table[ids]
template <class T>
Vec<T> embedding(const Vec<T>& table, const std::vector<std::int32_t>& ids, std::int64_t d) {
  Vec<T> out(ids.size() * d);
  for (std::size_t t = 0; t < ids.size(); ++t)
    for (std::int64_t i = 0; i < d; ++i) out[t * d + i] = table[ids[t] * d + i];
  return out;
}

// y = x · rsqrt(mean(x²) + eps) · w, per row of d.
template <class T>
Vec<T> rmsnorm(const Vec<T>& x, const Vec<T>& w, std::int64_t d, T eps) {
  Vec<T> y(x.size());
  for (std::size_t r = 0; r < x.size() / d; ++r) {
    T ss = 0;
    for (std::int64_t i = 0; i < d; ++i) ss += x[r * d + i] * x[r * d + i];
    const T rs = T(1) / std::sqrt(ss / T(d) + eps);
    for (std::int64_t i = 0; i < d; ++i) y[r * d + i] = x[r * d + i] * rs * w[i];
  }
  return y;
}

// y (rows, out) = x (rows, in) · Wᵀ + bias;  W (out, in); bias may be empty.
template <class T>
Vec<T> linear(const Vec<T>& x, const Vec<T>& W, const Vec<T>& bias, std::int64_t in, std::int64_t out) {
  const std::size_t rows = x.size() / in;
  Vec<T> y(rows * out);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::int64_t o = 0; o < out; ++o) {
      T s = bias.empty() ? T(0) : bias[o];
      for (std::int64_t i = 0; i < in; ++i) s += x[r * in + i] * W[o * in + i];
      y[r * out + o] = s;
    }
  return y;
}

// Causal depthwise conv: out[b,t,c] = bias[c] + Σ_k w[c,k]·x[b, t−(K−1)+k, c], zeros before t = 0.
template <class T>
Vec<T> causal_conv1d(const Vec<T>& x, const Vec<T>& w, const Vec<T>& bias, std::int64_t batch, std::int64_t len,
                     std::int64_t C, std::int64_t K) {
  Vec<T> out(batch * len * C);
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t t = 0; t < len; ++t)
      for (std::int64_t c = 0; c < C; ++c) {
        T s = bias.empty() ? T(0) : bias[c];
        for (std::int64_t k = 0; k < K; ++k) {
          const std::int64_t src = t - (K - 1) + k;
          if (src >= 0) s += w[c * K + k] * x[(b * len + src) * C + c];
        }
        out[(b * len + t) * C + c] = s;
      }
  return out;
}

template <class T>
T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}
template <class T>
T silu(T x) {
  return x * sigmoid(x);
}
template <class T>
T softplus(T x) {  // torch: threshold 20
  return x > T(20) ? x : std::log1p(std::exp(x));
}

// The selective scan in the official selective_scan_ref's math, time-major layout (see ops/selective_scan.hpp):
// u, delta, z, out (b, l, E); B, C (b, l, N); A (E, N); D, delta_bias (E) or empty; last_state (b, E, N).
template <class T>
struct ScanRefResult {
  Vec<T> out, last_state;
};
template <class T>
ScanRefResult<T> selective_scan(const Vec<T>& u, const Vec<T>& delta, const Vec<T>& A, const Vec<T>& B,
                                const Vec<T>& C, const Vec<T>& D, const Vec<T>& z, const Vec<T>& delta_bias,
                                bool delta_softplus, std::int64_t batch, std::int64_t len, std::int64_t E,
                                std::int64_t N) {
  ScanRefResult<T> r{Vec<T>(batch * len * E), Vec<T>(batch * E * N)};
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t e = 0; e < E; ++e) {
      Vec<T> h(N, T(0));
      for (std::int64_t t = 0; t < len; ++t) {
        const std::int64_t row = b * len + t;
        T dt = delta[row * E + e] + (delta_bias.empty() ? T(0) : delta_bias[e]);
        if (delta_softplus) dt = softplus(dt);
        const T x = u[row * E + e];
        T y = 0;
        for (std::int64_t n = 0; n < N; ++n) {
          h[n] = std::exp(dt * A[e * N + n]) * h[n] + dt * B[row * N + n] * x;
          y += h[n] * C[row * N + n];
        }
        if (!D.empty()) y += D[e] * x;
        if (!z.empty()) y *= silu(z[row * E + e]);
        r.out[row * E + e] = y;
      }
      for (std::int64_t n = 0; n < N; ++n) r.last_state[(b * E + e) * N + n] = h[n];
    }
  return r;
}

// Mean next-token cross-entropy; targets < 0 are skipped.
template <class T>
T cross_entropy(const Vec<T>& logits, const std::vector<std::int32_t>& targets, std::int64_t V) {
  T total = 0;
  std::int64_t m = 0;
  for (std::size_t t = 0; t < targets.size(); ++t) {
    if (targets[t] < 0) continue;
    T mx = logits[t * V];
    for (std::int64_t v = 1; v < V; ++v) mx = std::max(mx, logits[t * V + v]);
    T s = 0;
    for (std::int64_t v = 0; v < V; ++v) s += std::exp(logits[t * V + v] - mx);
    total += mx + std::log(s) - logits[t * V + targets[t]];
    ++m;
  }
  return m ? total / T(m) : T(0);
}

}  // namespace tinymamba::ref
