#include "op_harness.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <iomanip>
#include <map>
#include <sstream>

#include "fd.hpp"

namespace tinymamba::op_test {
namespace {

std::vector<std::byte> encode_f32(std::vector<double>& values, std::int64_t, std::int64_t) {
  std::vector<std::byte> bytes(values.size() * sizeof(float));
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float f = static_cast<float>(values[i]);
    values[i] = f;
    std::memcpy(bytes.data() + i * sizeof(float), &f, sizeof(float));
  }
  return bytes;
}

// One entry per type; a new type is one more entry (and its case in the op's adapter).
const WeightType kWeightTypes[] = {
    {.name = "f32",
     .dtype = DType::F32,
     .unit = kF32,
     .why = "weights and arithmetic in float32: the bound is float32's rounding of the op's own sums",
     .encode = encode_f32},
};

// Finite differences (tests/fd.hpp): the five-point stencil with h = 1e-4 combines four evaluations of the loss
// with weights of total 18/(12h). Each evaluation of Σ out·dout over n terms is within (n + 4)·2⁻⁵³·F of exact
// (F = Σ|out·dout|; the + 4 covers the reference's own few roundings per output), so the quotient's rounding is
// at most 1.5/h·(n + 4)·2⁻⁵³·F — far below float32's errors, but not zero where a gradient is tiny.
constexpr double kStep = 1e-4;

struct Err {
  double max_err = 0;
  std::size_t worst = 0;
};

Err compare(const std::vector<float>& got, const std::vector<double>& want) {
  Err e;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double d = std::fabs(static_cast<double>(got[i]) - want[i]);
    if (std::isnan(d)) return {std::numeric_limits<double>::infinity(), i};
    if (d > e.max_err) e = {d, i};
  }
  return e;
}

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// The reference over |in| (and the caller's |dout|): Σ|terms| of a multilinear op's outputs.
template <class F>
auto on_magnitudes(OpCase& c, F&& f) {
  std::vector<std::vector<double>> keep;
  for (Tensor& t : c.in) {
    keep.push_back(t.v);
    for (double& x : t.v) x = std::fabs(x);
  }
  auto r = f();
  for (std::size_t k = 0; k < c.in.size(); ++k) c.in[k].v = std::move(keep[k]);
  return r;
}

double loss(const OpCase& c, const Values& dout) {
  const Values out = c.reference();
  double s = 0;
  for (std::size_t j = 0; j < out.size(); ++j)
    for (std::size_t i = 0; i < out[j].size(); ++i) s += out[j][i] * dout[j][i];
  return s;
}

// Gradients of Σ out·dout by finite differences of the reference, one per differentiable input.
Values finite_difference_gradients(OpCase& c, const Values& dout) {
  Values g;
  for (Tensor& t : c.in)
    if (t.differentiable) g.push_back(test::finite_differences(t.v, [&] { return loss(c, dout); }, kStep));
  return g;
}

struct Expected {
  std::vector<double> want, terms;
  double fd_noise = 0;
  std::vector<float> start;  // where the gradient accumulates: the buffer's value before the backward
};

class CaseChecker {
 public:
  explicit CaseChecker(OpCase& c) : c_(c) {}

  void run() {
    const Values want = c_.reference();
    Values terms = c_.multilinear() ? on_magnitudes(c_, [&] { return c_.reference(); }) : c_.terms();
    const std::vector<std::string> names = c_.outputs();
    ASSERT_EQ(want.size(), names.size()) << where(Variant{}) << ": the reference's outputs";
    std::vector<Expected> out(want.size());
    for (std::size_t j = 0; j < want.size(); ++j) {
      out[j].want = want[j];
      out[j].terms = j < terms.size() && !terms[j].empty() ? terms[j] : abs_of(want[j]);
    }
    const std::vector<Variant> variants = c_.variants();
    const bool any_backward =
        std::any_of(variants.begin(), variants.end(), [](const Variant& v) { return v.backward; });
    Values dout;
    Floats dout_f;
    std::vector<Expected> grads;
    if (any_backward) expected_gradients(want, dout, dout_f, grads);

    for (const Variant& v : variants) {
      const Floats got = c_.forward(v);
      ASSERT_EQ(got.size(), out.size()) << where(v);
      for (std::size_t j = 0; j < out.size(); ++j) check(v, names[j], got[j], out[j]);
      if (!v.backward) continue;
      Floats g;
      for (std::size_t k = 0, d = 0; k < c_.in.size(); ++k)
        if (c_.in[k].differentiable) g.push_back(prefill(k, grads[d++]));
      c_.backward(v, dout_f, g);
      for (std::size_t k = 0, d = 0; k < c_.in.size(); ++k)
        if (c_.in[k].differentiable) {
          check(v, "d" + c_.in[k].name, g[d], grads[d]);
          ++d;
        }
    }
  }

 private:
  static std::vector<double> abs_of(const std::vector<double>& v) {
    std::vector<double> a(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) a[i] = std::fabs(v[i]);
    return a;
  }

  std::string where(const Variant& v) const {
    std::ostringstream s;
    s << c_.op() << " [" << c_.shape() << "] " << c_.type->name << " " << v.backend
      << (v.name.empty() ? "" : "/" + v.name) << " seed " << c_.seed;
    return s.str();
  }

