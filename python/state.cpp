// tinymamba.State: the recurrent state of a batch of sequences (model/inference_state.hpp), made by
// Model.new_state and advanced by Model.step and Model.forward(ids, state=...).
#include <pybind11/stl.h>

#include "bindings.hpp"

namespace tinymamba::python {
namespace {

// Per layer, views of one of the state's buffers as (batch, channels, last_dim).
py::list layer_views(py::handle self, std::vector<Buffer<float>>& buffers, std::int64_t batch, std::int64_t last_dim) {
  py::list out;
  for (Buffer<float>& b : buffers) {
    const auto per_sequence = static_cast<py::ssize_t>(b.size()) / batch;
    out.append(view_array(b.data(), {batch, per_sequence / last_dim, last_dim}, self));
  }
  return out;
}

}  // namespace

void bind_state(py::module_& m) {
  py::class_<PyState, std::shared_ptr<PyState>>(m, "State", R"doc(
The recurrent state of `batch` sequences (Model.new_state): per layer the last d_conv pre-conv inputs and the
SSM state, fixed-size whatever the number of tokens absorbed (paper §3.4).)doc")
      .def_property_readonly("batch", [](const PyState& s) { return s.state.batch; })
      .def_property_readonly("tokens_seen", [](const PyState& s) { return s.state.tokens_seen; },
                             "How many tokens (per sequence) the state has absorbed.")
      .def_property_readonly(
          "conv",
          [](py::object self) {
            auto& s = self.cast<PyState&>();
            return layer_views(self, s.state.conv, s.state.batch, s.config.d_conv);
          },
          "Per layer a float32 view (batch, channels, d_conv) of the conv state, oldest input first (the official "
          "conv_state); for Mamba-1 channels = d_inner. Writing to it changes the state.")
      .def_property_readonly(
          "ssm",
          [](py::object self) {
            auto& s = self.cast<PyState&>();
            return layer_views(self, s.state.ssm, s.state.batch, s.config.d_state);
          },
          "Per layer a float32 view (batch, channels, d_state) of the SSM state h (the official ssm_state); for "
          "Mamba-1 channels = d_inner. Writing to it changes the state.")
      .def(
          "copy",
          [](PyState& s) {
            auto out = std::make_shared<PyState>();
            py::gil_scoped_release nogil;
            const std::lock_guard lock(s.busy);
            out->config = s.config;
            out->state = s.state;
            return out;
          },
          "An independent copy: stepping one leaves the other where it was (a snapshot to roll back to).")
      .def(
          "reset",
          [](PyState& s) {
            py::gil_scoped_release nogil;
            const std::lock_guard lock(s.busy);
            s.state.reset();
          },
          "Back to the zero state of no tokens.")
      .def("__repr__", [](const PyState& s) {
        return cat("tinymamba.State(batch=", s.state.batch, ", tokens_seen=", s.state.tokens_seen, ")");
      });
}

}  // namespace tinymamba::python
