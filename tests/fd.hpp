// Central finite differences in double, for checking backward passes against the naive references.
#pragma once

#include <cmath>
#include <functional>
#include <vector>

namespace tinymamba::test {

// d f / d x_i ≈ (f(x + h e_i) − f(x − h e_i)) / 2h for every i. With f in double and h = 1e-6 the truncation
// error is O(h²·f''') ≈ 1e-12 and the rounding error ≈ 1e-16/h = 1e-10, far below the float32 errors
// of the kernels under test.
inline std::vector<double> finite_differences(std::vector<double>& x, const std::function<double()>& f, double h = 1e-6) {
  std::vector<double> g(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double keep = x[i];
    x[i] = keep + h;
    const double up = f();
    x[i] = keep - h;
    const double down = f();
    x[i] = keep;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

// max |a − b| / max(max|b|, tiny): the error relative to the tensor's scale.
template <class A, class B>
double max_rel_error(const A& a, const B& b) {
  double err = 0, scale = 1e-30;
  for (std::size_t i = 0; i < b.size(); ++i) {
    err = std::max(err, std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  }
  return err / scale;
}

template <class T>
std::vector<T> random_vector(std::size_t n, unsigned seed, double lo = -1, double hi = 1) {
  std::vector<T> v(n);
  std::uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
  for (auto& x : v) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    x = static_cast<T>(lo + (hi - lo) * static_cast<double>(s >> 11) * 0x1.0p-53);
  }
  return v;
}

}  // namespace tinymamba::test
