// linear: y (T, out) = x (T, in) · W (out, in)ᵀ + bias, rows of x, y, dx strided. Rows reach both branches of
// linear_forward (T ≤ 8: the GEMV path; T > 8: sgemm) and widths around the 16-lane vector (in = 15, 16, 17, 31,
// 32, 33); every row runs for every weight type. Variants: linear_forward, and linear_rows_accumulate over two
// row ranges as two threads of a decode step run it.
#include <gtest/gtest.h>

#include <sstream>

#include "op_harness.hpp"
#include "tinymamba/ops/linear.hpp"
#include "tinymamba/ops/ref/reference_ops.hpp"

namespace tinymamba::op_test {
namespace {

struct LinearShape {
  std::int64_t T, in, out;
  bool bias = true;
  std::int64_t pad = 0;        // extra elements between rows of x, dx and y: strided views
  bool accumulate_dx = false;  // linear_backward adds dx onto what is there
};

// The one place the harness calls linear: when `linear` takes a typed weight view, only this function changes.
enum class LinearCall { forward, rows_accumulate, backward };
struct LinearArgs {
  std::int64_t T, in, out;
  Mat y{};
  ConstMat x{};
  const float* bias = nullptr;
  std::int64_t o0 = 0, o1 = 0;  // rows_accumulate: the output rows
  Mat dx{};
  float* dW = nullptr;
  float* dbias = nullptr;
  ConstMat dy{};
  bool accumulate_dx = false;
};
void call_linear(LinearCall call, const WeightType& type, const std::vector<std::byte>& W, const LinearArgs& a) {
  ASSERT_EQ(type.dtype, DType::F32) << "the linear adapter knows f32 weights only";
  const WeightMatrix w = WeightMatrix::f32(reinterpret_cast<const float*>(W.data()), a.out, a.in);
  switch (call) {
    case LinearCall::forward: return linear_forward(a.y, a.x, w, a.bias, a.T);
    case LinearCall::rows_accumulate: return linear_rows_accumulate(a.y, a.x, w, a.T, a.o0, a.o1);
    case LinearCall::backward: return linear_backward(a.dx, a.dW, a.dbias, a.dy, a.x, w, a.T, a.accumulate_dx);
  }
}

class Linear : public OpCase {
 public:
  Linear(const LinearShape& s, const WeightType& t, std::uint32_t seed_) : s_(s) {
    seed = seed_, type = &t;
    Rng rng(seed);
    std::vector<double> W = rng.uniform(s.out * s.in);
    weight_ = t.encode(W, s.out, s.in);  // W now holds the values the type stores
    in = {{"x", rng.uniform(s.T * s.in), true, s.accumulate_dx}, {"W", std::move(W), true, true}};
    if (s.bias) in.push_back({"bias", rng.uniform(s.out), true, true});
  }
  std::string op() const override { return "linear"; }
  std::string shape() const override {
    std::ostringstream o;
    o << "T=" << s_.T << " in=" << s_.in << " out=" << s_.out << (s_.bias ? " bias" : "") << " ld+" << s_.pad
      << (s_.accumulate_dx ? " dx+=" : "");
    return o.str();
  }
  std::vector<Variant> variants() const override {
    return {{.name = "forward"}, {.name = "rows_accumulate", .id = 1, .backward = false}};
  }
  std::vector<std::string> outputs() const override { return {"y"}; }
  bool multilinear() const override { return true; }
  Values reference() const override {
    return {ref::linear(in[0].v, in[1].v, s_.bias ? in[2].v : std::vector<double>{}, s_.in, s_.out)};
  }

