// tinymamba generate — text generation: a prefill of the prompt (the server's aligned schedule, or the parallel
// forward alone), then one recurrent step per token (O(1) work and memory per token), sampling each next token,
// streaming the text as it is produced.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <random>

#include "command.hpp"
#include "common.hpp"
#include "model_tokenizer.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/core/file.hpp"
#include "tinymamba/core/parse_ids.hpp"
#include "tinymamba/generate/engine.hpp"
#include "tinymamba/io/model_folder.hpp"
#include "tinymamba/tokenizer/utf8.hpp"

namespace tinymamba::cli {
namespace {

struct GenerateArgs {
  std::string model_dir, tokenizer, prompt, prompt_ids, prompts_file, scan, dtype;
  std::int64_t n = 128;
  std::optional<std::int64_t> eos;
  std::optional<std::uint64_t> seed;
  SamplingParams sampling{.temperature = 0.8f, .top_k = 40, .top_p = 0.95f};
  bool print_ids = false, ignore_eos = false, parallel_prefill = false, prompt_given = false, prompt_ids_given = false;
  int threads = 0;
};

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// One prompt per non-empty line; each is named "<path>: line N" in errors.
std::vector<std::pair<std::string, std::string>> read_prompts_file(const std::string& path) {
  const std::string text = read_text_file(path);  // regular files only (a FIFO would block), at most 64 MiB
  std::vector<std::pair<std::string, std::string>> prompts;
  std::size_t start = 0, number = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) prompts.emplace_back(cat(path, ": line ", number), std::move(line));
  }
  TM_CHECK(!prompts.empty(), path, ": no prompts (one prompt per non-empty line)");
  TM_CHECK(prompts.size() <= 4096, path, ": more than 4096 prompts");
  return prompts;
}

// The peak resident memory of this process in bytes: the kernel's VmHWM (counted since exec, so a parent's
// memory never shows); 0 where /proc does not say. Weights used in place from a mapped file count as their
// pages are read (bench --tests rss).
double peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("VmHWM:")) return std::strtod(line.c_str() + 6, nullptr) * 1024;  // "VmHWM:  1234 kB"
  return 0;
}

// The stop rule for `-n N [--eos ID] [--ignore-eos]`: EOS is --eos if given, else the tokenizer's (none if it
// has none); --ignore-eos turns it off.
StopRule stop_rule_from_flags(const GenerateArgs& a, std::optional<std::int32_t> tokenizer_eos, std::int64_t vocab) {
  TM_CHECK(!(a.eos && a.ignore_eos), "--eos and --ignore-eos contradict each other; pass one of them");
  TM_CHECK(!a.eos || (*a.eos >= 0 && *a.eos < vocab), "--eos must be in [0, ", vocab, "), got ", a.eos.value_or(0));
  if (a.ignore_eos) return {.max_new_tokens = a.n, .eos_id = std::nullopt};
  return {.max_new_tokens = a.n, .eos_id = a.eos ? std::optional(static_cast<std::int32_t>(*a.eos)) : tokenizer_eos};
}

// The library names a bad SamplingParams field ("top_k must be >= 0"); the flag is that name with dashes.
void check_sampling_flags(const SamplingParams& p) {
  if (const auto bad = p.invalid_field()) {
    std::string flag = "--" + std::string(bad->field);
    std::replace(flag.begin(), flag.end(), '_', '-');
    fail(flag, " ", bad->problem);
  }
}

