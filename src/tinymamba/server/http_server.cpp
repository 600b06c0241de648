#include "tinymamba/server/http_server.hpp"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>

#include "tinymamba/core/error.hpp"
#include "tinymamba/server/api_error.hpp"

namespace tinymamba::server {

using nlohmann::json;

namespace {

// Generated text can end inside a character only at the finish of a byte-level model's output; such bytes
// become U+FFFD rather than an exception.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void reply_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status();
  res.set_content(dump(e.body()), "application/json");
}

// OpenAI's logprobs object for some tokens of a completion; `offset`: the text offset of the first.
json logprobs_json(const Tokenizer& tok, std::span<const Piece> pieces, std::int64_t offset) {
  json tokens = json::array(), token_logprobs = json::array(), top = json::array(), offsets = json::array(),
       ids = json::array(), top_ids = json::array();
  for (const Piece& p : pieces) {
    tokens.push_back(std::string(tok.token_bytes(p.id)));
    token_logprobs.push_back(p.logprobs.logprob);
    json alternatives = json::object(), alternative_ids = json::array();
    for (const auto& [id, lp] : p.logprobs.top) {
      alternatives[std::string(tok.token_bytes(id))] = lp;
      alternative_ids.push_back({id, lp});
    }
    top.push_back(std::move(alternatives));
    top_ids.push_back(std::move(alternative_ids));
    offsets.push_back(offset);
    offset += std::ssize(p.text);
    ids.push_back(p.id);
  }
  return {{"tokens", tokens}, {"token_logprobs", token_logprobs}, {"top_logprobs", top}, {"text_offset", offsets},
          {"token_ids", ids}, {"top_logprobs_ids", top_ids}};
}

// OpenAI's usage object over finished jobs.
json usage_json(const std::vector<std::shared_ptr<Job>>& jobs) {
  std::int64_t prompt = 0, completion = 0, cached = 0;
  for (const auto& job : jobs) {
    std::lock_guard lock(job->mutex);
    prompt += std::ssize(job->prompt);
    completion += std::ssize(job->pieces);
    cached += job->cached_tokens;
  }
  return {{"prompt_tokens", prompt},
          {"completion_tokens", completion},
          {"total_tokens", prompt + completion},
          {"prompt_tokens_details", {{"cached_tokens", cached}}}};
}

}  // namespace

struct HttpServer::Impl {
  HttpOptions options;
  const Tokenizer* tok;
  Scheduler* scheduler;
  Metrics* metrics;
  httplib::Server http;
  std::atomic<std::uint64_t> next_id{0};
  std::atomic<std::int64_t> open_streams{0};  // streamed responses not yet released

  void completions(const httplib::Request& req, httplib::Response& res);
  void stream(httplib::Response& res, const CompletionRequest& r, std::vector<std::shared_ptr<Job>> jobs,
              const json& head);

  // A route's handler, with every exception turned into an error reply.
  template <class F>
  httplib::Server::Handler guarded(F f) {
    return [f](const httplib::Request& req, httplib::Response& res) {
      try {
        f(req, res);
      } catch (const ApiError& e) {
        reply_error(res, e);
      } catch (const Error& e) {
        reply_error(res, ApiError(400, e.what()));
      } catch (const std::bad_alloc&) {
        reply_error(res, ApiError(503, "out of memory", "", "server_error"));
      } catch (const std::exception& e) {
        reply_error(res, ApiError(500, e.what(), "", "server_error"));
      }
    };
  }
};

