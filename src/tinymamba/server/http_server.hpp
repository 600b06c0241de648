// The HTTP front: cpp-httplib's server (a thread per connection from its pool) with the routes
//   POST /v1/completions   OpenAI's completions, plain or streamed as Server-Sent Events
//   GET  /v1/models        the one model served
//   POST /tokenize         {"content": text} -> {"tokens": [ids]}
//   POST /detokenize       {"tokens": [ids]} -> {"content": text}
//   GET  /health           {"status": "ok"}
//   GET  /metrics          Prometheus text
// Each request's JSON becomes Jobs for the Scheduler; the handler then waits on them (plain) or streams their
// pieces as they come (stream), so a slow client only slows its own connection. Errors are OpenAI-style JSON.
// One log line per request on stderr.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "tinymamba/server/metrics.hpp"
#include "tinymamba/server/requests.hpp"
#include "tinymamba/server/scheduler.hpp"
#include "tinymamba/tokenizer/tokenizer.hpp"

namespace tinymamba::server {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                              // 0: any free port (bind() says which)
  std::string api_key;                          // non-empty: every route but /health needs "Bearer <key>"
  std::string model_name = "tinymamba";
  RequestLimits limits;
  std::int64_t max_body_bytes = 8 << 20;        // larger bodies get 413
  std::int64_t connection_threads = 64;         // connections served at once
};

class HttpServer {
 public:
  // The tokenizer, scheduler and metrics must outlive the server.
  HttpServer(const HttpOptions& options, const Tokenizer& tokenizer, Scheduler& scheduler, Metrics& metrics);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the listening socket; returns the port. Throws Error naming the address when it cannot.
  int bind();
  // Serves until stop() (from another thread).
  void listen();
  // Stops accepting; streams still open get up to 5 s to send their last events.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tinymamba::server
