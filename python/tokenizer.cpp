// tinymamba.Tokenizer: the library's byte-level BPE tokenizer (tokenizer/tokenizer.hpp) from a tokenizer.json.
#include <pybind11/stl.h>

#include "bindings.hpp"

namespace tinymamba::python {

void bind_tokenizer(py::module_& m) {
  py::class_<Tokenizer, std::shared_ptr<Tokenizer>>(m, "Tokenizer", R"doc(
A byte-level BPE tokenizer (GPT-NeoX's and any of the same shape) read from a Hugging Face tokenizer.json.
encode() gives what Hugging Face's encode(text, add_special_tokens=False) gives; decode() keeps special tokens.)doc")
      .def_static(
          "from_file",
          [](const std::string& path) {
            py::gil_scoped_release nogil;
            return std::make_shared<Tokenizer>(Tokenizer::load(path));
          },
          py::arg("path"), "Reads a tokenizer.json; tinymamba.Error names the file and the problem.")
      .def(
          "encode",
          [](const Tokenizer& t, const std::string& text) {
            py::gil_scoped_release nogil;
            return t.encode(text);
          },
          py::arg("text"), "The token ids of text (a list of int); no special tokens are added.")
      .def(
          "decode",
          [](const Tokenizer& t, const py::object& ids) {
            std::vector<py::ssize_t> shape;
            const std::vector<std::int32_t> v = py::len(ids) == 0 ? std::vector<std::int32_t>{}
                                                                  : token_ids(ids, 1, "ids", shape);
            py::gil_scoped_release nogil;
            return t.decode(v);
          },
          py::arg("ids"),
          "The text of token ids (a list or 1-D integer array); ill-formed UTF-8 becomes U+FFFD. tinymamba.Error "
          "for an id outside [0, vocab_size).")
      .def_property_readonly("vocab_size", &Tokenizer::vocab_size, "Largest id + 1.")
      .def_property_readonly("eos_id", &Tokenizer::eos_id, "The id of <|endoftext|>, or None.")
      .def("__repr__", [](const Tokenizer& t) { return cat("tinymamba.Tokenizer(vocab_size=", t.vocab_size(), ")"); });
}

}  // namespace tinymamba::python
