// tinymamba.Model: a model folder loaded by the library (io/model_folder.hpp) and the parallel and recurrent
// modes on numpy arrays: forward (model/lm.hpp lm_forward), loss_and_grads (lm_loss, lm_backward), step
// (model/lm_step.hpp), the parameters as views. Generation is generate.cpp's.
#include <pybind11/stl.h>

#include <filesystem>
#include <thread>

#include "bindings.hpp"
#include "tinymamba/core/file.hpp"
#include "tinymamba/core/parallel.hpp"
#include "tinymamba/io/model_folder.hpp"
#include "tinymamba/model/lm.hpp"

namespace tinymamba::python {
namespace {

std::shared_ptr<PyModel> load(const std::string& path, const std::string& dtype, std::optional<int> threads,
                              std::optional<std::string> tokenizer_path) {
  if (dtype != "f32") throw py::value_error("dtype: only \"f32\" is supported so far, got \"" + dtype + "\"");
  if (threads) {
    const int hardware = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (*threads < 1 || *threads > hardware)
      throw py::value_error(cat("threads: must be from 1 to the ", hardware, " hardware threads of this machine, got ",
                                *threads));
  }
  py::gil_scoped_release nogil;
  if (threads) set_num_threads(*threads);
  auto out = std::make_shared<PyModel>(PyModel{load_model(path), nullptr, path});
  // As `tinymamba generate`: the tokenizer given, else the folder's tokenizer.json when there is one.
  const std::string beside = (std::filesystem::path(path) / "tokenizer.json").string();
  if (!tokenizer_path && path_kind(beside) != PathKind::missing) tokenizer_path = beside;
  if (tokenizer_path) {
    out->tokenizer = std::make_shared<Tokenizer>(Tokenizer::load(*tokenizer_path));
    TM_CHECK(out->tokenizer->vocab_size() <= out->model.config.padded_vocab(), *tokenizer_path, ": ",
             out->tokenizer->vocab_size(), " token ids do not fit the model's vocabulary of ",
             out->model.config.padded_vocab());
  }
  return out;
}

// The Config's fields under their (official) names; padded_vocab_size is the logits' last dimension.
py::dict config_dict(const Config& c) {
  py::dict d;
  d["mixer"] = "mamba1";
  d["d_model"] = c.d_model;
  d["n_layer"] = c.n_layer;
  d["vocab_size"] = c.vocab_size;
  d["pad_vocab_size_multiple"] = c.pad_vocab_size_multiple;
  d["padded_vocab_size"] = c.padded_vocab();
  d["d_state"] = c.d_state;
  d["d_conv"] = c.d_conv;
  d["expand"] = c.expand;
  d["d_inner"] = c.d_inner;
  d["dt_rank"] = c.dt_rank;
  d["conv_bias"] = c.conv_bias;
  d["bias"] = c.bias;
  d["norm_eps"] = c.norm_eps;
  d["tie_embeddings"] = c.tie_embeddings;
  d["rms_norm"] = c.rms_norm;
  d["residual_in_fp32"] = c.residual_in_fp32;
  d["fused_add_norm"] = c.fused_add_norm;
  d["parameter_count"] = c.parameter_count();
  return d;
}

// Refuses a state whose shapes are not this model's (one made by another model).
void check_state(const PyModel& pm, const PyState& s) {
  const Config& a = pm.model.config;
  const Config& b = s.config;
  if (a.n_layer != b.n_layer || InferenceState::conv_size(a) != InferenceState::conv_size(b) ||
      InferenceState::ssm_size(a) != InferenceState::ssm_size(b) || a.d_conv != b.d_conv || a.d_state != b.d_state)
    throw py::value_error("state: made by a model of another shape (use this model's new_state)");
}

py::array_t<float> forward(PyModel& pm, const py::object& ids_obj, const std::shared_ptr<PyState>& state) {
  std::vector<py::ssize_t> shape;
  const auto ids = token_ids(ids_obj, 2, "ids", shape);
  if (state) check_state(pm, *state);
  const std::int64_t V = pm.model.config.padded_vocab();
  Buffer<float> logits;
  {
    py::gil_scoped_release nogil;
    std::unique_lock<std::mutex> lock;
    if (state) lock = std::unique_lock(state->busy);
    Activations acts;
    lm_forward(pm.model, ids, shape[0], shape[1], acts, {}, state ? &state->state : nullptr);
    logits = std::move(acts.logits);
  }
  return owning_array(std::move(logits), {shape[0], shape[1], V});
}

py::tuple loss_and_grads(PyModel& pm, const py::object& ids_obj) {
  std::vector<py::ssize_t> shape;
  const auto ids = token_ids(ids_obj, 2, "ids", shape);
  if (shape[1] < 2)
    throw py::value_error(cat("ids: a next-token loss needs at least 2 tokens per row, got ", shape[1]));
  auto* grads = new Buffer<float>(static_cast<std::size_t>(parameter_buffer_size(pm.model.layout)), 0.0f);
  const py::capsule owner(grads, [](void* p) { delete static_cast<Buffer<float>*>(p); });
  double loss = 0;
  {
    py::gil_scoped_release nogil;
    Activations acts;
    lm_forward(pm.model, ids, shape[0], shape[1], acts, {.for_backward = true});
    loss = lm_loss(pm.model, ids, acts);
    lm_backward(pm.model, ids, acts, grads->data(), kDefaultScan);
  }
  py::dict out;
  for (const ParamInfo& p : pm.model.layout)
    out[py::str(p.name)] = view_array(grads->data() + p.offset, {p.shape.begin(), p.shape.end()}, owner);
  return py::make_tuple(loss, out);
}

py::array_t<float> step(PyModel& pm, PyState& s, const py::object& ids_obj) {
  std::vector<py::ssize_t> shape;
  const auto ids = token_ids(ids_obj, 1, "ids", shape);
  check_state(pm, s);
  Buffer<float> logits;
  {
    py::gil_scoped_release nogil;
    const std::lock_guard lock(s.busy);
    lm_step(pm.model, ids, s.state, s.acts);
    logits.assign(s.acts.logits.begin(), s.acts.logits.end());  // acts.logits is the next step's buffer
  }
  return owning_array(std::move(logits), {shape[0], pm.model.config.padded_vocab()});
}

}  // namespace

void bind_model(py::module_& m, ModelClass& cls) {
  cls.def_static("load", &load, py::arg("path"), py::arg("dtype") = "f32", py::arg("threads") = py::none(),
                 py::arg("tokenizer") = py::none(), R"doc(
Loads a model folder as the tinymamba command does: config.json (official or Hugging Face) with
model.safetensors, a sharded model.safetensors.index.json, or pytorch_model.bin; F32/F16/BF16 tensors become
float32. The tokenizer is `tokenizer` (a tokenizer.json) if given, else the folder's tokenizer.json if it has one.

dtype: the weights' type in memory; only "f32" so far (others raise ValueError until the library has them).
threads: the library's worker threads for the whole process (default: all cores, or OMP_NUM_THREADS).
Raises tinymamba.Error naming the file and the problem for anything wrong with the folder.)doc")
      .def_property_readonly("config", [](const PyModel& pm) { return config_dict(pm.model.config); },
                             "The model's configuration as a dict (official MambaConfig names, flattened).")
      .def_property_readonly("tokenizer", [](const PyModel& pm) { return pm.tokenizer; },
                             "The tokenizer loaded with the model, or None.")
      .def_property_readonly("path", [](const PyModel& pm) { return pm.path; })
      .def("forward", &forward, py::arg("ids"), py::arg("state") = py::none(), R"doc(
Logits, float32 (b, l, V) with V = config["padded_vocab_size"], of the parallel forward over int ids (b, l).
With a state (batch b) each row continues from it and the state absorbs the tokens (a prefill).)doc")
      .def("loss_and_grads", &loss_and_grads, py::arg("ids"), R"doc(
(loss, grads): the mean next-token cross-entropy of ids (b, l), l >= 2, and d loss / d parameter for every
parameter under its official name; the arrays are views into one buffer. A tied embedding's gradient is the total
(embedding + lm_head).)doc")
      .def(
          "parameters",
          [](py::object self) {
            auto& pm = self.cast<PyModel&>();
            pm.model.make_owned();  // writable views: a copy of the matrices used in place from the file
            py::dict out;
            for (const ParamInfo& p : pm.model.layout)
              out[py::str(p.name)] = view_array(pm.model.params.data() + p.offset, {p.shape.begin(), p.shape.end()}, self);
            return out;
          },
          R"doc(Every parameter under its official name as a float32 view into the model (no copy): writing to it
changes the model. Tied embeddings have no "lm_head.weight".)doc")
      .def(
          "new_state",
          [](const PyModel& pm, std::int64_t batch) {
            if (batch < 1) throw py::value_error(cat("batch: must be at least 1, got ", batch));
            auto s = std::make_shared<PyState>();
            s->config = pm.model.config;
            s->state = InferenceState(pm.model.config, batch);
            return s;
          },
          py::arg("batch") = 1, "A zero recurrent state for `batch` sequences (no tokens absorbed).")
      .def("step", &step, py::arg("state"), py::arg("ids"), R"doc(
One token per sequence through the recurrent mode: ids (b,) -> logits float32 (b, V); the state (batch b)
absorbs them. O(1) work and memory per token.)doc")
      .def("__repr__", [](const PyModel& pm) {
        const Config& c = pm.model.config;
        return cat("tinymamba.Model('", pm.path, "', d_model=", c.d_model, ", n_layer=", c.n_layer,
                   ", vocab_size=", c.vocab_size, ")");
      });
}

}  // namespace tinymamba::python