  Floats forward(const Variant& v) override {
    const std::int64_t ldx = s_.in + s_.pad, ldy = s_.out + s_.pad;
    std::vector<float> x, y(s_.T * ldy, 0.0f);
    to_rows(x, in[0].v, s_.in, ldx, 0, 99.0f);
    const std::vector<float> bias = s_.bias ? to_float(in[2].v) : std::vector<float>{};
    LinearArgs a{.T = s_.T, .in = s_.in, .out = s_.out, .y = {y.data(), ldy}, .x = {x.data(), ldx},
                 .bias = s_.bias ? bias.data() : nullptr};
    if (v.id == 0) {
      call_linear(LinearCall::forward, *type, weight_, a);
    } else {  // y starts from the bias; two threads' ranges of output rows
      for (std::int64_t t = 0; t < s_.T; ++t)
        for (std::int64_t o = 0; o < s_.out; ++o) y[t * ldy + o] = s_.bias ? bias[o] : 0.0f;
      for (const auto& [o0, o1] : {std::pair{std::int64_t{0}, s_.out / 2}, std::pair{s_.out / 2, s_.out}}) {
        a.o0 = o0, a.o1 = o1;
        call_linear(LinearCall::rows_accumulate, *type, weight_, a);
      }
    }
    return {from_rows(y, s_.T, s_.out, ldy)};
  }

  void backward(const Variant&, const Floats& dout, Floats& grads) override {
    const std::int64_t ldx = s_.in + s_.pad, ldy = s_.out + s_.pad;
    std::vector<float> x, dy, dx;
    to_rows(x, in[0].v, s_.in, ldx, 0, 99.0f);
    to_rows(dy, {dout[0].begin(), dout[0].end()}, s_.out, ldy, 0, 99.0f);
    to_rows(dx, {grads[0].begin(), grads[0].end()}, s_.in, ldx, 0, 99.0f);
    call_linear(LinearCall::backward, *type, weight_,
                {.T = s_.T, .in = s_.in, .out = s_.out, .x = {x.data(), ldx}, .dx = {dx.data(), ldx},
                 .dW = grads[1].data(), .dbias = s_.bias ? grads[2].data() : nullptr, .dy = {dy.data(), ldy},
                 .accumulate_dx = s_.accumulate_dx});
    grads[0] = from_rows(dx, s_.T, s_.in, ldx);
  }

  Tolerance tolerance(const std::string& t, const Variant&) const override {
    // Each element is a float32 sum of products of floats: in + 1 terms for y (with the bias), out for dx, T for
    // dW, whatever the order sgemm or the vector loop adds them in. dbias sums T floats in double (its error,
    // T·2⁻⁵³ relative, is below one float32 rounding) and rounds once.
    if (t == "y") return {.k = static_cast<double>(s_.in + 1)};
    if (t == "dx") return {.k = static_cast<double>(s_.out)};
    if (t == "dW") return {.k = static_cast<double>(s_.T)};
    return {.k = 2};
  }

 private:
  LinearShape s_;
  std::vector<std::byte> weight_;
};

std::vector<LinearShape> linear_rows() {
  std::vector<LinearShape> rows;
  bool bias = false;
  for (const std::int64_t T : {1, 3, 8, 9, 12})  // ≤ 8: GEMV; > 8: sgemm
    for (const std::int64_t in : {1, 7, 8, 9, 15, 16, 17, 31, 32, 33}) rows.push_back({T, in, 5, bias = !bias});
  for (const std::int64_t out : {1, 16, 17, 33}) rows.push_back({4, 20, out}), rows.push_back({12, 20, out, false});
  rows.push_back({0, 8, 4});  // no tokens: nothing to do
  rows.push_back({5, 17, 6, true, 3}), rows.push_back({11, 17, 6, true, 3});  // strided rows, both branches
  rows.push_back({5, 9, 6, false, 2, true}), rows.push_back({11, 33, 6, true, 1, true});
  return rows;
}

TEST(OpHarness, Linear) {
  std::uint32_t seed = 1000;
  for (const LinearShape& s : linear_rows())
    for (const WeightType& t : weight_types()) {
      Linear c(s, t, seed++);
      run_case(c);
    }
}

}  // namespace
}  // namespace tinymamba::op_test
