// silu: y = x·σ(x), elementwise, for lengths around the vector width and x across [−8, 8].
#include <gtest/gtest.h>

#include <cmath>

#include "op_harness.hpp"
#include "tinymamba/ops/ref/reference_ops.hpp"
#include "tinymamba/ops/silu.hpp"

namespace tinymamba::op_test {
namespace {

class Silu : public OpCase {
 public:
  Silu(std::int64_t n, std::uint32_t seed_) : n_(n) {
    seed = seed_;
    Rng rng(seed);
    in = {{"x", rng.uniform(n, -8, 8)}};
  }
  std::string op() const override { return "silu"; }
  std::string shape() const override { return "n=" + std::to_string(n_); }
  std::vector<std::string> outputs() const override { return {"y"}; }
  Values reference() const override {
    std::vector<double> y(in[0].v.size());
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = ref::silu(in[0].v[i]);
    return {y};
  }
  // dx = dy·σ·(1 + x·(1 − σ)) vanishes near x = −1.28 (silu's minimum), where its two terms cancel.
  Values gradient_terms(const Values& dout) const override {
    std::vector<double> t(in[0].v.size());
    for (std::size_t i = 0; i < t.size(); ++i) {
      const double x = in[0].v[i], s = ref::sigmoid(x);
      t[i] = std::fabs(dout[0][i]) * s * (1 + std::fabs(x));
    }
    return {t};
  }
  Floats forward(const Variant&) override {
    std::vector<float> y(n_);
    silu_forward(y.data(), to_float(in[0].v).data(), n_);
    return {y};
  }
  void backward(const Variant&, const Floats& dout, Floats& grads) override {
    silu_backward(grads[0].data(), dout[0].data(), to_float(in[0].v).data(), n_);
  }
  Tolerance tolerance(const std::string& t, const Variant&) const override {
    // vmath's exp is within 2 ulp (4u); σ = 1/(1 + exp(−x)) adds the add and the divide (6u), y = x·σ one more
    // (7u). silu' = σ·(1 + x·(1 − σ)): 1 − σ has σ's absolute error 6u·σ, which x multiplies; with the other
    // four roundings and ·dy the error stays below 17u·|dy|·σ·(1 + |x|).
    return {.k = t == "y" ? 8.0 : 17.0};
  }

 private:
  std::int64_t n_;
};

TEST(OpHarness, Silu) {
  std::uint32_t seed = 3000;
  for (const std::int64_t n : {1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 99}) {
    Silu c(n, seed++);
    run_case(c);
  }
}

}  // namespace
}  // namespace tinymamba::op_test
