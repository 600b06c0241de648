// tinymamba train — train a Mamba language model on a text file (see docs/training.md).
#include <cstdio>
#include <filesystem>
#include <unistd.h>

#include <array>
#include <atomic>
#include <csignal>
#include <memory>

#include "command.hpp"
#include "common.hpp"
#include "text_encoder.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/core/file.hpp"
#include "tinymamba/model/init.hpp"
#include "tinymamba/train/byte_tokenizer.hpp"
#include "tinymamba/train/checkpoint.hpp"
#include "tinymamba/train/communicator.hpp"
#include "tinymamba/train/presets.hpp"
#include "tinymamba/train/trainer.hpp"

namespace tinymamba::cli {
namespace {
namespace fs = std::filesystem;

struct TrainArgs {
  train::TrainSettings s;
  std::string tokenizer, config, out, resume;
  bool bytes = false, quiet = false;
  int threads = 0;
  std::map<std::string, CLI::Option*> opt;  // by flag name, to tell given flags from defaults

  [[nodiscard]] bool given(const std::string& flag) const {
    auto it = opt.find(flag);
    return it != opt.end() && it->second->count() > 0;
  }
};

std::string tokenizer_file_text(const train::TextEncoder& enc) {
  return enc.name == "bytes" ? train::byte_level_tokenizer_json() : read_text_file(enc.name, std::size_t{256} << 20);
}

std::string duration(double s) {
  char buf[32];
  const auto t = static_cast<long long>(s + 0.5);
  std::snprintf(buf, sizeof buf, "%lldh%02lldm%02llds", t / 3600, t / 60 % 60, t % 60);
  return buf;
}

// A resumed run keeps its model: --config may be given (the command line the run was started with) when it
// describes the checkpoint's model; a shape that differs is an error naming it.
void check_resume_config(const std::string& flag_value, const Config& saved, std::int64_t data_vocab) {
  const Config want = train::train_config(flag_value, data_vocab);
  const std::pair<const char*, std::array<std::int64_t, 2>> shapes[] = {
      {"d_model", {want.d_model, saved.d_model}},          {"n_layer", {want.n_layer, saved.n_layer}},
      {"vocab (padded)", {want.padded_vocab(), saved.padded_vocab()}}, {"d_state", {want.d_state, saved.d_state}},
      {"d_conv", {want.d_conv, saved.d_conv}},             {"d_inner", {want.d_inner, saved.d_inner}},
      {"dt_rank", {want.dt_rank, saved.dt_rank}},          {"conv_bias", {want.conv_bias, saved.conv_bias}},
      {"bias", {want.bias, saved.bias}},                   {"tie_embeddings", {want.tie_embeddings, saved.tie_embeddings}}};
  for (const auto& [name, v] : shapes)
    TM_CHECK(v[0] == v[1], "--config ", flag_value, ": ", name, " = ", v[0], " but the checkpoint's model has ", v[1],
             " (a resumed run keeps its model; drop --config or give the checkpoint's)");
}

// Under mpirun, a process that dies makes mpirun stop the others with SIGTERM (then SIGKILL). Rank 0 then says
// where the last complete checkpoint is. The message is built beforehand (a signal handler may only write()):
// two slots, the one being rebuilt is never the one published.
std::array<std::string, 2> stop_messages;
std::atomic<const std::string*> stop_message{nullptr};

extern "C" void on_stop_signal(int) {
  if (const std::string* m = stop_message.load()) {
    const ssize_t ignored = ::write(2, m->data(), m->size());
    (void)ignored;
  }
  ::_exit(1);
}

void report_checkpoint_on_stop(const std::string& out, std::int64_t step) {
  static int slot = 0;
  slot ^= 1;
  stop_messages[slot] =
      "\ntinymamba train: error: mpirun stopped the job (a process of it died, or it was interrupted; see mpirun's message). " +
      (step > 0 ? "The last checkpoint, step " + std::to_string(step) + ", is complete in " + out +
                      ": continue with --resume " + out + "\n"
                : std::string("No checkpoint was saved yet.\n"));
  stop_message.store(&stop_messages[slot]);
}

void run_train(TrainArgs& a) {
  apply_threads(a.threads);
  train::TrainSettings s = a.s;
  // Defaults that depend on other flags.
  if (!a.given("--min-lr")) s.min_lr = s.lr / 10;
  if (!a.given("--warmup")) s.warmup = (s.schedule_steps > 0 ? s.schedule_steps : s.steps) / 20;
  if (!a.given("--eval-every")) s.eval_every = std::max<std::int64_t>(1, s.steps / 10);
  if (a.given("--tokenizer") || a.given("--bytes")) s.encoder = a.bytes ? "bytes" : a.tokenizer;
  if (!a.given("--scan")) s.scan = "";

  std::optional<train::LoadedCheckpoint> ck;
  std::vector<train::LogRow> log;
  train::TrainingState state;
  if (!a.resume.empty()) {
    // Continue a run: its settings, except the flags given now (e.g. a larger --steps).
    // A save that a crash interrupted is finished (or rolled back) by one process before the others read DIR.
    train::Communicator& comm = train::world();
    if (comm.rank() == 0) (void)train::recover_checkpoint(a.resume);
    comm.barrier();
    ck.emplace(train::load_training_checkpoint(a.resume));
    train::TrainSettings saved = ck->state.settings;
    auto take = [&](const char* flag, auto& field, const auto& value) {
      if (a.given(flag)) field = value;
    };
    take("--data", saved.data, s.data);
    if (a.given("--bytes") || a.given("--tokenizer")) saved.encoder = s.encoder;
    take("--steps", saved.steps, s.steps);
    take("--batch", saved.batch, s.batch);
    take("--seq-len", saved.seq_len, s.seq_len);
    take("--accum", saved.accum, s.accum);
    take("--lr", saved.lr, s.lr);
    take("--min-lr", saved.min_lr, s.min_lr);
    take("--warmup", saved.warmup, s.warmup);
    take("--schedule-steps", saved.schedule_steps, s.schedule_steps);
    take("--beta1", saved.adamw.beta1, s.adamw.beta1);
    take("--beta2", saved.adamw.beta2, s.adamw.beta2);
    take("--eps", saved.adamw.eps, s.adamw.eps);
    take("--weight-decay", saved.adamw.weight_decay, s.adamw.weight_decay);
    take("--no-decay", saved.no_decay, s.no_decay);
    take("--clip", saved.clip, s.clip);
    take("--seed", saved.seed, s.seed);
    take("--eval-every", saved.eval_every, s.eval_every);
    take("--eval-tokens", saved.eval_tokens, s.eval_tokens);
    take("--save-every", saved.save_every, s.save_every);
    take("--scan", saved.scan, s.scan);
    s = saved;
    TM_CHECK(s.steps >= ck->state.step, "--steps = ", s.steps, " is below the checkpoint's step ", ck->state.step,
             " (--steps is the total number of updates)");
    state = ck->state;
    state.settings = s;
    if (a.out.empty()) a.out = a.resume;
    TM_CHECK(!fs::exists(a.out) || fs::equivalent(a.out, a.resume) || !train::has_training_checkpoint(a.out), "--out ", a.out,
             " already holds another training checkpoint; continue it with --resume ", a.out, " or choose another --out");
    const fs::path log_path = fs::path(a.resume) / train::kLogFile;
    if (fs::exists(log_path)) log = train::parse_log_csv(read_text_file(log_path.string()), log_path.string());
  } else {
    TM_CHECK(!s.data.empty(), "--data is required (the text file to train on)");
    TM_CHECK(!a.config.empty(), "--config is required (a preset: tiny, small, shakespeare, 130m; or a config.json)");
    TM_CHECK(a.given("--steps"), "--steps is required (total optimizer updates)");
    TM_CHECK(a.given("--batch"), "--batch is required (windows per micro-batch)");
    TM_CHECK(a.given("--seq-len"), "--seq-len is required (tokens per window)");
    TM_CHECK(!a.out.empty(), "--out is required (the folder for checkpoints and the log)");
    TM_CHECK(a.given("--bytes") || a.given("--tokenizer"), "say how to turn the text into tokens: --bytes or --tokenizer FILE");
    TM_CHECK(!train::has_training_checkpoint(a.out), "--out ", a.out,
             " already holds a training checkpoint; continue it with --resume ", a.out, " or choose another --out");
  }
  s.validate();
  if (!s.scan.empty()) (void)parse_scan_algorithm(s.scan);  // an unknown name is an error naming the choices
  const train::TextEncoder enc = make_text_encoder(s.encoder == "bytes", s.encoder == "bytes" ? "" : s.encoder);
  const train::DataSplit data = train::load_split(s.data, enc);
  TM_CHECK(static_cast<std::int64_t>(data.train.ids.size()) >= s.seq_len, "--seq-len = ", s.seq_len,
           " is longer than the training part of ", s.data, " (", data.train.ids.size(), " tokens)");

  std::unique_ptr<Model> fresh_model;
  std::unique_ptr<train::AdamW> fresh_opt;
  Model* model = nullptr;
  train::AdamW* opt = nullptr;
  if (ck) {
    model = &ck->model;
    opt = &ck->optimizer;
    TM_CHECK(enc.vocab_size <= model->config.padded_vocab(), s.encoder, ": vocabulary of ", enc.vocab_size,
             " does not fit the checkpoint's model (", model->config.padded_vocab(), ")");
    if (a.given("--config")) check_resume_config(a.config, model->config, enc.vocab_size);
    opt->reconfigure(s.adamw, train::decay_flags(model->layout, s.no_decay));  // flags given now; moments kept
  } else {
    fresh_model = std::make_unique<Model>(train::train_config(a.config, enc.vocab_size));
    model = fresh_model.get();
    init_parameters(*model, s.seed);
    fresh_opt = std::make_unique<train::AdamW>(model->layout, static_cast<std::int64_t>(model->params.size()), s.adamw,
                                               train::decay_flags(model->layout, s.no_decay));
    opt = fresh_opt.get();
    state.settings = s;
  }

  train::Communicator& comm = train::world();
  const bool rank0 = comm.rank() == 0;  // rank 0 alone prints
  const Config& c = model->config;
  if (!a.quiet && rank0)
    std::fprintf(stderr,
                 "tinymamba train: d_model %lld, n_layer %lld, vocab %lld (%lld parameters); data %s: %zu train / %zu "
                 "validation tokens (%s); %lld tokens per update%s; %s\n",
                 static_cast<long long>(c.d_model), static_cast<long long>(c.n_layer),
                 static_cast<long long>(c.padded_vocab()), static_cast<long long>(c.parameter_count()), s.data.c_str(),
                 data.train.ids.size(), data.val.ids.size(), enc.name.c_str(),
                 static_cast<long long>(s.tokens_per_step()),
                 comm.size() > 1 ? (" over " + std::to_string(comm.size()) + " processes").c_str() : "",
                 state.step > 0 ? ("resuming at step " + std::to_string(state.step)).c_str() : "from scratch");

  train::RunOptions ro;
  ro.out_dir = a.out;
  ro.extra_files["tokenizer.json"] = tokenizer_file_text(enc);
  ro.title = "tinymamba train: d_model " + std::to_string(c.d_model) + ", " + std::to_string(c.n_layer) +
             " layers, on " + fs::path(s.data).filename().string();
  ro.progress = !a.quiet;
  ro.comm = &comm;
  if (comm.size() > 1 && rank0) {
    report_checkpoint_on_stop(a.out, state.step);
    ro.on_saved = [&](std::int64_t step) { report_checkpoint_on_stop(a.out, step); };
    std::signal(SIGTERM, on_stop_signal);
  }
  const std::int64_t state_step0 = state.step;
  const auto r = train::run_training(*model, *opt, state, data, std::move(log), ro);
  if (!rank0) return;
  std::printf("trained to step %lld in %s (%.0f training tok/s)\n", static_cast<long long>(r.step),
              duration(r.seconds).c_str(), r.train_tok_s);
  if (comm.size() > 1 && r.step > state_step0) {
    const double per_update = 1e3 / static_cast<double>(r.step - state_step0);
    std::printf("%d processes; waiting for the gradient sums after the backward: %.1f ms per update on the rank "
                "that waited least (communication not hidden), %.1f ms on the one that waited most (+ imbalance)\n",
                comm.size(), r.wait_seconds * per_update, r.wait_max_seconds * per_update);
  }
  std::printf("validation (last 10%% of %s, %lld tokens): loss %.4f, perplexity %.3f, %.4f bits/byte\n", s.data.c_str(),
              static_cast<long long>(r.val.tokens), r.val.loss, r.val.perplexity(), r.val.bits_per_byte());
  std::printf("saved %s\n", a.out.c_str());
}

const Registration reg(40, [](CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  auto* sub = app.add_subcommand("train", "Train a Mamba language model on a text file (AdamW, cosine schedule)");
  auto& o = a->opt;
  o["--data"] = sub->add_option("--data", a->s.data, "Text file to train on (its last 10% is the validation split)");
  o["--bytes"] = sub->add_flag("--bytes", a->bytes, "Byte-level tokens: id = byte value, vocab 256");
  o["--tokenizer"] = sub->add_option("--tokenizer", a->tokenizer, "A tokenizer.json to encode the text with");
  o["--config"] = sub->add_option("--config", a->config,
                                  "Model shape: a preset (tiny, small, shakespeare, 130m) or a config.json with official "
                                  "field names; --bytes sets vocab_size 256");
  o["--steps"] = sub->add_option("--steps", a->s.steps, "Total optimizer updates (a resume continues up to it)");
  o["--batch"] = sub->add_option("--batch", a->s.batch,
                                 "Windows per micro-batch (under mpirun: of all processes together, split evenly)");
  o["--seq-len"] = sub->add_option("--seq-len", a->s.seq_len, "Tokens per window");
  o["--accum"] = sub->add_option("--accum", a->s.accum, "Micro-batches per update (gradient accumulation; default 1)");
  o["--lr"] = sub->add_option("--lr", a->s.lr, "Peak learning rate (default 1e-3)");
  o["--min-lr"] = sub->add_option("--min-lr", a->s.min_lr, "Learning rate at the end of the cosine (default lr/10)");
  o["--warmup"] = sub->add_option("--warmup", a->s.warmup, "Updates of linear warm-up (default steps/20)");
  o["--schedule-steps"] = sub->add_option("--schedule-steps", a->s.schedule_steps,
                                          "Length of the warm-up + cosine schedule (default: --steps)");
  o["--weight-decay"] = sub->add_option("--weight-decay", a->s.adamw.weight_decay,
                                        "AdamW decoupled weight decay on >=2-D tensors except A_log (default 0.1)");
  o["--no-decay"] = sub->add_option("--no-decay", a->s.no_decay,
                                    "Also exempt tensors whose name contains this from weight decay (repeatable)");
  o["--beta1"] = sub->add_option("--beta1", a->s.adamw.beta1, "AdamW beta1 (default 0.9)");
  o["--beta2"] = sub->add_option("--beta2", a->s.adamw.beta2, "AdamW beta2 (default 0.95)");
  o["--eps"] = sub->add_option("--eps", a->s.adamw.eps, "AdamW epsilon (default 1e-8)");
  o["--clip"] = sub->add_option("--clip", a->s.clip, "Clip the global gradient norm to this (0 = off; default 1)");
  o["--seed"] = sub->add_option("--seed", a->s.seed, "Seed of the initialization and the data order (default 0)");
  o["--eval-every"] = sub->add_option("--eval-every", a->s.eval_every,
                                      "Validation loss every K updates (default steps/10; 0 = only at the end)");
  o["--eval-tokens"] = sub->add_option("--eval-tokens", a->s.eval_tokens,
                                       "Tokens per periodic validation, 0 = all (the final one uses all; default 65536)");
  o["--save-every"] = sub->add_option("--save-every", a->s.save_every, "Checkpoint every K updates (0 = only at the end)");
  o["--out"] = sub->add_option("--out", a->out, "Output folder: checkpoint (HF layout + optimizer state), log.csv, loss.svg");
  o["--resume"] = sub->add_option("--resume", a->resume, "Continue the run saved in this folder up to --steps");
  o["--scan"] = sub->add_option("--scan", a->s.scan, "Selective-scan algorithm (default: the fastest)");
  sub->add_flag("--quiet", a->quiet, "No progress line");
  add_threads_flag(sub, a->threads);
  a->s.eval_tokens = 65536;
  sub->callback([a] { run_train(*a); });
});

}  // namespace
}  // namespace tinymamba::cli
