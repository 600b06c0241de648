// The `tinymamba` Python module (pybind11): Model, State, Generation, Tokenizer, and tinymamba.Error. The classes
// are bound one per file; docs/python.md walks through them; tinymamba.pyi gives their types.
#include "bindings.hpp"
#include "tinymamba/core/error.hpp"

namespace py = pybind11;

PYBIND11_MODULE(tinymamba, m) {
  namespace tm = tinymamba::python;
  m.doc() = "tinymamba: a Mamba language model on the CPU — load, generate, forward, gradients, recurrent steps";
  m.attr("__version__") = TINYMAMBA_VERSION;
  // Everything the library refuses (a bad file, an id outside the vocabulary, a bad sampling value) with the
  // library's one-line message, the one the command prints after "tinymamba <command>: error: ".
  py::register_exception<tinymamba::Error>(m, "Error", PyExc_ValueError);
  tm::bind_tokenizer(m);
  tm::bind_state(m);
  tm::ModelClass model(m, "Model", R"doc(
A Mamba language model loaded by the library (Model.load): generation, the parallel forward, the loss and every
parameter's gradient, and the recurrent step, on numpy arrays. The GIL is released while it computes.)doc");
  tm::bind_model(m, model);
  tm::bind_generate(m, model);
}
