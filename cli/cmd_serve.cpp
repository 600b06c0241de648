// tinymamba serve — an OpenAI-compatible HTTP server (docs/serve.md): continuous batching of every request on
// one engine, and a cache of recurrent states keyed by token prefix. SIGINT / SIGTERM stop it: it stops
// accepting, ends the running requests, and exits 0.
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <pthread.h>
#include <thread>

#include "command.hpp"
#include "common.hpp"
#include "model_tokenizer.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/io/model_folder.hpp"
#include "tinymamba/server/http_server.hpp"

namespace tinymamba::cli {
namespace {

struct ServeArgs {
  std::string model_dir, tokenizer, host = "127.0.0.1", api_key;
  int port = 8080, threads = 0;
  std::int64_t parallel = 4, ctx_max = 4096, state_cache_mb = 256, max_queue = 64, prefill_budget = 0;
  bool parallel_prefill = false;
};

void run_serve(const ServeArgs& a) {
  // Signals go to one thread that waits for them: blocked here, before any thread (OpenMP's included) starts,
  // so that every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a client that hangs up makes a write fail, not the process die

  apply_threads(a.threads);
  TM_CHECK(a.parallel >= 1 && a.parallel <= 1024, "--parallel must be in [1, 1024], got ", a.parallel);
  TM_CHECK(a.ctx_max >= 1, "--ctx-max must be >= 1, got ", a.ctx_max);
  TM_CHECK(a.state_cache_mb >= 0, "--state-cache-mb must be >= 0, got ", a.state_cache_mb);
  TM_CHECK(a.max_queue >= 0, "--max-queue must be >= 0, got ", a.max_queue);
  TM_CHECK(!(a.parallel_prefill && a.state_cache_mb > 0),
           "--parallel-prefill needs --state-cache-mb 0 (its states depend on where a prompt is cut, so a cached "
           "state would not resume exactly)");
  TM_CHECK(a.port >= 0 && a.port <= 65535, "--port must be in [0, 65535], got ", a.port);

  const std::string dir = a.model_dir.empty() ? default_model_dir() : a.model_dir;
  const Model model = load_model(dir);
  std::string tok_path = a.tokenizer;
  const auto travels = tok_path.empty() ? model_tokenizer(dir) : std::nullopt;  // tokenizer.json, or a GGUF's keys
  if (travels) tok_path = travels->name;
  TM_CHECK(!tok_path.empty(), dir, ": the model has no tokenizer (tokenizer.json, or a GGUF's tokenizer.ggml.* keys); "
           "pass -t TOKENIZER.json");
  const Tokenizer tok = travels ? Tokenizer::from_json(travels->json, tok_path) : Tokenizer::load(tok_path);
  TM_CHECK(tok.vocab_size() <= model.config.padded_vocab(), tok_path, ": ", tok.vocab_size(),
           " token ids do not fit the model's vocabulary of ", model.config.padded_vocab());

  server::Metrics metrics;
  server::Scheduler scheduler(
      model, tok,
      {.parallel = a.parallel,
       .max_queue = a.max_queue,
       .prefill_budget = a.prefill_budget > 0 ? a.prefill_budget : (a.parallel_prefill ? 1024 : 256),
       .prefill_chunk = a.parallel_prefill ? 1024 : kAlignedPrefillChunk,  // 1024: generate --parallel-prefill
       .snapshot_every = a.parallel_prefill ? 1024 : 256,
       .cache_bytes = a.state_cache_mb << 20,
       .plain_prefill = a.parallel_prefill},
      metrics);
  server::HttpServer http({.host = a.host,
                           .port = a.port,
                           .api_key = a.api_key,
                           .model_name = std::filesystem::path(dir).filename().string(),
                           .limits = {.ctx_max = a.ctx_max},
                           .connection_threads = a.parallel + a.max_queue + 8},
                          tok, scheduler, metrics);
  const int port = http.bind();

  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    std::fprintf(stderr, "tinymamba serve: stopping (signal %d)\n", sig);
    scheduler.stop();  // ends the running requests first, so that their connections close
    http.stop();
  });
  std::fprintf(stderr, "tinymamba serve: listening on http://%s:%d (model %s, %lld slots)\n", a.host.c_str(), port,
               dir.c_str(), static_cast<long long>(a.parallel));
  std::fflush(stderr);
  http.listen();
  pthread_kill(waiter.native_handle(), SIGTERM);  // listen may also end on its own; the waiter then wakes here
  waiter.join();
}

const Registration reg(15, [](CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  auto* sub = app.add_subcommand("serve", "Serve the model over HTTP (OpenAI-compatible /v1/completions)");
  sub->add_option("-m,--model", a->model_dir, "Model folder (default: the bundled byte-level Shakespeare model)");
  sub->add_option("-t,--tokenizer", a->tokenizer, "tokenizer.json (default: the one in the model folder)");
  sub->add_option("--host", a->host, "Address to listen on (default 127.0.0.1)");
  sub->add_option("--port", a->port, "Port (default 8080; 0: any free port, printed on stderr)");
  sub->add_option("--parallel", a->parallel, "Sequences decoded together (state slots; default 4)");
  sub->add_option("--ctx-max", a->ctx_max, "Most tokens per sequence, prompt + max_tokens (default 4096)");
  sub->add_option("--state-cache-mb", a->state_cache_mb, "State cache budget in MiB; 0 = off (default 256)");
  sub->add_option("--api-key", a->api_key, "Require 'Authorization: Bearer KEY' (default: none)");
  sub->add_option("--max-queue", a->max_queue, "Sequences waiting for a slot before 503 (default 64)");
  sub->add_option("--prefill-budget", a->prefill_budget,
                  "Prompt tokens absorbed between two decode steps (default 256; 1024 with --parallel-prefill)");
  sub->add_flag("--parallel-prefill", a->parallel_prefill,
                "Prefill whole prompts by the parallel forward in chunks of 1024, as generate --parallel-prefill does "
                "(faster for long prompts; needs --state-cache-mb 0). By default both use the aligned schedule that "
                "the state cache resumes exactly");
  add_threads_flag(sub, a->threads);
  sub->callback([a] { run_serve(*a); });
});

}  // namespace
}  // namespace tinymamba::cli
