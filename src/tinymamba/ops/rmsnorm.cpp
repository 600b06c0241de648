#include "tinymamba/ops/rmsnorm.hpp"

#include <cmath>
#include <vector>

#include "tinymamba/core/lanes.hpp"
#include "tinymamba/core/parallel.hpp"

namespace tinymamba {

// Row sums run in double: d is at most a few thousand, so this costs nothing next to the GEMMs and keeps the
// norm as exact as float32 storage allows.
void rmsnorm_forward(float* y, float* rstd, const float* x, const float* w, std::int64_t T, std::int64_t d, float eps) {
  parallel_for(T, [&](std::int64_t t0, std::int64_t t1, int) {
    for (std::int64_t t = t0; t < t1; ++t) {
      const float* xr = x + t * d;
      const double ss = sum_squares(xr, d);
      const float r = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(d) + eps));
      rstd[t] = r;
      float* yr = y + t * d;
      for (std::int64_t i = 0; i < d; ++i) yr[i] = xr[i] * r * w[i];
    }
  }, grain_for(2 * d));
}

void rmsnorm_backward(float* dx, float* dw, const float* dy, const float* x, const float* w, const float* rstd,
                      std::int64_t T, std::int64_t d) {
  // dw is a reduction over rows: each thread sums its rows into its own double row, then they are added.
  std::vector<double> dw_part(static_cast<std::size_t>(num_threads() * d), 0.0);
  parallel_for(T, [&](std::int64_t t0, std::int64_t t1, int thread) {
    double* dwp = dw_part.data() + thread * d;
    for (std::int64_t t = t0; t < t1; ++t) {
      const float* xr = x + t * d;
      const float* gr = dy + t * d;
      const double r = rstd[t];
      double dot = 0;  // Σ_i dy_i · w_i · n_i
      for (std::int64_t i = 0; i < d; ++i) {
        const double n = xr[i] * r;
        dot += static_cast<double>(gr[i]) * w[i] * n;
        dwp[i] += static_cast<double>(gr[i]) * n;
      }
      const double mean_dot = dot / static_cast<double>(d);
      float* dxr = dx + t * d;
      for (std::int64_t i = 0; i < d; ++i)
        dxr[i] = static_cast<float>(r * (static_cast<double>(gr[i]) * w[i] - xr[i] * r * mean_dot));
    }
  });
  for (std::int64_t i = 0; i < d; ++i) {
    double sum = 0;
    for (int th = 0; th < num_threads(); ++th) sum += dw_part[th * d + i];
    dw[i] += static_cast<float>(sum);
  }
}

}  // namespace tinymamba
