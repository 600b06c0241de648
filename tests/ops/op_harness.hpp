// The op harness, in the spirit of ggml's test-backend-ops: every op is checked as a table of rows, each row an
// op × shape, run for every weight type the op takes and every variant (backend, algorithm) it has:
//  - forward: the float32 op against its double reference (src/tinymamba/ops/ref);
//  - backward: the op's gradients of Σ out·dout against central finite differences of that reference in double
//    (or the reference's analytic adjoint where it has one, itself checked against finite differences).
// An op is one class deriving from OpCase (its inputs, reference, calls and tolerances), a shape is one entry of
// that op's table, a weight type one entry of weight_types(); run_case does the rest. A failure names the op,
// row, type, backend, variant, seed and tensor, and prints the worst index with got and want.
//
// The tolerance of a tensor is derived, not tuned: with u the unit roundoff of the arithmetic (float32:
// u = 2⁻²⁴, or the weight type's), an output whose terms each pass through at most k roundings is within
// k·u·Σ|terms| of the exact value (Higham's γ_k, to first order — whatever the order of the sums). The bound is
//     max_i |got_i − want_i|  ≤  max(k·u·max_i Σ|terms|_i,  witness·(the first variant's error),  rel·max|want|,
//                                    floor)  +  the finite differences' own rounding
// where Σ|terms| comes from the reference on magnitudes (an op that is linear in each input), the op's own
// formula, or |want| for an output that is a single term. A gradient the op accumulates (+=) is checked on top
// of a nonzero start, which adds one rounding and the start's magnitude; one it writes starts as NaN.
// TINYMAMBA_OP_HARNESS_VERBOSE=1 prints every check's error and bound.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tinymamba/core/dtype.hpp"

namespace tinymamba::op_test {

inline constexpr double kF32 = 0x1p-24;  // float32 unit roundoff (round to nearest)

// ---- the weight-type axis ---------------------------------------------------------------------------------------

// A type an op's weight matrix can be stored in. The harness rounds the weights to what the type holds before the
// reference sees them, so the reference computes with exactly the op's weights and the tolerance is about the
// arithmetic only.
struct WeightType {
  std::string_view name;
  DType dtype;
  double unit;  // u in the bound above for an op reading weights of this type
  std::string_view why;
  // Rounds `values` (rows, cols) in place to the values the type stores and returns them encoded.
  std::vector<std::byte> (*encode)(std::vector<double>& values, std::int64_t rows, std::int64_t cols);
};
[[nodiscard]] std::span<const WeightType> weight_types();
[[nodiscard]] const WeightType& f32_weights();  // the type of ops without a typed weight

// ---- variants and tolerances --------------------------------------------------------------------------------------

struct Variant {
  std::string backend = "cpu";
  std::string name;       // the op's own variants (a scan algorithm, "step", "rows"), empty for the one way
  int id = 0;             // for the op's switch
  bool backward = true;   // it has a backward to check
};

struct Tolerance {
  double k = 0;        // roundings per term: k·u·max Σ|terms|
  double witness = 0;  // or this many times the first variant's error on the same tensor and case
  double rel = 0;      // or this fraction of max|want|
  double floor = 0;    // or this much, absolute
};

// ---- an op ----------------------------------------------------------------------------------------------------------

struct Tensor {
  std::string name;
  std::vector<double> v;        // exactly the values the op is given (floats, or the weight type's values)
  bool differentiable = true;   // the backward computes its gradient
  bool accumulates = false;     // ... and adds it (+=) rather than writing it
};

using Values = std::vector<std::vector<double>>;   // one vector per output, or per differentiable input
using Floats = std::vector<std::vector<float>>;

struct ReferenceGradients {
  Values want, terms;  // per differentiable input, in the order of `in`
};

class OpCase {
 public:
  virtual ~OpCase() = default;
  [[nodiscard]] virtual std::string op() const = 0;
  [[nodiscard]] virtual std::string shape() const = 0;  // the row, as printed on a failure
  [[nodiscard]] virtual std::vector<Variant> variants() const { return {Variant{}}; }
  [[nodiscard]] virtual std::vector<std::string> outputs() const = 0;
  // The outputs a gradient flows back from: the first this many (a carried state after them gets none).
  [[nodiscard]] virtual std::size_t backward_outputs() const { return outputs().size(); }
  // The reference in double over the current `in` (finite differences perturb `in` and call it again).
  [[nodiscard]] virtual Values reference() const = 0;
  // True when every output is linear in each input separately (a product of inputs, summed): then the
  // reference over |in| is Σ|terms| of each output, and of each gradient, and the harness derives them.
  [[nodiscard]] virtual bool multilinear() const { return false; }
  // Σ|terms| per output element, for an op that is not multilinear; an empty vector: |want|.
  [[nodiscard]] virtual Values terms() const { return {}; }
  // Σ|terms| per gradient element, for an op that is not multilinear; an empty vector: |want|.
  [[nodiscard]] virtual Values gradient_terms(const Values& /*dout*/) const { return {}; }
  // The reference's analytic adjoint, where it has one (finite differences otherwise).
  [[nodiscard]] virtual std::optional<ReferenceGradients> analytic_gradients(const Values& /*dout*/) const {
    return std::nullopt;
  }
  // The op under test: one float vector per output, contiguous, in the order of outputs().
  [[nodiscard]] virtual Floats forward(const Variant& v) = 0;
  // Gradients of Σ out·dout, one buffer per differentiable input in the order of `in`. The harness prefills
  // each (a start value where the gradient accumulates, NaN where it is written).
  virtual void backward(const Variant& v, const Floats& dout, Floats& grads) = 0;
  // For output `tensor` or the gradient "d" + input name.
  [[nodiscard]] virtual Tolerance tolerance(const std::string& tensor, const Variant& v) const = 0;

  std::vector<Tensor> in;
  std::uint32_t seed = 0;
  const WeightType* type = &f32_weights();
};

// Checks one case: every variant's forward, and its backward where it has one. Seeds the gradients from seed.
void run_case(OpCase& c);

// ---- inputs -------------------------------------------------------------------------------------------------------

// Values drawn in float32 (so the op and the reference see the same numbers) from a seeded generator.
class Rng {
 public:
  explicit Rng(std::uint32_t seed) : gen_(seed) {}
  [[nodiscard]] std::vector<double> uniform(std::int64_t n, double lo = -1, double hi = 1);
  [[nodiscard]] std::vector<double> normal(std::int64_t n);

 private:
  std::mt19937 gen_;
};

[[nodiscard]] std::vector<float> to_float(const std::vector<double>& v);
// Contiguous (rows, width) values into rows `ld` apart from column `off`; the gaps hold `fill`.
void to_rows(std::vector<float>& dst, const std::vector<double>& src, std::int64_t width, std::int64_t ld,
             std::int64_t off = 0, float fill = 1e30f);
// The inverse: (rows, width) out of rows `ld` apart from column `off`.
[[nodiscard]] std::vector<float> from_rows(const std::vector<float>& src, std::int64_t rows, std::int64_t width,
                                           std::int64_t ld, std::int64_t off = 0);

}  // namespace tinymamba::op_test
