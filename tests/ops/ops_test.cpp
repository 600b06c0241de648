// The ops' behaviour on bad input. Their numerics (every op against its double reference, every backward against
// finite differences) are the op harness's rows in tests/ops/.
#include <gtest/gtest.h>

#include <vector>

#include "tinymamba/core/error.hpp"
#include "tinymamba/ops/cross_entropy.hpp"

namespace tinymamba {
namespace {

TEST(Ops, CrossEntropyRejectsTargetsOutsideTheVocabulary) {
  const std::vector<float> logits(8, 0.0f);
  const std::vector<std::int32_t> targets = {1, 4};
  EXPECT_THROW((void)cross_entropy_forward(logits.data(), targets.data(), 2, 4), Error);
}

}  // namespace
}  // namespace tinymamba
