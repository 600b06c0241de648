// tinymamba — run and train Mamba language models. See `tinymamba --help`.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <new>

#include "command.hpp"
#include "tinymamba/core/error.hpp"

namespace tinymamba::cli {

std::vector<std::pair<int, Setup>>& registry() {
  static std::vector<std::pair<int, Setup>> r;
  return r;
}

Registration::Registration(int order, Setup setup) { registry().emplace_back(order, std::move(setup)); }

}  // namespace tinymamba::cli

int main(int argc, char** argv) {
  using namespace tinymamba;
  CLI::App app{"tinymamba: a C++ Mamba (selective state-space) language model that runs and trains.\n"
               "Run `tinymamba <command> --help` for a command's options."};
  app.set_version_flag("--version", "tinymamba 0.1.0");
  app.require_subcommand(1);
  auto& reg = cli::registry();
  std::stable_sort(reg.begin(), reg.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [order, setup] : reg) setup(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const Error& e) {
    const auto subs = app.get_subcommands();
    std::fprintf(stderr, "tinymamba%s%s: error: %s\n", subs.empty() ? "" : " ",
                 subs.empty() ? "" : subs.front()->get_name().c_str(), e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "tinymamba: error: out of memory\n");
    return 1;
  }
  return 0;
}