  // Upstream gradients in float32 (the op reads them as floats), the reference gradients and their terms.
  void expected_gradients(const Values& want, Values& dout, Floats& dout_f, std::vector<Expected>& grads) {
    Rng rng(c_.seed ^ 0x5eedu);
    double F = 0;
    std::size_t n = 0;
    for (std::size_t j = 0; j < want.size(); ++j) {
      const auto& w = want[j];
      dout.push_back(j < c_.backward_outputs() ? rng.uniform(static_cast<std::int64_t>(w.size()))
                                               : std::vector<double>(w.size(), 0.0));
      dout_f.push_back(to_float(dout.back()));
      for (std::size_t i = 0; i < w.size(); ++i) F += std::fabs(w[i] * dout.back()[i]);
      n += w.size();
    }
    Values g, terms;
    double fd_noise = 0;
    if (auto a = c_.analytic_gradients(dout)) {
      g = std::move(a->want), terms = std::move(a->terms);
    } else {
      g = finite_difference_gradients(c_, dout);
      fd_noise = 1.5 / kStep * static_cast<double>(n + 4) * 0x1p-53 * F;
      if (c_.multilinear()) {
        Values abs_dout;
        for (const auto& d : dout) abs_dout.push_back(abs_of(d));
        terms = on_magnitudes(c_, [&] { return finite_difference_gradients(c_, abs_dout); });
      } else {
        terms = c_.gradient_terms(dout);
      }
    }
    for (std::size_t d = 0; d < g.size(); ++d) {
      Expected e{g[d], d < terms.size() && !terms[d].empty() ? terms[d] : abs_of(g[d]), fd_noise, {}};
      grads.push_back(std::move(e));
    }
    // A gradient that accumulates starts from a nonzero value: it must be added to.
    for (std::size_t k = 0, d = 0; k < c_.in.size(); ++k) {
      if (!c_.in[k].differentiable) continue;
      if (c_.in[k].accumulates) {
        Expected& e = grads[d];
        e.start = to_float(rng.uniform(static_cast<std::int64_t>(e.want.size())));
        for (std::size_t i = 0; i < e.want.size(); ++i) {
          e.want[i] += e.start[i];
          e.terms[i] += std::fabs(e.start[i]);
        }
      }
      ++d;
    }
  }

  std::vector<float> prefill(std::size_t k, const Expected& e) const {
    return c_.in[k].accumulates ? e.start : std::vector<float>(e.want.size(), std::numeric_limits<float>::quiet_NaN());
  }

  void check(const Variant& v, const std::string& tensor, const std::vector<float>& got, const Expected& e) {
    ASSERT_EQ(got.size(), e.want.size()) << where(v) << ": " << tensor << " has the wrong size";
    Tolerance t = c_.tolerance(tensor, v);
    if (!e.start.empty()) t.k += 1;  // the add onto the start
    const Err err = compare(got, e.want);
    const bool first = !witness_.contains(tensor);
    if (first) witness_[tensor] = err.max_err;
    const double max_terms = max_abs(e.terms), max_want = max_abs(e.want);
    const double bound = std::max({t.k * c_.type->unit * max_terms, first ? 0.0 : t.witness * witness_[tensor],
                                   t.rel * max_want, t.floor}) + e.fd_noise;
    if (verbose_)
      std::printf("%s: %s: error %.3g, bound %.3g (%.2g of it)\n", where(v).c_str(), tensor.c_str(), err.max_err,
                  bound, bound > 0 ? err.max_err / bound : 0.0);
    if (err.max_err <= bound) return;
    std::ostringstream m;
    m << std::setprecision(3) << where(v) << ": " << tensor << ": max|got − want| " << err.max_err << " > bound "
      << bound << " (k " << t.k << " · u " << c_.type->unit << " · max Σ|terms| " << max_terms << "; witness "
      << t.witness << " × " << witness_[tensor] << "; rel " << t.rel << " × max|want| " << max_want << "; floor "
      << t.floor << "; finite differences " << e.fd_noise << "; u: " << c_.type->why << "); worst index "
      << err.worst << std::setprecision(9) << ": got " << got[err.worst] << ", want " << e.want[err.worst];
    ADD_FAILURE() << m.str();
  }

  OpCase& c_;
  const bool verbose_ = std::getenv("TINYMAMBA_OP_HARNESS_VERBOSE") != nullptr;  // print every check's figures
  std::map<std::string, double> witness_;  // the first variant's error per tensor
};

}  // namespace

std::span<const WeightType> weight_types() { return kWeightTypes; }
const WeightType& f32_weights() { return kWeightTypes[0]; }

void run_case(OpCase& c) { CaseChecker(c).run(); }

std::vector<double> Rng::uniform(std::int64_t n, double lo, double hi) {
  std::uniform_real_distribution<float> d(static_cast<float>(lo), static_cast<float>(hi));
  std::vector<double> v(static_cast<std::size_t>(n));
  for (double& x : v) x = d(gen_);
  return v;
}

std::vector<double> Rng::normal(std::int64_t n) {
  std::normal_distribution<float> d;
  std::vector<double> v(static_cast<std::size_t>(n));
  for (double& x : v) x = d(gen_);
  return v;
}

std::vector<float> to_float(const std::vector<double>& v) { return {v.begin(), v.end()}; }

void to_rows(std::vector<float>& dst, const std::vector<double>& src, std::int64_t width, std::int64_t ld,
             std::int64_t off, float fill) {
  const auto rows = width ? static_cast<std::int64_t>(src.size()) / width : 0;
  if (dst.empty()) dst.assign(static_cast<std::size_t>(rows * ld), fill);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < width; ++c) dst[r * ld + off + c] = static_cast<float>(src[r * width + c]);
}

std::vector<float> from_rows(const std::vector<float>& src, std::int64_t rows, std::int64_t width, std::int64_t ld,
                             std::int64_t off) {
  std::vector<float> r(static_cast<std::size_t>(rows * width));
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t c = 0; c < width; ++c) r[i * width + c] = src[i * ld + off + c];
  return r;
}

}  // namespace tinymamba::op_test
