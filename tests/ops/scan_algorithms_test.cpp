// The scan algorithms' names and defaults. Their numerics (each against the double oracle, and the properties
// the layouts and threads must keep) are the op harness's rows in tests/ops/selective_scan_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "tinymamba/core/error.hpp"
#include "tinymamba/ops/selective_scan.hpp"

namespace tinymamba {
namespace {

// The first algorithm is the reference the others are measured against (the harness's witness is the first
// variant's error).
TEST(ScanAlgorithms, SequentialComesFirst) { EXPECT_EQ(all_scan_algorithms().front(), ScanAlgorithm::sequential); }

TEST(ScanAlgorithms, NamesRoundTripAndUnknownNamesListTheChoices) {
  for (const ScanAlgorithm a : all_scan_algorithms()) EXPECT_EQ(parse_scan_algorithm(scan_algorithm_name(a)), a);
  try {
    (void)parse_scan_algorithm("fast");
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'fast'"), std::string::npos) << msg;
    for (const ScanAlgorithm a : all_scan_algorithms())
      EXPECT_NE(msg.find(std::string(scan_algorithm_name(a))), std::string::npos) << msg;
  }
}

TEST(ScanAlgorithms, DefaultIsOneOfThem) {
  const auto all = all_scan_algorithms();
  EXPECT_NE(std::find(all.begin(), all.end(), kDefaultScan), all.end());
}

}  // namespace
}  // namespace tinymamba
