// The gated RMSNorm against the double reference (ops/ref/ssd_reference.hpp): forward on many shapes, backward
// against central finite differences of the reference.
//
// Tolerances: the forward is a handful of float32 roundings per element (silu, the product, the scale) after a
// group sum taken in double, so its error is a few ulp of each value: 8·2⁻²⁴ relative to max|ref| leaves room
// for silu's polynomial exp and catches any wrong term (which is O(1) relative). The backward sums over a group
// (in double) products of float values: 1e-5 · max|FD| per tensor, the README's suggested gradient check
// (../shared/golden/README.md), is loose for these short groups; the five-point FD itself is exact to ~1e-11.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "fd.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/ops/gated_rmsnorm.hpp"
#include "tinymamba/ops/ref/ssd_reference.hpp"

namespace tinymamba {
namespace {

using Vec = std::vector<double>;

struct Case {
  std::int64_t rows, d, group;
  bool strided;
  std::uint32_t seed;
};

Vec randn(std::size_t n, std::mt19937& rng, double mean = 0) {
  std::normal_distribution<float> normal;
  Vec v(n);
  for (double& x : v) x = static_cast<float>(mean + normal(rng));
  return v;
}

double max_abs(const Vec& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// Rows of y and z as column slices of one padded buffer (like in_proj's output), out with its own stride.
struct NormRun {
  Case c;
  std::int64_t ld_in, ld_out;
  std::vector<float> in, w, out, rstd;
  NormRun(const Case& cs, const Vec& y, const Vec& z, const Vec& wd) : c(cs) {
    ld_in = 2 * c.d + (c.strided ? 3 : 0), ld_out = c.d + (c.strided ? 5 : 0);
    in.assign(c.rows * ld_in, 1e30f);
    for (std::int64_t r = 0; r < c.rows; ++r)
      for (std::int64_t i = 0; i < c.d; ++i)
        in[r * ld_in + i] = y[r * c.d + i], in[r * ld_in + c.d + i] = z[r * c.d + i];
    w.assign(wd.begin(), wd.end());
    out.assign(c.rows * ld_out, 0.0f), rstd.assign(c.rows * (c.d / c.group), 0.0f);
  }
  GatedRmsNormDims dims() const { return {c.rows, c.d, c.group}; }
  void forward() {
    gated_rmsnorm_forward(dims(), out.data(), ld_out, rstd.data(), in.data(), ld_in, in.data() + c.d, ld_in, w.data());
  }
  std::vector<float> column(const std::vector<float>& v, std::int64_t ld, std::int64_t off) const {
    std::vector<float> r(c.rows * c.d);
    for (std::int64_t t = 0; t < c.rows; ++t)
      for (std::int64_t i = 0; i < c.d; ++i) r[t * c.d + i] = v[t * ld + off + i];
    return r;
  }
};

void expect_close(const char* name, const std::vector<float>& got, const Vec& want, double rel) {
  const double bound = rel * max_abs(want);
  for (std::size_t i = 0; i < want.size(); ++i)
    ASSERT_LE(std::fabs(got[i] - want[i]), bound) << name << "[" << i << "]: got " << got[i] << ", want " << want[i];
}

TEST(GatedRmsNorm, ForwardMatchesReference) {
  std::uint32_t seed = 1;
  for (const std::int64_t d : {1, 7, 8, 9, 31, 32, 33, 64, 96})
    for (const std::int64_t groups : {1, 2, 3, 4})
      for (const std::int64_t rows : {1, 5}) {
        if (d % groups) continue;
        const Case c{rows, d, d / groups, seed % 2 == 0, seed};
        SCOPED_TRACE(::testing::Message() << "seed " << seed << " rows " << rows << " d " << d << " group " << c.group);
        ++seed;
        std::mt19937 rng(c.seed);
        const Vec y = randn(rows * d, rng), z = randn(rows * d, rng), w = randn(d, rng, 1.0);
        NormRun run(c, y, z, w);
        run.forward();
        expect_close("out", run.column(run.out, run.ld_out, 0), ref::gated_rmsnorm<double>(y, z, w, d, c.group, 1e-5),
                     8 * 0x1p-24);
      }
}

// Groups of 2 channels and up: with one channel per group the output is ±w up to eps and its gradient is pure
// cancellation (two O(1) terms leaving O(eps)), not a test of the formula.
TEST(GatedRmsNorm, BackwardMatchesFiniteDifferences) {
  std::uint32_t seed = 100;
  for (const Case& c :
       {Case{3, 8, 8, false, 0}, Case{2, 12, 4, true, 0}, Case{4, 9, 3, true, 0}, Case{5, 2, 1, false, 0}}) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed << " rows " << c.rows << " d " << c.d << " group " << c.group);
    std::mt19937 rng(seed++);
    Vec y = randn(c.rows * c.d, rng), z = randn(c.rows * c.d, rng), w = randn(c.d, rng, 1.0);
    const Vec dout = randn(c.rows * c.d, rng);
    NormRun run(c, y, z, w);
    run.forward();
    const std::int64_t ld_g = c.d + (c.strided ? 2 : 0);
    std::vector<float> dy(c.rows * ld_g), dz(c.rows * ld_g), dw(c.d, 0.5f), dof(c.rows * ld_g);
    for (std::int64_t t = 0; t < c.rows; ++t)
      for (std::int64_t i = 0; i < c.d; ++i) dof[t * ld_g + i] = static_cast<float>(dout[t * c.d + i]);
    gated_rmsnorm_backward(run.dims(), dy.data(), ld_g, dz.data(), ld_g, dw.data(), dof.data(), ld_g, run.in.data(),
                           run.ld_in, run.in.data() + c.d, run.ld_in, run.w.data(), run.rstd.data());
    auto objective = [&] {
      const Vec o = ref::gated_rmsnorm<double>(y, z, w, c.d, c.group, 1e-5);
      double s = 0;
      for (std::size_t i = 0; i < o.size(); ++i) s += o[i] * dout[i];
      return s;
    };
    const Vec fy = test::finite_differences(y, objective), fz = test::finite_differences(z, objective);
    Vec fw = test::finite_differences(w, objective);
    for (double& v : fw) v += 0.5;  // dw accumulates (+=) onto what was there
    expect_close("dy", run.column(dy, ld_g, 0), fy, 1e-5);
    expect_close("dz", run.column(dz, ld_g, 0), fz, 1e-5);
    expect_close("dw", dw, fw, 1e-5);
  }
}

TEST(GatedRmsNorm, GroupMustDivideTheWidth) {
  try {
    check_gated_rmsnorm_dims({.rows = 2, .d = 10, .group = 4});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("group size 4 must divide d = 10"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tinymamba
