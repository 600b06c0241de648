// Tokenizer speed on ../shared/data/tinyshakespeare.txt (1.1 MB of English) with the GPT-NeoX tokenizer, one
// thread. Reports bytes/s of input text. Baselines in the same run: the pre-tokenizer's split alone (what every
// encode pays before BPE) and UTF-8 validation (a memory-bound pass over the text).
//
//   ./build/bench/tinymamba_bench --benchmark_filter=Tokenizer --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true     (one command line)
#include <benchmark/benchmark.h>

#include <string>

#include "tinymamba/core/file.hpp"
#include "tinymamba/tokenizer/pretokenize.hpp"
#include "tinymamba/tokenizer/tokenizer.hpp"
#include "tinymamba/tokenizer/utf8.hpp"

namespace {

using tinymamba::Tokenizer;

const std::string& shakespeare() {
  static const std::string text =
      tinymamba::read_text_file(std::string(TINYMAMBA_SOURCE_DIR) + "/../shared/data/tinyshakespeare.txt");
  return text;
}

const Tokenizer& neox() {
  static const Tokenizer tokenizer =
      Tokenizer::load(std::string(TINYMAMBA_SOURCE_DIR) + "/../shared/tokenizer/gpt-neox-20b.json");
  return tokenizer;
}

void BM_TokenizerEncodeTinyShakespeare(benchmark::State& state) {
  const std::string& text = shakespeare();
  const Tokenizer& tokenizer = neox();
  std::size_t tokens = 0;
  for (auto _ : state) {
    const auto ids = tokenizer.encode(text);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(tokens);
}
BENCHMARK(BM_TokenizerEncodeTinyShakespeare)->Unit(benchmark::kMillisecond);

void BM_TokenizerDecodeTinyShakespeare(benchmark::State& state) {
  const Tokenizer& tokenizer = neox();
  const auto ids = tokenizer.encode(shakespeare());
  for (auto _ : state) benchmark::DoNotOptimize(tokenizer.decode(ids));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * shakespeare().size()));
}
BENCHMARK(BM_TokenizerDecodeTinyShakespeare)->Unit(benchmark::kMillisecond);

// Baseline: the GPT-2 split alone.
void BM_TokenizerPretokenizeTinyShakespeare(benchmark::State& state) {
  const std::string& text = shakespeare();
  for (auto _ : state) {
    std::size_t pieces = 0;
    tinymamba::for_each_gpt2_piece(text, [&](std::string_view) { ++pieces; });
    benchmark::DoNotOptimize(pieces);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_TokenizerPretokenizeTinyShakespeare)->Unit(benchmark::kMillisecond);

// Baseline: one pass of UTF-8 validation.
void BM_TokenizerUtf8CheckTinyShakespeare(benchmark::State& state) {
  const std::string& text = shakespeare();
  for (auto _ : state) benchmark::DoNotOptimize(tinymamba::find_invalid_utf8(text));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_TokenizerUtf8CheckTinyShakespeare)->Unit(benchmark::kMillisecond);

}  // namespace
