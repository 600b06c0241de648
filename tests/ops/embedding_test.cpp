// embedding: out[t] = table[ids[t]], with repeated ids so that the backward's scatter adds into one row twice.
#include <gtest/gtest.h>

#include <sstream>

#include "op_harness.hpp"
#include "tinymamba/ops/embedding.hpp"
#include "tinymamba/ops/ref/reference_ops.hpp"

namespace tinymamba::op_test {
namespace {

struct EmbeddingShape {
  std::int64_t V, d;
  std::vector<std::int32_t> ids;
};

class Embedding : public OpCase {
 public:
  Embedding(EmbeddingShape s, std::uint32_t seed_) : s_(std::move(s)) {
    seed = seed_;
    Rng rng(seed);
    in = {{"table", rng.uniform(s_.V * s_.d), true, true}};
  }
  std::string op() const override { return "embedding"; }
  std::string shape() const override {
    std::ostringstream o;
    o << "V=" << s_.V << " d=" << s_.d << " ids";
    for (const auto id : s_.ids) o << " " << id;
    return o.str();
  }
  std::vector<std::string> outputs() const override { return {"out"}; }
  bool multilinear() const override { return true; }
  Values reference() const override { return {ref::embedding(in[0].v, s_.ids, s_.d)}; }
  Floats forward(const Variant&) override {
    std::vector<float> out(s_.ids.size() * s_.d);
    const std::vector<float> table = to_float(in[0].v);
    embedding_forward(out.data(), s_.ids.data(), WeightMatrix::f32(table.data(), s_.V, s_.d), T());
    return {out};
  }
  void backward(const Variant&, const Floats& dout, Floats& grads) override {
    embedding_backward(grads[0].data(), dout[0].data(), s_.ids.data(), T(), s_.d);
  }
  Tolerance tolerance(const std::string& t, const Variant&) const override {
    // The forward copies: exact. A row of the table's gradient adds one dy row per use: at most T roundings.
    return {.k = t == "out" ? 0.0 : static_cast<double>(T())};
  }

 private:
  std::int64_t T() const { return static_cast<std::int64_t>(s_.ids.size()); }
  EmbeddingShape s_;
};

TEST(OpHarness, Embedding) {
  std::uint32_t seed = 4000;
  for (EmbeddingShape s : {EmbeddingShape{6, 9, {3, 0, 3, 5}}, EmbeddingShape{5, 16, {4, 4, 4, 1, 0, 2}},
                           EmbeddingShape{3, 33, {2}}, EmbeddingShape{4, 8, {}}}) {
    Embedding c(std::move(s), seed++);
    run_case(c);
  }
}

}  // namespace
}  // namespace tinymamba::op_test