HttpServer::HttpServer(const HttpOptions& options, const Tokenizer& tokenizer, Scheduler& scheduler, Metrics& metrics)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.options = options;
  s.tok = &tokenizer;
  s.scheduler = &scheduler;
  s.metrics = &metrics;
  httplib::Server& http = s.http;
  const auto threads = static_cast<std::size_t>(std::max<std::int64_t>(options.connection_threads, 1));
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(static_cast<std::size_t>(options.max_body_bytes));

  http.set_pre_routing_handler([&s](const httplib::Request& req, httplib::Response& res) {
    if (s.options.api_key.empty() || req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
    if (req.get_header_value("Authorization") == "Bearer " + s.options.api_key)
      return httplib::Server::HandlerResponse::Unhandled;
    reply_error(res, ApiError(401, "missing or wrong API key: send the header 'Authorization: Bearer <key>'", "",
                              "authentication_error"));
    return httplib::Server::HandlerResponse::Handled;
  });
  // Statuses the library sets itself (404, 413, 400 for a malformed request) get a JSON body too.
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    const std::string what = res.status == 404   ? "no route " + req.method + " " + req.path
                             : res.status == 413 ? "the request body is too large"
                             : res.status == 405 ? "method not allowed"
                                                 : "bad request";
    reply_error(res, ApiError(res.status, what));
  });
  http.set_logger([&s](const httplib::Request& req, const httplib::Response& res) {
    if (res.status >= 400) ++s.metrics->requests_failed;
    std::fprintf(stderr, "%s %s %s %d %zu\n", req.remote_addr.c_str(), req.method.c_str(), req.path.c_str(),
                 res.status, req.body.size());
  });

  http.Post("/v1/completions", s.guarded([&s](const httplib::Request& req, httplib::Response& res) {
    s.completions(req, res);
  }));
  http.Get("/v1/models", s.guarded([&s](const httplib::Request&, httplib::Response& res) {
    const json body = {{"object", "list"},
                       {"data", {{{"id", s.options.model_name}, {"object", "model"}, {"created", 0},
                                  {"owned_by", "tinymamba"}}}}};
    res.set_content(dump(body), "application/json");
  }));
  http.Post("/tokenize", s.guarded([&s](const httplib::Request& req, httplib::Response& res) {
    res.set_content(dump({{"tokens", s.tok->encode(parse_tokenize_request(req.body))}}), "application/json");
  }));
  http.Post("/detokenize", s.guarded([&s](const httplib::Request& req, httplib::Response& res) {
    const auto ids = parse_detokenize_request(req.body, s.tok->vocab_size());
    res.set_content(dump({{"content", s.tok->decode(ids)}}), "application/json");
  }));
  http.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  http.Get("/metrics", [&s](const httplib::Request&, httplib::Response& res) {
    res.set_content(s.metrics->prometheus(), "text/plain; version=0.0.4");
  });
}

HttpServer::~HttpServer() = default;

int HttpServer::bind() {
  const HttpOptions& o = impl_->options;
  if (o.port == 0) {
    const int port = impl_->http.bind_to_any_port(o.host);
    TM_CHECK(port > 0, "--host ", o.host, ": cannot listen there");
    return port;
  }
  TM_CHECK(impl_->http.bind_to_port(o.host, o.port), "--host ", o.host, " --port ", o.port,
           ": cannot listen there (in use, or not an address of this machine)");
  return o.port;
}

void HttpServer::listen() { impl_->http.listen_after_bind(); }

// The library ends streamed responses as soon as it stops, cutting their last events; so the streams (whose
// jobs the scheduler has ended by now) get a moment to send them first.
void HttpServer::stop() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (impl_->open_streams > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  impl_->http.stop();
}

void HttpServer::Impl::completions(const httplib::Request& req, httplib::Response& res) {
  const CompletionRequest r = parse_completion_request(req.body, *tok, options.limits);
  std::vector<std::shared_ptr<Job>> jobs;
  for (std::size_t i = 0; i < r.prompts.size(); ++i) {
    auto job = std::make_shared<Job>();
    job->prompt = r.prompts[i];
    job->sampling = r.sampling;
    job->sampling.seed += i;  // each prompt its own stream, as `tinymamba generate` numbers a batch's rows
    job->max_tokens = r.max_tokens;
    job->stop = r.stop;
    job->logprobs = r.logprobs;
    jobs.push_back(std::move(job));
  }
  if (!scheduler->submit(jobs))
    throw ApiError(503, "the server is busy (its queue is full, or it is shutting down); retry later", "",
                   "server_error");
  ++metrics->requests;
  const json head = {{"id", cat("cmpl-", std::hex, ++next_id)},
                     {"object", "text_completion"},
                     {"created", static_cast<std::int64_t>(std::time(nullptr))},
                     {"model", options.model_name}};
  if (r.stream) return stream(res, r, std::move(jobs), head);

  json choices = json::array();
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    Job& job = *jobs[i];
    std::unique_lock lock(job.mutex);
    job.cv.wait(lock, [&] { return job.done; });
    if (!job.error.empty()) {
      for (auto& other : jobs) other->cancelled = true;
      throw ApiError(503, job.error, "", "server_error");
    }
    std::string text = r.echo ? tok->decode(job.prompt) : "";
    const auto echo_bytes = std::ssize(text);
    for (const Piece& p : job.pieces) text += p.text;
    choices.push_back({{"text", text},
                       {"index", i},
                       {"logprobs", r.logprobs >= 0 ? logprobs_json(*tok, job.pieces, echo_bytes) : json()},
                       {"finish_reason", finish_reason_name(job.finish)}});
  }
  json body = head;
  body["choices"] = std::move(choices);
  body["usage"] = usage_json(jobs);
  res.set_content(dump(body), "application/json");
}

