// tinymamba — run and train Mamba language models. See `tinymamba --help`.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include "command.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/train/communicator.hpp"

namespace tinymamba::cli {

std::vector<std::pair<int, Setup>>& registry() {
  static std::vector<std::pair<int, Setup>> r;
  return r;
}

Registration::Registration(int order, Setup setup) { registry().emplace_back(order, std::move(setup)); }

}  // namespace tinymamba::cli

namespace {

// "tinymamba <cmd>: error: <message>" on one line, whatever the message holds (a name read from a file can hold a
// newline or a control character; the loaders escape those, and this is the last line of defence).
void print_error(const CLI::App& app, const std::string& message) {
  std::string line;
  for (const char c : message) line += (c == '\n' || c == '\r') ? ' ' : c;
  const auto subs = app.get_subcommands();
  std::fprintf(stderr, "tinymamba%s%s: error: %s\n", subs.empty() ? "" : " ",
               subs.empty() ? "" : subs.front()->get_name().c_str(), line.c_str());
}

}  // namespace

// Every failure ends as one line on stderr and exit status 1: tinymamba::Error (bad input), a command-line
// error, out of memory, and — should one escape the library — any other exception. Help and --version exit 0.
int main(int argc, char** argv) {
  using namespace tinymamba;
  CLI::App app{"tinymamba: a C++ Mamba (selective state-space) language model that runs and trains.\n"
               "Run `tinymamba <command> --help` for a command's options."};
  app.set_version_flag("--version", "tinymamba 0.1.0");
  app.require_subcommand(1);
  auto& reg = cli::registry();
  std::stable_sort(reg.begin(), reg.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [order, setup] : reg) setup(app);
  if (argc > 1 && argv[1][0] != '-') {  // name an unknown command (CLI11 would only say that one is required)
    const CLI::App& commands = app;
    std::string names;
    bool known = false;
    for (const CLI::App* sub : commands.get_subcommands([](const CLI::App*) { return true; })) {
      names += (names.empty() ? "" : ", ") + sub->get_name();
      known = known || sub->check_name(argv[1]);
    }
    if (!known) {
      print_error(app, "unknown command '" + std::string(argv[1]) + "' (commands: " + names + ")");
      return 1;
    }
  }
  // Under mpirun, a process that fails ends the whole job (the others may be waiting for it in a collective).
  auto failed = [&](const std::string& message) {
    print_error(app, message);
    std::fflush(stderr);
    train::end_job_after_error();
    return 1;
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    return failed(e.what());
  } catch (const Error& e) {
    return failed(e.what());
  } catch (const std::bad_alloc&) {
    return failed("out of memory");
  } catch (const std::exception& e) {
    return failed(e.what());
  }
  return 0;
}
