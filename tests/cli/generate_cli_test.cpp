// `tinymamba generate` is a thin caller of the generate library: its ids are the engine's for the same prompts,
// seeds (seed + row) and stop rule, and --eos / --ignore-eos resolve the stop rule's EOS.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "generate_test_support.hpp"
#include "run_cli.hpp"

namespace tinymamba {
namespace {

using test::bundled_model;
using test::bundled_tokenizer;
using test::run_cli;
using test::shell_quote;

// The ids of each line of `generate --print-ids` output.
std::vector<std::vector<std::int32_t>> id_lines(const std::string& out) {
  std::vector<std::vector<std::int32_t>> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    lines.emplace_back();
    for (std::int32_t id; words >> id;) lines.back().push_back(id);
  }
  return lines;
}

// The engine's ids for `prompts`, row b seeded with seed + b, as the CLI documents.
std::vector<std::vector<std::int32_t>> engine_ids(const std::vector<std::string>& prompts, SamplingParams params,
                                                  const StopRule& stop) {
  Engine engine(bundled_model(), {.slots = static_cast<std::int64_t>(prompts.size())});
  std::vector<Sequence> seqs;
  for (std::size_t b = 0; b < prompts.size(); ++b) {
    SamplingParams p = params;
    p.seed += b;
    seqs.emplace_back(bundled_tokenizer().encode(prompts[b]), p, stop, bundled_tokenizer().vocab_size());
  }
  std::vector<Sequence*> all;
  for (Sequence& s : seqs) {
    EXPECT_TRUE(engine.prefill(s));
    all.push_back(&s);
  }
  test::run_to_end(engine, all);
  std::vector<std::vector<std::int32_t>> ids;
  for (const Sequence& s : seqs) ids.emplace_back(s.generated().begin(), s.generated().end());
  return ids;
}

TEST(GenerateCli, PromptsFileIdsAreTheEnginesForTheSameSeeds) {
  const std::vector<std::string> prompts = {"ROMEO:", "JULIET:", "First Citizen:"};
  const auto file = std::filesystem::temp_directory_path() / ("tinymamba-gen-" + std::to_string(::getpid()) + ".txt");
  std::ofstream(file) << prompts[0] << "\n" << prompts[1] << "\n\n" << prompts[2] << "\n";
  const auto r = run_cli("generate --prompts-file " + shell_quote(file.string()) + " --seed 7 -n 40 --print-ids");
  std::filesystem::remove(file);
  ASSERT_EQ(r.status, 0) << r.err;
  // The CLI's defaults: temperature 0.8, top-k 40, top-p 0.95; the bundled tokenizer has no EOS.
  const SamplingParams cli_defaults{.temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .seed = 7};
  EXPECT_EQ(id_lines(r.out), engine_ids(prompts, cli_defaults, {.max_new_tokens = 40, .eos_id = std::nullopt}));
}

// --eos 10 (newline) ends each row at its first newline, EOS kept; without it the row runs to -n.
TEST(GenerateCli, EosFlagSetsTheStopToken) {
  const std::string base = "generate -p " + shell_quote("KING:") + " -n 60 --temperature 0 --print-ids";
  const auto free_run = run_cli(base);
  const auto stopped = run_cli(base + " --eos 10");
  ASSERT_EQ(free_run.status, 0) << free_run.err;
  ASSERT_EQ(stopped.status, 0) << stopped.err;
  const std::vector<std::int32_t> all = id_lines(free_run.out).at(0), cut = id_lines(stopped.out).at(0);
  ASSERT_EQ(all.size(), 60u);
  const auto newline = std::find(all.begin(), all.end(), 10);
  ASSERT_NE(newline, all.end()) << "the greedy text has no newline in 60 bytes; pick another prompt";
  EXPECT_EQ(cut, std::vector<std::int32_t>(all.begin(), newline + 1));
  EXPECT_EQ(all, engine_ids({"KING:"}, {.temperature = 0}, {.max_new_tokens = 60, .eos_id = std::nullopt}).at(0));
}

}  // namespace
}  // namespace tinymamba
