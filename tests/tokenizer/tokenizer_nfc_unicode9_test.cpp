#include "tinymamba/tokenizer/nfc_unicode9.hpp"

#include <gtest/gtest.h>

namespace tinymamba {
namespace {

// Expected values from the Unicode 15.0 character database (DerivedAge.txt: the version that first assigned the
// character; UnicodeData.txt: its combining class and decomposition), not from the generated table.
TEST(TokenizerNfcUnicode9, NamesTheCharactersThatNormalizeOnlySince10) {
  EXPECT_TRUE(normalizes_after_unicode9(0x1DF6));   // 10.0, class 232 (the first of U+1DF6..1DF9)
  EXPECT_TRUE(normalizes_after_unicode9(0x1DFA));   // 14.0, class 218
  EXPECT_TRUE(normalizes_after_unicode9(0x07FD));   // 11.0, class 220
  EXPECT_TRUE(normalizes_after_unicode9(0x089F));   // 14.0, class 230 (the last of U+0898..089F)
  EXPECT_TRUE(normalizes_after_unicode9(0x11943));  // 13.0, class 7
  EXPECT_TRUE(normalizes_after_unicode9(0x11938));  // 13.0, decomposes into U+11935 U+11930 ...
  EXPECT_TRUE(normalizes_after_unicode9(0x11935));  // ... which are class 0 but parts of it
  EXPECT_TRUE(normalizes_after_unicode9(0x11930));
  EXPECT_TRUE(normalizes_after_unicode9(0x1E4EF));  // 15.0, class 230

  EXPECT_FALSE(normalizes_after_unicode9(0x1DF5));   // 7.0, class 230
  EXPECT_FALSE(normalizes_after_unicode9(0x1DFB));   // 9.0, class 230
  EXPECT_FALSE(normalizes_after_unicode9(0x1E94A));  // 9.0, class 7
  EXPECT_FALSE(normalizes_after_unicode9(0x0301));   // 1.1
  EXPECT_FALSE(normalizes_after_unicode9(U'a'));
  EXPECT_FALSE(normalizes_after_unicode9(0x1F97A));  // 11.0, but class 0 and no decomposition
  EXPECT_FALSE(normalizes_after_unicode9(0x10FFFF));
}

}  // namespace
}  // namespace tinymamba
