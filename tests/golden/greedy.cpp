// What several kinds of golden case share: their token ids, and the greedy continuation check.
#include <gtest/gtest.h>

#include <algorithm>

#include "golden.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/model/lm.hpp"
#include "tinymamba/model/lm_step.hpp"

namespace tinymamba::golden {
namespace {

// Greedy continuation: prefill the prompt (parallel, with a state), then one step per token.
std::vector<std::int64_t> greedy(const Model& m, const std::vector<std::int32_t>& prompt, std::int64_t B, std::int64_t P,
                                 std::int64_t G) {
  const std::int64_t V = m.config.padded_vocab();
  InferenceState state(m.config, B);
  Activations acts;
  StepActivations step;
  lm_forward(m, prompt, B, P, acts, {.last_logits_only = true}, &state);
  const float* logits = acts.logits.data();  // then each step's
  std::vector<std::int64_t> out(static_cast<std::size_t>(B * G));
  std::vector<std::int32_t> next(static_cast<std::size_t>(B));
  for (std::int64_t g = 0; g < G; ++g) {
    for (std::int64_t b = 0; b < B; ++b) {
      const float* row = logits + b * V;
      next[b] = static_cast<std::int32_t>(std::max_element(row, row + V) - row);  // first maximum: lowest id
      out[b * G + g] = next[b];
    }
    if (g + 1 < G) {
      lm_step(m, next, state, step);
      logits = step.logits.data();
    }
  }
  return out;
}

}  // namespace

std::vector<std::int32_t> ids_of(const Case& c, const std::string& name, std::int64_t& batch, std::int64_t& len) {
  const auto& shape = c.file.tensors.at(name).shape;
  TM_CHECK(shape.size() == 2, c.relative, ": ", name, " must be (B, L)");
  batch = shape[0];
  len = shape[1];
  const auto v = i64(c, name);
  return {v.begin(), v.end()};
}

void check_greedy_ids(const Case& c, const Model& m, CaseReport& report) {
  if (!has(c, "greedy_ids") || !has(c, "prompt_ids")) return;
  std::int64_t PB = 0, P = 0;
  const auto prompt = ids_of(c, "prompt_ids", PB, P);
  const auto want = i64(c, "greedy_ids");
  const std::int64_t GB = c.file.tensors.at("greedy_ids").shape.at(0), G = c.file.tensors.at("greedy_ids").shape.at(1);
  ASSERT_EQ(PB, GB) << c.relative << ": prompt_ids and greedy_ids batch sizes differ";
  const auto got = greedy(m, prompt, PB, P, G);
  std::int64_t mismatches = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i] && mismatches++ == 0)
      ADD_FAILURE() << c.relative << ": greedy_ids[" << i / G << ", " << i % G << "] = " << got[i] << ", want "
                    << want[i];
  report.notes.push_back("greedy_ids: " + std::to_string(static_cast<std::int64_t>(got.size()) - mismatches) + "/" +
                         std::to_string(got.size()) + " tokens equal");
  if (mismatches) report.status = "fail";
}

}  // namespace tinymamba::golden
