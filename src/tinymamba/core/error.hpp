// Errors in two tiers (STYLE.md habit 9):
//  - tinymamba::Error: anything that comes from outside (files, flags, shapes). Always checked; the message is
//    one line naming the file or flag and the problem. The CLI prints it and exits non-zero.
//  - TM_ASSERT: internal invariants in hot loops; compiled out in release builds.
#pragma once

#include <cassert>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace tinymamba {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Concatenates its arguments with operator<< (GCC 12 has no std::format).
template <class... Args>
std::string cat(Args&&... args) {
  std::ostringstream s;
  (s << ... << std::forward<Args>(args));
  return s.str();
}

template <class... Args>
[[noreturn]] void fail(Args&&... args) {
  throw Error(cat(std::forward<Args>(args)...));
}

}  // namespace tinymamba

// Always-on check for input from outside: throws tinymamba::Error with the concatenated message.
#define TM_CHECK(cond, ...)                        \
  do {                                             \
    if (!(cond)) ::tinymamba::fail(__VA_ARGS__);   \
  } while (0)

#define TM_ASSERT(cond) assert(cond)
