// causal_conv1d: out[b, t, c] = bias[c] + Σ_k w[c, k]·x[b, t − (K−1) + k, c], x before t = 0 taken from a carried
// state or zero, for channel counts around the vector width and the backward's 64-channel blocks, K = 1, 3, 4,
// strided x rows. With a state the outputs include causal_conv1d_final_state's new state (the reference: the
// conv over [state, x] with the state's outputs dropped). Variants: the sequence forward, and — for one token
// with a state — the decode step (causal_conv1d_step) over two channel ranges as two threads run it.
#include <gtest/gtest.h>

#include <sstream>

#include "op_harness.hpp"
#include "tinymamba/ops/causal_conv1d.hpp"
#include "tinymamba/ops/ref/reference_ops.hpp"

namespace tinymamba::op_test {
namespace {

struct ConvShape {
  std::int64_t batch, len, C, K;
  bool bias = true, state = false;
  std::int64_t pad = 0;  // extra elements between rows of x and dx
};

class Conv : public OpCase {
 public:
  Conv(const ConvShape& s, std::uint32_t seed_) : s_(s) {
    seed = seed_;
    Rng rng(seed);
    in = {{"x", rng.uniform(s.batch * s.len * s.C)}, {"w", rng.uniform(s.C * s.K), true, true}};
    if (s.bias) in.push_back({"bias", rng.uniform(s.C), true, true});
    if (s.state) in.push_back({"state", rng.uniform(s.batch * s.C * s.K), false});  // no gradient flows into it
  }
  std::string op() const override { return "causal_conv1d"; }
  std::string shape() const override {
    std::ostringstream o;
    o << "b=" << s_.batch << " l=" << s_.len << " c=" << s_.C << " K=" << s_.K << (s_.bias ? " bias" : "")
      << (s_.state ? " state" : "") << " ld+" << s_.pad;
    return o.str();
  }
  std::vector<Variant> variants() const override {
    std::vector<Variant> v = {{.name = "forward"}};
    if (s_.state && s_.len == 1) v.push_back({.name = "step", .id = 1, .backward = false});
    return v;
  }
  std::vector<std::string> outputs() const override {
    if (s_.state) return {"out", "final_state"};
    return {"out"};
  }
  std::size_t backward_outputs() const override { return 1; }  // the new state carries no gradient
  bool multilinear() const override { return true; }
  Values reference() const override {
    const std::int64_t B = s_.batch, L = s_.len, C = s_.C, K = s_.K, H = s_.state ? K : 0;
    const std::vector<double>& x = in[0].v;
    std::vector<double> seq(B * (H + L) * C);  // per sequence: the state's K inputs (oldest first), then x
    for (std::int64_t b = 0; b < B; ++b)
      for (std::int64_t c = 0; c < C; ++c) {
        for (std::int64_t k = 0; k < H; ++k) seq[(b * (H + L) + k) * C + c] = state()[(b * C + c) * K + k];
        for (std::int64_t t = 0; t < L; ++t) seq[(b * (H + L) + H + t) * C + c] = x[(b * L + t) * C + c];
      }
    const auto all = ref::causal_conv1d(seq, in[1].v, s_.bias ? in[2].v : std::vector<double>{}, B, H + L, C, K);
    std::vector<double> out(B * L * C), final_state(B * C * K);
    for (std::int64_t b = 0; b < B; ++b)
      for (std::int64_t c = 0; c < C; ++c) {
        for (std::int64_t t = 0; t < L; ++t) out[(b * L + t) * C + c] = all[(b * (H + L) + H + t) * C + c];
        for (std::int64_t k = 0; k < K; ++k)  // entry k: time L − K + k of x, before that the old state
          final_state[(b * C + c) * K + k] = H + L - K + k >= 0 ? seq[(b * (H + L) + H + L - K + k) * C + c] : 0.0;
      }
    if (s_.state) return {out, final_state};
    return {out};
  }

