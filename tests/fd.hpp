// Central finite differences in double, for checking backward passes against the naive references.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

namespace tinymamba::test {

// d f / d x_i by the five-point central stencil (−f(x+2h) + 8f(x+h) − 8f(x−h) + f(x−2h)) / 12h, for every i.
// With f in double and h = 1e-4: truncation O(h⁴·f⁽⁵⁾) ≈ 1e-17, rounding ≈ 2e-16·|f|/h ≈ 1e-11·|f| absolute —
// small enough even for gradients of 1e-6 (a model's A_log), where a two-point stencil's ~1e-10 noise is not.
inline std::vector<double> finite_differences(std::vector<double>& x, const std::function<double()>& f, double h = 1e-4) {
  std::vector<double> g(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double keep = x[i];
    auto at = [&](double offset) {
      x[i] = keep + offset;
      return f();
    };
    g[i] = (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h);
    x[i] = keep;
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
