// The subcommand registry. Each cmd_<name>.cpp defines a static Registration that adds its subcommand to the
// app: its options, its help, and a callback that does the work. main.cpp catches tinymamba::Error and prints
// it as one line "tinymamba <cmd>: error: ..." with exit status 1.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace tinymamba::cli {

using Setup = std::function<void(CLI::App& app)>;

struct Registration {
  Registration(int order, Setup setup);  // lower `order` is listed first in --help
};

std::vector<std::pair<int, Setup>>& registry();

}  // namespace tinymamba::cli
