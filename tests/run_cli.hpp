// Runs the tinymamba program as a user would (a subprocess through /bin/sh) and captures its exit status,
// stdout and stderr.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "test_paths.hpp"

namespace tinymamba::test {

struct CliResult {
  int status = -1;  // exit code; 128 + signal when killed by a signal
  std::string out, err;
};

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// `args` is appended to the program path as is (quote what needs quoting); `stdin_text`, when given, is fed on
// standard input.
inline CliResult run_cli(const std::string& args, const std::string* stdin_text = nullptr) {
  static int counter = 0;
  const auto dir = std::filesystem::temp_directory_path() / ("tinymamba-cli-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto base = dir / std::to_string(counter++);
  std::string cmd = shell_quote(cli_path()) + " " + args;
  if (stdin_text) {
    std::ofstream(base.string() + ".in", std::ios::binary) << *stdin_text;
    cmd += " < " + shell_quote(base.string() + ".in");
  } else {
    cmd += " < /dev/null";
  }
  cmd += " > " + shell_quote(base.string() + ".out") + " 2> " + shell_quote(base.string() + ".err");
  const int raw = std::system(cmd.c_str());
  CliResult r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  r.out = slurp(base.string() + ".out");
  r.err = slurp(base.string() + ".err");
  return r;
}

}  // namespace tinymamba::test
