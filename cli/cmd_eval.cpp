// tinymamba eval — a model's next-token loss on a text file: mean loss, perplexity, bits per byte.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "common.hpp"
#include "model_tokenizer.hpp"
#include "text_encoder.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/io/model_folder.hpp"
#include "tinymamba/train/communicator.hpp"
#include "tinymamba/train/trainer.hpp"

namespace tinymamba::cli {
namespace {
namespace fs = std::filesystem;

struct EvalArgs {
  std::string model_dir, data, tokenizer, split = "all", scan, dtype;
  bool bytes = false, json = false;
  std::int64_t seq_len = 256, batch = 8, max_tokens = 0;
  int threads = 0;
};

// --bytes / --tokenizer as given, else the model's own (the folder's tokenizer.json, a GGUF's tokenizer.ggml.*
// keys), else bytes for a model of <= 256 ids.
train::TextEncoder encoder_for(const EvalArgs& a, const Model& m) {
  if (a.bytes || !a.tokenizer.empty()) return make_text_encoder(a.bytes, a.tokenizer);
  if (const auto travels = model_tokenizer(a.model_dir)) return text_encoder_from_json(travels->json, travels->name);
  TM_CHECK(m.config.padded_vocab() <= 256, a.model_dir, " has no tokenizer (tokenizer.json, or a GGUF's "
           "tokenizer.ggml.* keys) and a vocabulary of ", m.config.padded_vocab(), ": pass --tokenizer FILE (or --bytes)");
  return train::byte_encoder();
}

void run_eval(EvalArgs a) {
  apply_threads(a.threads);
  TM_CHECK(!a.data.empty(), "--data is required (the text file to evaluate on)");
  TM_CHECK(a.split == "all" || a.split == "val" || a.split == "train", "--split must be all, val or train, got '",
           a.split, "'");
  TM_CHECK(a.seq_len >= 2, "--seq-len = ", a.seq_len, " must be at least 2");
  TM_CHECK(a.batch >= 1, "--batch = ", a.batch, " must be at least 1");
  TM_CHECK(a.max_tokens >= 0, "--max-tokens = ", a.max_tokens, " must be >= 0");
  if (a.model_dir.empty()) {
    a.model_dir = default_model_dir();
    TM_CHECK(fs::is_directory(a.model_dir), "no -m given and the default model folder ", a.model_dir,
             " does not exist (pass -m DIR or set TINYMAMBA_DEFAULT_MODEL)");
  }
  const Model model = load_model_as(a.model_dir, a.dtype);
  const train::TextEncoder enc = encoder_for(a, model);
  TM_CHECK(enc.vocab_size <= model.config.padded_vocab(), enc.name, ": vocabulary of ", enc.vocab_size,
           " does not fit the model's ", model.config.padded_vocab());
  train::TokenText text;
  if (a.split == "all") {
    text = train::load_whole(a.data, enc);
  } else {
    auto split = train::load_split(a.data, enc);
    text = std::move(a.split == "val" ? split.val : split.train);
  }
  TM_CHECK(text.ids.size() >= 2, a.data, ": needs at least 2 tokens to evaluate, has ", text.ids.size());
  // Under mpirun the batches are shared out among the processes; rank 0 prints the (same) numbers.
  train::Communicator& comm = train::world();
  const auto r = train::evaluate(model, text,
                                 {.seq_len = a.seq_len, .batch = a.batch, .max_tokens = a.max_tokens,
                                  .scan = scan_from_flag(a.scan)},
                                 comm);
  if (comm.rank() != 0) return;
  if (a.json) {
    const nlohmann::json j = {{"loss", r.loss},       {"perplexity", r.perplexity()}, {"bits_per_byte", r.bits_per_byte()},
                              {"tokens", r.tokens},   {"bytes", r.bytes},             {"model", a.model_dir},
                              {"data", a.data},       {"split", a.split},             {"seq_len", a.seq_len},
                              {"tokenizer", enc.name}};
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf("model          %s\n", a.model_dir.c_str());
  std::printf("data           %s (%s; %lld tokens predicted, %s, windows of %lld)\n", a.data.c_str(),
              a.split == "all" ? "whole file" : (a.split == "val" ? "last 10%" : "first 90%"),
              static_cast<long long>(r.tokens), enc.name.c_str(), static_cast<long long>(a.seq_len));
  std::printf("loss           %.4f nats/token\n", r.loss);
  std::printf("perplexity     %.4f\n", r.perplexity());
  std::printf("bits per byte  %.4f\n", r.bits_per_byte());
}

const Registration reg(45, [](CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  auto* sub = app.add_subcommand("eval", "Mean next-token loss, perplexity and bits per byte of a model on a text file");
  sub->add_option("-m,--model", a->model_dir, "Model folder (default: the shipped byte-level model, see docs/training.md)");
  sub->add_option("--data", a->data, "Text file to evaluate on");
  sub->add_flag("--json", a->json, "Print one JSON object: loss, perplexity, bits_per_byte, tokens, bytes, ...");
  sub->add_flag("--bytes", a->bytes, "Byte-level tokens (default when the model folder's tokenizer.json is byte-level)");
  sub->add_option("--tokenizer", a->tokenizer, "tokenizer.json (default: the one in the model folder)");
  sub->add_option("--split", a->split, "all (default), val (the last 10%, the training split's validation) or train");
  sub->add_option("--seq-len", a->seq_len, "Context window: windows of this many tokens, overlapping by one (default 256)");
  sub->add_option("--batch", a->batch, "Windows per forward pass (default 8)");
  sub->add_option("--max-tokens", a->max_tokens, "Evaluate about this many tokens, spread over the text (0 = all)");
  add_scan_flag(sub, a->scan);
  add_threads_flag(sub, a->threads);
  add_dtype_flag(sub, a->dtype);
  sub->callback([a] { run_eval(*a); });
});

}  // namespace
}  // namespace tinymamba::cli
