// `tinymamba tokenize -t TOKENIZER.json [--decode]`
//   encode: reads UTF-8 text on stdin (every byte of it, a final newline included) and prints its token ids,
//           separated by spaces, on one line. Invalid UTF-8 is an error naming the byte offset.
//   decode: reads ids on stdin (whitespace- or comma-separated) and prints the text, adding nothing (so
//           `tokenize | tokenize --decode` gives back the NFC form of the input, byte for byte).
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "command.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/core/parse_ids.hpp"
#include "tinymamba/tokenizer/tokenizer.hpp"

namespace tinymamba::cli {
namespace {

struct TokenizeOptions {
  std::string tokenizer;
  bool decode = false;
};

std::string read_stdin() {
  std::string data;
  char buffer[1 << 16];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, stdin)) > 0) data.append(buffer, n);
  TM_CHECK(!std::ferror(stdin), "stdin: read failed: ", std::strerror(errno));
  return data;
}

void write_stdout(std::string_view data) {
  TM_CHECK(std::fwrite(data.data(), 1, data.size(), stdout) == data.size() && std::fflush(stdout) == 0,
           "stdout: write failed: ", std::strerror(errno));
}

std::string ids_line(const std::vector<std::int32_t>& ids) {
  std::string line;
  line.reserve(ids.size() * 6 + 1);
  char number[16];
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) line += ' ';
    const auto [end, ec] = std::to_chars(number, number + sizeof number, ids[i]);
    line.append(number, end);
  }
  line += '\n';
  return line;
}

void run_tokenize(const TokenizeOptions& opts) {
  const Tokenizer tokenizer = Tokenizer::load(opts.tokenizer);
  const std::string input = read_stdin();
  if (!opts.decode) {
    write_stdout(ids_line(tokenizer.encode(input)));
    return;
  }
  std::vector<std::int32_t> ids;
  for (const std::int64_t id : parse_ids(input, "stdin")) {
    TM_CHECK(id < tokenizer.vocab_size(), "stdin: token id ", id, " is out of range [0, ", tokenizer.vocab_size(),
             ") of ", opts.tokenizer);
    ids.push_back(static_cast<std::int32_t>(id));
  }
  write_stdout(tokenizer.decode(ids));
}

const Registration registration(60, [](CLI::App& app) {
  auto* sub = app.add_subcommand("tokenize",
                                 "Print the token ids of the UTF-8 text on stdin (all of it, a final newline "
                                 "included), space-separated on one line; with --decode, read ids and print text");
  auto opts = std::make_shared<TokenizeOptions>();
  sub->add_option("-t,--tokenizer", opts->tokenizer, "Hugging Face tokenizer.json (e.g. gpt-neox-20b.json)")
      ->required();
  sub->add_flag("--decode", opts->decode,
                "Read token ids (separated by whitespace or commas) and print their text, with nothing added");
  sub->callback([opts] { run_tokenize(*opts); });
});

}  // namespace
}  // namespace tinymamba::cli