  Floats forward(const Variant& v) override {
    const std::int64_t ldx = s_.C + s_.pad;
    std::vector<float> x, out(s_.batch * s_.len * s_.C), w = to_float(in[1].v), st = to_float(state());
    to_rows(x, in[0].v, s_.C, ldx);
    const std::vector<float> bias = s_.bias ? to_float(in[2].v) : std::vector<float>{};
    const float* b = s_.bias ? bias.data() : nullptr;
    const Conv1dShape shape{s_.batch, s_.len, s_.C, s_.K};
    if (v.id == 0) {
      causal_conv1d_forward(out.data(), x.data(), ldx, w.data(), b, s_.state ? st.data() : nullptr, shape);
      if (!s_.state) return {out};
      std::vector<float> next(st.size());
      causal_conv1d_final_state(next.data(), x.data(), ldx, st.data(), shape);
      return {out, next};
    }
    const std::int64_t mid = s_.C / 2;  // the step: one token per sequence, channels in two ranges
    for (std::int64_t s = 0; s < s_.batch; ++s)
      for (const auto& [c0, c1] : {std::pair{std::int64_t{0}, mid}, std::pair{mid, s_.C}})
        causal_conv1d_step(out.data() + s * s_.C, st.data() + s * s_.C * s_.K, x.data() + s * ldx, w.data(), b,
                           s_.K, c0, c1);
    return {out, st};
  }
  void backward(const Variant&, const Floats& dout, Floats& grads) override {
    const std::int64_t ldx = s_.C + s_.pad;
    std::vector<float> x, dx, w = to_float(in[1].v), st = to_float(state());
    to_rows(x, in[0].v, s_.C, ldx);
    to_rows(dx, {grads[0].begin(), grads[0].end()}, s_.C, ldx);
    causal_conv1d_backward(dx.data(), ldx, grads[1].data(), s_.bias ? grads[2].data() : nullptr, dout[0].data(),
                           x.data(), ldx, w.data(), s_.state ? st.data() : nullptr, {s_.batch, s_.len, s_.C, s_.K});
    grads[0] = from_rows(dx, s_.batch * s_.len, s_.C, ldx);
  }
  Tolerance tolerance(const std::string& t, const Variant&) const override {
    // out: the bias plus K float products (K + 1 roundings); dx: K products (K); dw and dbias are summed over
    // b·l in double and rounded once (1, and the double sum's share below another); the new state is a copy.
    if (t == "out") return {.k = static_cast<double>(s_.K + 1)};
    if (t == "dx") return {.k = static_cast<double>(s_.K)};
    if (t == "final_state") return {};
    return {.k = 2};
  }

 private:
  const std::vector<double>& state() const {
    static const std::vector<double> none;
    return s_.state ? in.back().v : none;
  }
  ConvShape s_;
};

TEST(OpHarness, CausalConv1d) {
  std::uint32_t seed = 6000;
  std::vector<ConvShape> rows;
  bool bias = false;
  for (const std::int64_t C : {1, 7, 8, 9, 31, 32, 33, 65})  // 65: two of the backward's 64-channel blocks
    for (const std::int64_t K : {1, 3, 4}) rows.push_back({2, 6, C, K, bias = !bias});
  for (const std::int64_t len : {1, 2, 7}) {  // a carried state; one token also runs the decode step
    rows.push_back({2, len, 9, 4, true, true});
    rows.push_back({1, len, 33, 3, false, true, 5});
  }
  rows.push_back({2, 5, 17, 4, true, false, 17});  // x a column slice of a wider buffer, as in the model
  for (const ConvShape& s : rows) {
    Conv c(s, seed++);
    run_case(c);
  }
}

// Not an accuracy row: the decode step and the sequence forward over one token compute the same K products in
// the same order, so they agree bitwise (outputs and new state), not only within the tolerance.
TEST(OpHarness, CausalConv1dStepIsBitwiseTheForwardOverOneToken) {
  Conv c({2, 1, 9, 4, true, true}, 6100);
  EXPECT_EQ(c.forward({.name = "step", .id = 1}), c.forward({.name = "forward"}));
}

}  // namespace
}  // namespace tinymamba::op_test
