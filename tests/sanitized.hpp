// Whether this test binary (and so the tinymamba it runs) is built with ASan or TSan: their shadow memory and
// slowdown change what a test may expect of memory and time.
#pragma once

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TM_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TM_TEST_SANITIZED 1
#endif
#endif
#ifndef TM_TEST_SANITIZED
#define TM_TEST_SANITIZED 0
#endif

namespace tinymamba::test {

inline constexpr bool kSanitized = TM_TEST_SANITIZED != 0;

}  // namespace tinymamba::test
