// What the Python module's files share: the objects Python holds, the conversions between numpy arrays and the
// library's buffers, and one bind_* function per Python class (each in its own file).
//
// Rules every binding follows:
//   - the library's Error becomes tinymamba.Error (a ValueError) with the library's one-line message unchanged;
//     a bad argument caught here is a ValueError or TypeError naming the argument;
//   - compute runs without the GIL (other Python threads go on), arguments are read before it is released;
//   - arrays handed out are views where the docstring says so (base: the object that owns the memory), else they
//     own a buffer the library filled (no copy either way).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tinymamba/core/buffer.hpp"
#include "tinymamba/model/inference_state.hpp"
#include "tinymamba/model/lm_step.hpp"
#include "tinymamba/model/model.hpp"
#include "tinymamba/tokenizer/tokenizer.hpp"

namespace tinymamba::python {

namespace py = pybind11;

// tinymamba.Model: a loaded model and the tokenizer found beside it (none when its folder has no tokenizer.json).
struct PyModel {
  Model model;
  std::shared_ptr<Tokenizer> tokenizer;
  std::string path;
};

// tinymamba.State: the recurrent state of `batch` sequences and the step's reused buffers. `busy` is held while a
// call uses it, so two Python threads stepping one state take turns instead of racing on its buffers.
struct PyState {
  Config config;  // the model's that made it: the shapes of conv and ssm
  InferenceState state;
  StepActivations acts;
  std::mutex busy;
};

// Token ids from a numpy array (or anything numpy converts) of integers with `ndim` dimensions: row-major int32,
// the shape in `shape`. TypeError for a non-integer dtype, ValueError naming `what` for a wrong number of
// dimensions, an empty array or a value that is no int32 token id; the vocabulary is the library's to check.
[[nodiscard]] std::vector<std::int32_t> token_ids(const py::handle& obj, int ndim, const char* what,
                                                  std::vector<py::ssize_t>& shape);

// A numpy array that takes over `buf` (no copy); it frees the buffer when numpy frees the array.
[[nodiscard]] py::array_t<float> owning_array(Buffer<float>&& buf, std::vector<py::ssize_t> shape);
// A writable view of `data` whose numpy base is `owner` (kept alive as long as the view).
[[nodiscard]] py::array_t<float> view_array(float* data, std::vector<py::ssize_t> shape, py::handle owner);

// Raises KeyboardInterrupt (or whatever a signal handler raised) if a signal arrived: called between the steps of
// long work, with the GIL held.
void check_signals();

using ModelClass = py::class_<PyModel, std::shared_ptr<PyModel>>;
void bind_tokenizer(py::module_& m);
void bind_state(py::module_& m);
void bind_model(py::module_& m, ModelClass& cls);
void bind_generate(py::module_& m, ModelClass& cls);

}  // namespace tinymamba::python