// Server-Sent Events: "data: <chunk>\n\n" per piece of text, a last chunk per choice with its finish_reason,
// then "data: [DONE]". A failed write (the client went away) cancels the jobs, which frees their slots.
void HttpServer::Impl::stream(httplib::Response& res, const CompletionRequest& r, std::vector<std::shared_ptr<Job>> jobs,
                              const json& head) {
  struct State {
    std::vector<std::shared_ptr<Job>> jobs;
    std::vector<std::size_t> taken;      // pieces sent, per job
    std::vector<std::int64_t> offsets;   // text bytes sent, per job
    std::vector<bool> finished;          // final chunk sent, per job
  };
  auto st = std::make_shared<State>();
  st->taken.assign(jobs.size(), 0);
  st->offsets.assign(jobs.size(), 0);
  st->finished.assign(jobs.size(), false);
  st->jobs = std::move(jobs);
  const bool logprobs = r.logprobs >= 0, usage = r.stream_usage;
  const Tokenizer* t = tok;
  const auto chunk = [head](std::size_t index, const std::string& text, const json& lp, FinishReason finish) {
    json c = head;
    c["choices"] = json::array({{{"text", text},
                                 {"index", index},
                                 {"logprobs", lp},
                                 {"finish_reason", finish == FinishReason::none ? json() : json(finish_reason_name(finish))}}});
    return "data: " + dump(c) + "\n\n";
  };
  if (r.echo)
    for (std::size_t i = 0; i < st->jobs.size(); ++i) st->offsets[i] = -1;  // the prompt goes first
  res.set_header("Cache-Control", "no-cache");
  ++open_streams;
  res.set_chunked_content_provider(
      "text/event-stream",
      [st, chunk, logprobs, usage, head, t](std::size_t, httplib::DataSink& sink) {
        std::string out;
        bool all = true;
        for (std::size_t i = 0; i < st->jobs.size(); ++i) {
          Job& job = *st->jobs[i];
          if (st->finished[i]) continue;
          std::vector<Piece> fresh;
          bool done = false;
          FinishReason finish = FinishReason::none;
          std::string error;
          {
            std::lock_guard lock(job.mutex);
            fresh.assign(job.pieces.begin() + static_cast<std::ptrdiff_t>(st->taken[i]), job.pieces.end());
            st->taken[i] = job.pieces.size();
            done = job.done;
            finish = job.finish;
            error = job.error;
          }
          if (st->offsets[i] < 0) {
            const std::string prompt = t->decode(job.prompt);
            out += chunk(i, prompt, json(), FinishReason::none);
            st->offsets[i] = std::ssize(prompt);
          }
          for (const Piece& p : fresh) {
            if (p.text.empty() && !logprobs) continue;
            out += chunk(i, p.text, logprobs ? logprobs_json(*t, {&p, 1}, st->offsets[i]) : json(), FinishReason::none);
            st->offsets[i] += std::ssize(p.text);
          }
          if (done) {
            out += error.empty() ? chunk(i, "", json(), finish)
                                 : "data: " + dump(ApiError(503, error, "", "server_error").body()) + "\n\n";
            st->finished[i] = true;
          }
          all = all && st->finished[i];
        }
        if (!out.empty() && !sink.write(out.data(), out.size())) return false;
        if (all) {
          if (usage) {  // OpenAI's stream_options.include_usage: a last chunk with no choices
            json u = head;
            u["choices"] = json::array();
            u["usage"] = usage_json(st->jobs);
            out = "data: " + dump(u) + "\n\n";
            if (!sink.write(out.data(), out.size())) return false;
          }
          static constexpr char kDone[] = "data: [DONE]\n\n";
          if (!sink.write(kDone, sizeof kDone - 1)) return false;
          sink.done();
          return true;
        }
        if (out.empty()) {  // wait a little for the first unfinished job, then look again
          for (std::size_t i = 0; i < st->jobs.size(); ++i) {
            if (st->finished[i]) continue;
            Job& job = *st->jobs[i];
            std::unique_lock lock(job.mutex);
            job.cv.wait_for(lock, std::chrono::milliseconds(50),
                            [&] { return job.done || job.pieces.size() > st->taken[i]; });
            break;
          }
        }
        return true;
      },
      [st, this](bool) {
        for (auto& job : st->jobs) job->cancelled = true;
        --open_streams;
      });
}

}  // namespace tinymamba::server
