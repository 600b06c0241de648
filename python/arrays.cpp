// numpy arrays <-> the library's buffers (bindings.hpp).
#include <limits>

#include "bindings.hpp"

namespace tinymamba::python {

std::vector<std::int32_t> token_ids(const py::handle& obj, int ndim, const char* what,
                                    std::vector<py::ssize_t>& shape) {
  const py::array any = py::array::ensure(obj);
  if (!any) throw py::type_error(std::string(what) + ": expected an array of integer token ids");
  const char kind = any.dtype().kind();
  if (kind != 'i' && kind != 'u')
    throw py::type_error(std::string(what) + ": token ids must be integers, got dtype " +
                         py::str(any.dtype()).cast<std::string>());
  if (any.ndim() != ndim)
    throw py::value_error(cat(what, ": expected ", ndim, " dimension", ndim == 1 ? "" : "s",
                              ndim == 2 ? " (batch, length)" : " (batch,)", ", got ", any.ndim()));
  if (any.size() == 0) throw py::value_error(cat(what, ": no token ids (an empty array)"));
  const auto ids = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(any);
  shape.assign(any.shape(), any.shape() + any.ndim());
  const std::int64_t* v = ids.data();
  std::vector<std::int32_t> out(static_cast<std::size_t>(ids.size()));
  for (std::size_t i = 0; i < out.size(); ++i) {
    // uint64 ids above 2^63 arrive negative: refused here too.
    if (v[i] < 0 || v[i] > std::numeric_limits<std::int32_t>::max())
      throw py::value_error(cat(what, ": flat index ", i, " holds ", v[i], ", which is not a token id"));
    out[i] = static_cast<std::int32_t>(v[i]);
  }
  return out;
}

py::array_t<float> owning_array(Buffer<float>&& buf, std::vector<py::ssize_t> shape) {
  auto* heap = new Buffer<float>(std::move(buf));
  const py::capsule owner(heap, [](void* p) { delete static_cast<Buffer<float>*>(p); });
  return py::array_t<float>(std::move(shape), heap->data(), owner);
}

py::array_t<float> view_array(float* data, std::vector<py::ssize_t> shape, py::handle owner) {
  return py::array_t<float>(std::move(shape), data, owner);
}

void check_signals() {
  if (PyErr_CheckSignals() != 0) throw py::error_already_set();
}

}  // namespace tinymamba::python
