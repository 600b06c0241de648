// cross_entropy: the mean over targets ≥ 0 of logsumexp(logits_t) − logits_t[target_t], for vocabularies around
// the vector width, with a row without a target. Variants: the backward into a separate buffer, and in place
// over the logits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "op_harness.hpp"
#include "tinymamba/ops/cross_entropy.hpp"
#include "tinymamba/ops/ref/reference_ops.hpp"

namespace tinymamba::op_test {
namespace {

struct CrossEntropyShape {
  std::int64_t V;
  std::vector<std::int32_t> targets;
};

class CrossEntropy : public OpCase {
 public:
  CrossEntropy(CrossEntropyShape s, std::uint32_t seed_) : s_(std::move(s)) {
    seed = seed_;
    Rng rng(seed);
    in = {{"logits", rng.uniform(T() * s_.V, -5, 5)}};
  }
  std::string op() const override { return "cross_entropy"; }
  std::string shape() const override {
    std::ostringstream o;
    o << "V=" << s_.V << " targets";
    for (const auto t : s_.targets) o << " " << t;
    return o.str();
  }
  std::vector<Variant> variants() const override { return {{.name = "separate"}, {.name = "in_place", .id = 1}}; }
  std::vector<std::string> outputs() const override { return {"loss"}; }
  Values reference() const override { return {{ref::cross_entropy(in[0].v, s_.targets, s_.V)}}; }
  Values terms() const override { return {{std::max(1.0, std::fabs(reference()[0][0]))}}; }
  // Per element w·(p + [v = target]) with w = dout/M: the target's p − 1 cancels as p → 1.
  Values gradient_terms(const Values& dout) const override {
    const auto& x = in[0].v;
    std::vector<double> t(x.size(), 0.0);
    const double w = std::fabs(dout[0][0]) / std::max<std::int64_t>(1, targets());
    for (std::int64_t r = 0; r < T(); ++r) {
      if (s_.targets[r] < 0) continue;
      const double* row = x.data() + r * s_.V;
      const double mx = *std::max_element(row, row + s_.V);
      double sum = 0;
      for (std::int64_t v = 0; v < s_.V; ++v) sum += std::exp(row[v] - mx);
      for (std::int64_t v = 0; v < s_.V; ++v)
        t[r * s_.V + v] = w * (std::exp(row[v] - mx) / sum + (v == s_.targets[r]));
    }
    return {t};
  }
  Floats forward(const Variant&) override {
    const std::vector<float> x = to_float(in[0].v);
    return {{static_cast<float>(cross_entropy_forward(x.data(), s_.targets.data(), T(), s_.V))}};
  }
  void backward(const Variant& v, const Floats& dout, Floats& grads) override {
    std::vector<float> x = to_float(in[0].v);
    if (v.id == 1) {  // dlogits over the logits
      grads[0] = x;
      cross_entropy_backward(grads[0].data(), grads[0].data(), s_.targets.data(), T(), s_.V, dout[0][0]);
    } else {
      cross_entropy_backward(grads[0].data(), x.data(), s_.targets.data(), T(), s_.V, dout[0][0]);
    }
  }
  Tolerance tolerance(const std::string& t, const Variant&) const override {
    // R = the largest logit − row max: exp's argument x − max is rounded in float (relative error R·u in each
    // term), vmath's exp adds 4u, the sum runs in double. So the row sum is within (R + 4)u relatively and
    // its log within (R + 4)u absolutely; the loss is stored as float here (one more). A gradient element is
    // scale/sum · exp(x − max): the sum's error, its rounding, exp's own again and the product: (2R + 10)u.
    double R = 0;
    for (std::int64_t r = 0; r < T(); ++r) {
      const double* row = in[0].v.data() + r * s_.V;
      R = std::max(R, *std::max_element(row, row + s_.V) - *std::min_element(row, row + s_.V));
    }
    return {.k = t == "loss" ? R + 5 : 2 * R + 10};
  }

 private:
  std::int64_t T() const { return static_cast<std::int64_t>(s_.targets.size()); }
  std::int64_t targets() const {
    return std::count_if(s_.targets.begin(), s_.targets.end(), [](std::int32_t t) { return t >= 0; });
  }
  CrossEntropyShape s_;
};

TEST(OpHarness, CrossEntropy) {
  std::uint32_t seed = 5000;
  for (const std::int32_t V : {2, 8, 9, 10, 16, 17, 32, 33, 34}) {
    CrossEntropy c({V, {0, V - 1, -1, V / 2}}, seed++);
    run_case(c);
  }
  CrossEntropy no_targets({5, {-1, -1}}, seed++);  // nothing to predict: loss 0, gradients 0
  run_case(no_targets);
}

}  // namespace
}  // namespace tinymamba::op_test