void run_generate(GenerateArgs a) {
  apply_threads(a.threads);
  const ScanAlgorithm scan = scan_from_flag(a.scan);
  const int sources = a.prompt_given + a.prompt_ids_given + !a.prompts_file.empty();
  TM_CHECK(sources <= 1, "give one of -p, --prompt-ids and --prompts-file");
  TM_CHECK(!(a.prompt_given && a.prompt.empty()), "-p: the prompt is empty");
  TM_CHECK(a.n >= 1, "-n must be at least 1, got ", a.n);
  a.sampling.seed = a.seed ? *a.seed : std::random_device{}();
  check_sampling_flags(a.sampling);

  const std::string dir = a.model_dir.empty() ? default_model_dir() : a.model_dir;
  const Model model = load_model_as(dir, a.dtype);
  const Config& c = model.config;
  std::string tok_path = a.tokenizer;
  std::optional<Tokenizer> tok;
  if (!tok_path.empty()) {
    tok.emplace(Tokenizer::load(tok_path));
  } else if (const auto travels = model_tokenizer(dir)) {  // the folder's tokenizer.json, or the GGUF's keys
    tok.emplace(Tokenizer::from_json(travels->json, travels->name));
    tok_path = travels->name;
  }
  if (tok) {
    TM_CHECK(tok->vocab_size() <= c.padded_vocab(), tok_path, ": ", tok->vocab_size(),
             " token ids do not fit the model's vocabulary of ", c.padded_vocab());
  }
  TM_CHECK(tok || (a.prompt_ids_given && a.print_ids), "no tokenizer: pass -t TOKENIZER.json or put tokenizer.json in ",
           dir, " (or use --prompt-ids with --print-ids)");
  const std::int64_t vocab = tok ? tok->vocab_size() : c.vocab_size;

  // Prompts as ids. With no prompt at all, generation starts from a newline.
  std::vector<std::vector<std::int32_t>> prompts;
  if (a.prompt_ids_given) {
    std::vector<std::int32_t> ids;
    for (std::int64_t id : parse_ids(a.prompt_ids, "--prompt-ids")) {
      TM_CHECK(id < vocab, "--prompt-ids: token id ", id, " is outside the vocabulary [0, ", vocab, ")");
      ids.push_back(static_cast<std::int32_t>(id));
    }
    TM_CHECK(!ids.empty(), "--prompt-ids: no ids given");
    prompts.push_back(std::move(ids));
  } else {
    const auto texts = a.prompts_file.empty()
                           ? std::vector<std::pair<std::string, std::string>>{{"-p", a.prompt.empty() ? "\n" : a.prompt}}
                           : read_prompts_file(a.prompts_file);
    for (const auto& [what, text] : texts) {
      check_utf8(text, what);  // names the flag or the file and line, and the byte offset
      prompts.push_back(tok->encode(text));
      TM_CHECK(!prompts.back().empty(), what, ": the prompt encodes to no tokens");
    }
  }
  const auto batch = static_cast<std::int64_t>(prompts.size());
  const StopRule stop = stop_rule_from_flags(a, tok ? tok->eos_id() : std::nullopt, vocab);
  const bool stream = batch == 1 && !a.print_ids;
  // A random seed is reported on the final statistics line (and in an error during decoding), so that the run can
  // be replayed; stderr holds nothing else until then, so a failure is exactly one line.
  const bool random_seed = !a.seed && a.sampling.temperature > 0;

  // Prefill: each prompt into its own state slot.
  const auto t_prefill = Clock::now();
  check_fits_in_memory(4.0 * static_cast<double>(batch) *
                           static_cast<double>(c.n_layer * (InferenceState::conv_size(c) + InferenceState::ssm_size(c)) +
                                                 2 * c.padded_vocab()),
                       cat(batch, " prompts: their recurrent states and logits"));
  // the server's schedule by default (engine.hpp's PrefillBy::aligned), so `serve` gives the same tokens
  const PrefillBy prefill_by = a.parallel_prefill ? PrefillBy::forward : PrefillBy::aligned;
  Engine engine(model, {.slots = batch, .prefill_chunk = a.parallel_prefill ? 1024 : kAlignedPrefillChunk, .scan = scan});
  std::vector<Sequence> seqs;
  seqs.reserve(static_cast<std::size_t>(batch));  // tails below holds pointers into it
  std::vector<Sequence*> tails;  // the aligned schedule's step tails, absorbed together below
  std::int64_t prefill_tokens = 0;
  for (std::int64_t b = 0; b < batch; ++b) {
    SamplingParams sp = a.sampling;
    sp.seed += static_cast<std::uint64_t>(b);  // each sequence its own stream
    Sequence& s = seqs.emplace_back(std::move(prompts[b]), sp, stop, vocab, stream ? &*tok : nullptr);
    prefill_tokens += s.prompt_tokens();
    if (prefill_by == PrefillBy::forward) {
      (void)engine.prefill(s, std::numeric_limits<std::int64_t>::max(), prefill_by);
      continue;
    }
    const std::int64_t forward_end = aligned_forward_end(s.prompt_tokens(), kAlignedPrefillChunk);
    if (forward_end > 0) (void)engine.prefill(s, forward_end, prefill_by);
    tails.push_back(&s);
  }
  // every prompt's tail one token a step, as rows of the same steps (engine.hpp: bitwise each tail by steps of
  // its own, in a step per token for all the prompts instead of one per token of each)
  while (!tails.empty()) {
    (void)engine.step({}, tails);
    std::erase_if(tails, [](const Sequence* s) { return s->prefilled() == s->prompt_tokens(); });
  }
  const double prefill_s = seconds_since(t_prefill);

  // Decode: one step for the sequences still running, until each has stopped.
  if (stream) {
    std::fputs(tok->decode(seqs[0].prompt()).c_str(), stdout);
    std::fflush(stdout);
  }
  std::vector<Sequence*> running;
  for (Sequence& s : seqs)
    if (s.ready()) running.push_back(&s);
  std::int64_t decode_steps = 0;
  const auto t_decode = Clock::now();
  try {
    while (!running.empty()) {
      for (const StepToken& t : engine.step(running)) {
        if (t.text.empty()) continue;  // text comes only when streaming
        std::fwrite(t.text.data(), 1, t.text.size(), stdout);
        std::fflush(stdout);
      }
      std::erase_if(running, [](const Sequence* s) { return s->finished(); });
      decode_steps += !running.empty();  // a step runs the model only when some sequence goes on
    }
  } catch (const Error& e) {
    if (!random_seed) throw;
    fail(e.what(), " (random seed ", a.sampling.seed, "; pass --seed to replay)");
  }
  const double decode_s = seconds_since(t_decode);

  if (stream) {
    std::fputs("\n", stdout);
  } else {
    for (std::int64_t b = 0; b < batch; ++b) {
      if (a.print_ids) {
        std::string line;
        for (std::int32_t id : seqs[b].generated()) line += (line.empty() ? "" : " ") + std::to_string(id);
        std::puts(line.c_str());
      } else {
        std::string text = tok->decode(seqs[b].prompt()) + tok->decode(seqs[b].generated());
        std::printf("%s%s\n", b ? "\n" : "", text.c_str());
      }
    }
  }
  std::fflush(stdout);
  std::int64_t new_tokens = 0;
  for (const Sequence& s : seqs) new_tokens += s.generated_tokens();
  if (random_seed) std::fprintf(stderr, "seed: %llu; ", static_cast<unsigned long long>(a.sampling.seed));
  std::fprintf(stderr, "prefill: %lld tokens in %.3f s (%.1f tok/s); decode: %lld tokens in %.3f s (%.1f tok/s, %lld steps of batch %lld); peak RSS %.1f MB\n",
               static_cast<long long>(prefill_tokens), prefill_s, prefill_tokens / std::max(prefill_s, 1e-9),
               static_cast<long long>(new_tokens), decode_s, new_tokens / std::max(decode_s, 1e-9),
               static_cast<long long>(decode_steps), static_cast<long long>(batch), peak_rss_bytes() / 1e6);
}

