#include "tinymamba/ops/gated_rmsnorm.hpp"

#include <cmath>
#include <vector>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/lanes.hpp"
#include "tinymamba/core/parallel.hpp"
#include "tinymamba/core/vmath.hpp"

namespace tinymamba {

void check_gated_rmsnorm_dims(const GatedRmsNormDims& d) {
  TM_CHECK(d.rows >= 0 && d.d > 0, "gated RMSNorm: rows must be non-negative and d positive, got ", d.rows, " and ",
           d.d);
  TM_CHECK(d.group > 0 && d.d % d.group == 0, "gated RMSNorm: group size ", d.group, " must divide d = ", d.d);
}

// Group sums run in double, as rmsnorm's row sums.
void gated_rmsnorm_forward(const GatedRmsNormDims& dims, float* out, std::int64_t ld_out, float* rstd,
                           const float* y, std::int64_t ld_y, const float* z, std::int64_t ld_z, const float* w) {
  check_gated_rmsnorm_dims(dims);
  const std::int64_t d = dims.d, gs = dims.group, ng = d / gs;
  parallel_for(dims.rows, [&](std::int64_t t0, std::int64_t t1, int) {
    for (std::int64_t t = t0; t < t1; ++t) {
      const float* yr = y + t * ld_y;
      const float* zr = z + t * ld_z;
      float* o = out + t * ld_out;
      for (std::int64_t i = 0; i < d; ++i) o[i] = yr[i] * vmath::silu(zr[i]);  // v, normalized in place below
      for (std::int64_t k = 0; k < ng; ++k) {
        float* v = o + k * gs;
        const double ss = sum_squares(v, gs);
        const float r = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(gs) + dims.eps));
        rstd[t * ng + k] = r;
        for (std::int64_t i = 0; i < gs; ++i) v[i] = v[i] * r * w[k * gs + i];
      }
    }
  }, grain_for(4 * d));
}

void gated_rmsnorm_backward(const GatedRmsNormDims& dims, float* dy, std::int64_t ld_dy, float* dz,
                            std::int64_t ld_dz, float* dw, const float* dout, std::int64_t ld_dout, const float* y,
                            std::int64_t ld_y, const float* z, std::int64_t ld_z, const float* w, const float* rstd) {
  check_gated_rmsnorm_dims(dims);
  const std::int64_t d = dims.d, gs = dims.group, ng = d / gs;
  // dw sums over rows: each thread sums its rows into its own double row, then they are added.
  std::vector<double> dw_part(static_cast<std::size_t>(num_threads() * d), 0.0);
  parallel_for(dims.rows, [&](std::int64_t t0, std::int64_t t1, int thread) {
    double* dwp = dw_part.data() + thread * d;
    for (std::int64_t t = t0; t < t1; ++t) {
      const float* yr = y + t * ld_y;
      const float* zr = z + t * ld_z;
      const float* gr = dout + t * ld_dout;
      for (std::int64_t k = 0; k < ng; ++k) {
        const double r = rstd[t * ng + k];
        double dot = 0;  // Σ_i dout_i · w_i · v̂_i over the group
        for (std::int64_t i = k * gs; i < (k + 1) * gs; ++i) {
          const double vh = yr[i] * vmath::silu(zr[i]) * r;
          dot += static_cast<double>(gr[i]) * w[i] * vh;
          dwp[i] += static_cast<double>(gr[i]) * vh;
        }
        const double mean_dot = dot / static_cast<double>(gs);
        for (std::int64_t i = k * gs; i < (k + 1) * gs; ++i) {
          const float s = vmath::silu(zr[i]);
          const double dv = r * (static_cast<double>(gr[i]) * w[i] - yr[i] * s * r * mean_dot);
          dy[t * ld_dy + i] = static_cast<float>(dv * s);
          dz[t * ld_dz + i] = static_cast<float>(dv * yr[i] * vmath::silu_grad(zr[i]));
        }
      }
    }
  });
  for (std::int64_t i = 0; i < d; ++i) {
    double sum = 0;
    for (int th = 0; th < num_threads(); ++th) sum += dw_part[th * d + i];
    dw[i] += static_cast<float>(sum);
  }
}

}  // namespace tinymamba
