// Where the tests find their data: the golden directory is $TINYMAMBA_GOLDEN_DIR if set, else ../shared/golden
// beside the source tree; the tokenizer a golden case names lives in ../tokenizer/ beside the golden directory.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

namespace tinymamba::test {

// The whole file as bytes ("" when it cannot be read).
inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::filesystem::path source_dir() { return TINYMAMBA_SOURCE_DIR; }

inline std::filesystem::path shared_dir() { return source_dir().parent_path() / "shared"; }

inline std::filesystem::path golden_dir() {
  if (const char* env = std::getenv("TINYMAMBA_GOLDEN_DIR"); env && *env) return env;
  return shared_dir() / "golden";
}

inline std::filesystem::path tokenizer_dir_for_goldens() { return golden_dir().parent_path() / "tokenizer"; }

// The built `tinymamba` program, for tests that run the CLI as a user would.
inline std::string cli_path() { return TINYMAMBA_CLI; }

// A fresh, empty directory under the system temp dir for one test.
inline std::filesystem::path temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("tinymamba-test-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace tinymamba::test
