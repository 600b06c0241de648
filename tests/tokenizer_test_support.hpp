// Shared by the tokenizer tests: where the GPT-NeoX tokenizer and the test data are, reading JSON test data,
// and running the `tinymamba` program as a user would (stdin in, stdout/stderr/exit status out).
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "test_paths.hpp"
#include "tinymamba/tokenizer/tokenizer.hpp"

namespace tinymamba::test {

// Tokenizers live in ../tokenizer/ beside the golden directory (which follows TINYMAMBA_GOLDEN_DIR).
inline std::filesystem::path neox_tokenizer_path() { return tokenizer_dir_for_goldens() / "gpt-neox-20b.json"; }

// Loaded once for all tests (loading parses a 2.4 MB JSON file).
inline const Tokenizer& neox_tokenizer() {
  static const Tokenizer tokenizer = Tokenizer::load(neox_tokenizer_path().string());
  return tokenizer;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

inline nlohmann::json read_json(const std::filesystem::path& path) { return nlohmann::json::parse(read_file(path)); }

inline std::filesystem::path tokenizer_test_data_dir() { return source_dir() / "tests" / "data" / "tokenizer"; }

struct CliRun {
  int status;  // exit status, or -1 if the program did not exit normally
  std::string out;
  std::string err;
};

// Runs `tinymamba ARGS...` with `stdin_bytes` on its stdin; `scratch` is a directory for the redirections.
inline CliRun run_cli(const std::vector<std::string>& args, std::string_view stdin_bytes,
                      const std::filesystem::path& scratch) {
  const auto quote = [](const std::string& s) {
    std::string q = "'";
    for (const char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
  };
  write_file(scratch / "stdin", stdin_bytes);
  std::string command = quote(cli_path());
  for (const auto& a : args) command += " " + quote(a);
  command += " < " + quote((scratch / "stdin").string()) + " > " + quote((scratch / "stdout").string()) + " 2> " +
             quote((scratch / "stderr").string());
  const int raw = std::system(command.c_str());
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, read_file(scratch / "stdout"), read_file(scratch / "stderr")};
}

// "1 2 3" for messages and for feeding `tokenize --decode`.
template <class Ids>
std::string join_ids(const Ids& ids) {
  std::string s;
  for (const auto id : ids) s += (s.empty() ? "" : " ") + std::to_string(id);
  return s;
}

}  // namespace tinymamba::test
