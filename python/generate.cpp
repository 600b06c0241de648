// Model.generate: text generation on the library's engine (generate/engine.hpp), as `tinymamba generate` runs it
// for one prompt: the aligned prefill (engine.hpp), then one recurrent step per token, the text streamed by the
// tokenizer's streaming decoder. Between two chunks or steps the GIL is taken back to look for Ctrl-C.
#include <pybind11/stl.h>

#include <random>

#include "bindings.hpp"
#include "tinymamba/generate/engine.hpp"

namespace tinymamba::python {
namespace {

// One generation in progress; as a Python iterator it yields the text of each step (skipping steps whose token
// completes no character yet) until the sequence stops.
class Generation {
 public:
  Generation(std::shared_ptr<PyModel> owner, std::vector<std::int32_t> prompt, const SamplingParams& sampling,
             const StopRule& stop)
      : owner_(std::move(owner)),
        engine_(owner_->model, {.slots = 1, .prefill_chunk = kAlignedPrefillChunk}),
        seq_(std::move(prompt), sampling, stop, owner_->tokenizer->vocab_size(), owner_->tokenizer.get()) {
    for (bool ready = false; !ready && !seq_.finished();) {
      {
        py::gil_scoped_release nogil;
        ready = engine_.prefill(seq_, kAlignedPrefillChunk, PrefillBy::aligned);
      }
      check_signals();
    }
  }

  // The next non-empty piece of text, or nullopt once the sequence has stopped.
  std::optional<std::string> next() {
    Sequence* const seqs[] = {&seq_};
    while (seq_.ready()) {
      std::string text;
      {
        py::gil_scoped_release nogil;
        const std::lock_guard lock(busy_);
        text = std::move(engine_.step(seqs).front().text);
      }
      check_signals();
      if (!text.empty()) return text;
    }
    return std::nullopt;
  }

  [[nodiscard]] const Sequence& sequence() const { return seq_; }

 private:
  std::shared_ptr<PyModel> owner_;  // keeps the model (and tokenizer) alive while the iterator is
  Engine engine_;
  Sequence seq_;
  std::mutex busy_;  // one step at a time, whichever Python threads call next()
};

std::shared_ptr<Generation> start(const std::shared_ptr<PyModel>& pm, const std::string& prompt,
                                  std::int64_t max_tokens, float temperature, std::int64_t top_k, float top_p,
                                  float min_p, float repeat_penalty, std::optional<std::uint64_t> seed,
                                  bool ignore_eos) {
  if (!pm->tokenizer)
    throw py::value_error(cat(pm->path, ": no tokenizer: put tokenizer.json in the folder or pass "
                                        "Model.load(..., tokenizer=PATH)"));
  if (prompt.empty()) throw py::value_error("prompt: the prompt is empty");
  if (max_tokens < 0) throw py::value_error(cat("max_tokens: must be at least 0, got ", max_tokens));
  const SamplingParams sampling{.temperature = temperature, .top_k = top_k, .top_p = top_p, .min_p = min_p,
                                .repeat_penalty = repeat_penalty, .seed = seed ? *seed : std::random_device{}()};
  sampling.validate();
  const StopRule stop{.max_new_tokens = max_tokens,
                      .eos_id = ignore_eos ? std::nullopt : pm->tokenizer->eos_id()};
  std::vector<std::int32_t> ids;
  {
    py::gil_scoped_release nogil;
    ids = pm->tokenizer->encode(prompt);
  }
  if (ids.empty()) throw py::value_error("prompt: the prompt encodes to no tokens");
  return std::make_shared<Generation>(pm, std::move(ids), sampling, stop);
}

}  // namespace

void bind_generate(py::module_& m, ModelClass& cls) {
  py::class_<Generation, std::shared_ptr<Generation>>(m, "Generation", R"doc(
An iterator over the text pieces of a generation in progress (Model.generate(..., stream=True)).)doc")
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__",
           [](Generation& g) {
             auto piece = g.next();
             if (!piece) throw py::stop_iteration();
             return *piece;
           })
      .def_property_readonly(
          "tokens", [](const Generation& g) { auto t = g.sequence().generated(); return std::vector<std::int32_t>(t.begin(), t.end()); },
          "The ids generated so far.")
      .def_property_readonly("finish_reason",
                             [](const Generation& g) { return std::string(finish_reason_name(g.sequence().finish_reason())); },
                             "\"stop\" (the end-of-text token), \"length\" (max_tokens), or \"\" while running.");

  cls.def(
      "generate",
      [](const std::shared_ptr<PyModel>& pm, const std::string& prompt, std::int64_t max_tokens, float temperature,
         std::int64_t top_k, float top_p, float min_p, float repeat_penalty, std::optional<std::uint64_t> seed,
         bool stream, bool ignore_eos) -> py::object {
        auto g = start(pm, prompt, max_tokens, temperature, top_k, top_p, min_p, repeat_penalty, seed, ignore_eos);
        if (stream) return py::cast(g);
        std::string text;
        while (auto piece = g->next()) text += *piece;
        return py::str(text);
      },
      py::arg("prompt"), py::arg("max_tokens") = 128, py::arg("temperature") = 0.8f, py::arg("top_k") = 40,
      py::arg("top_p") = 0.95f, py::arg("min_p") = 0.0f, py::arg("repeat_penalty") = 1.0f,
      py::arg("seed") = py::none(), py::arg("stream") = false, py::arg("ignore_eos") = false, R"doc(
The text the model continues `prompt` with (without the prompt), as `tinymamba generate -p PROMPT` prints it
after the prompt: up to max_tokens tokens, stopping early at the tokenizer's end-of-text token unless ignore_eos.
Sampling (docs/sampling.md), with the command's defaults: temperature (0 = greedy), top_k (0 = off), top_p
(1 = off), min_p (0 = off), repeat_penalty (1 = off); seed (0 .. 2**64-1) makes the run replay, the same as the
command's --seed; None draws a random one. stream=True returns a Generation, an iterator of text pieces as they
are produced. Ctrl-C interrupts (KeyboardInterrupt); a bad sampling value raises tinymamba.Error naming it.)doc");
}

}  // namespace tinymamba::python