const Registration reg(10, [](CLI::App& app) {
  auto a = std::make_shared<GenerateArgs>();
  auto* sub = app.add_subcommand("generate", "Generate text from a prompt (streams it as it is produced)");
  sub->add_option("-m,--model", a->model_dir, "Model folder (default: the bundled byte-level Shakespeare model)");
  sub->add_option("-t,--tokenizer", a->tokenizer, "tokenizer.json (default: the one in the model folder)");
  sub->add_option("-p,--prompt", a->prompt, "Prompt text (default: a newline)")->each([a](const std::string&) { a->prompt_given = true; });
  sub->add_option("--prompt-ids", a->prompt_ids, "Prompt as token ids, e.g. \"1 2 3\"")
      ->each([a](const std::string&) { a->prompt_ids_given = true; });
  sub->add_option("--prompts-file", a->prompts_file, "Generate for every line of this file, as one batch");
  sub->add_option("-n,--n-predict", a->n, "Tokens to generate (default 128)");
  sub->add_option("--temperature", a->sampling.temperature, "Sampling temperature; 0 = greedy (default 0.8)");
  sub->add_option("--top-k", a->sampling.top_k, "Keep the k most likely tokens; 0 = off (default 40)");
  sub->add_option("--top-p", a->sampling.top_p, "Keep the smallest set with probability mass >= p; 1 = off (default 0.95)");
  sub->add_option("--min-p", a->sampling.min_p, "Keep tokens with p >= min_p * p_max; 0 = off (default 0)");
  sub->add_option("--repeat-penalty", a->sampling.repeat_penalty, "CTRL repetition penalty; 1 = off (default 1)");
  sub->add_option("--seed", a->seed, "Random seed, 0 to 2^64-1 (default: a random one, printed on stderr)")
      ->check(CLI::Validator(
          [](std::string& text) {  // CLI11 would wrap "-1" around to 2^64-1; a seed is written without a sign
            std::uint64_t v = 0;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            return ec == std::errc() && end == text.data() + text.size() && !text.empty()
                       ? std::string()
                       : "must be an integer from 0 to 18446744073709551615, got '" + text + "'";
          },
          "UINT64", "seed"));
  sub->add_option("--eos", a->eos, "Stop at this token id (default: the tokenizer's <|endoftext|>)");
  sub->add_flag("--ignore-eos", a->ignore_eos, "Do not stop at the end-of-text token");
  sub->add_flag("--print-ids", a->print_ids, "Print the generated token ids instead of text");
  sub->add_flag("--parallel-prefill", a->parallel_prefill,
                "Prefill by the parallel forward in chunks of 1024 (faster for long prompts; serve "
                "--parallel-prefill matches it). By default the prompt goes in chunks of 64 aligned to its start, "
                "then the last (fewer than 64) tokens by recurrent steps: the schedule of `serve` and its state "
                "cache, so both give the same tokens");
  add_scan_flag(sub, a->scan, "; for the prompt's prefill, decode steps scan nothing");
  add_threads_flag(sub, a->threads);
  add_dtype_flag(sub, a->dtype);
  sub->callback([a] { run_generate(*a); });
});

}  // namespace
}  // namespace tinymamba::cli
