// bertrt.Model's packed batches: sequences of different lengths back to back in [N] / [N, H] rows,
// sequence b at rows offsets[b] .. offsets[b + 1] (bertrt.h, "Packed batches"). Work runs without
// the GIL; shapes are checked here, offsets by the library.
#include "packed.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

namespace bertrt_python {
namespace {

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;
using IdArray = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

[[noreturn]] void shape_error(const std::string& message) {
  throw Error(BERTRT_ERROR_SHAPE, "BERTRT_ERROR_SHAPE: " + message);
}

IdArray ids_1d(const py::handle& obj, const char* name) {
  py::array a = py::array::ensure(obj);
  if (!a) throw py::type_error(std::string(name) + " must be an array of integers");
  const char kind = a.dtype().kind();
  if (kind != 'i' && kind != 'u')
    throw py::type_error(std::string(name) + " must have an integer dtype, not " + std::string(py::str(a.dtype())));
  IdArray r = IdArray::ensure(a);
  if (r.ndim() != 1) shape_error(std::string(name) + " must be 1-D, got " + std::to_string(r.ndim()) + " dimensions");
  return r;
}

// Rows [N, width] of floats.
FloatArray rows_2d(const py::handle& obj, const char* name, size_t width) {
  py::array a = py::array::ensure(obj);
  if (!a || a.dtype().kind() != 'f') throw py::type_error(std::string(name) + " must be an array of floats");
  FloatArray r = FloatArray::ensure(a);
  if (r.ndim() != 2 || static_cast<size_t>(r.shape(1)) != width)
    shape_error(std::string(name) + " must be [N, " + std::to_string(width) + "]");
  return r;
}

// offsets [B + 1] with B >= 1; N = offsets[-1] must match the rows given.
struct Layout {
  IdArray offsets;
  size_t batch = 0, rows = 0;
};
Layout layout(const py::handle& obj, size_t rows) {
  Layout l{ids_1d(obj, "offsets")};
  if (l.offsets.shape(0) < 2) shape_error("offsets must hold batch + 1 >= 2 values");
  l.batch = static_cast<size_t>(l.offsets.shape(0) - 1);
  const int64_t last = l.offsets.at(l.offsets.shape(0) - 1);
  if (last < 0 || static_cast<size_t>(last) != rows)
    shape_error("offsets[-1] = " + std::to_string(last) + " but " + std::to_string(rows) + " rows were given");
  l.rows = rows;
  return l;
}

std::optional<IdArray> companion(const py::object& obj, const char* name, size_t rows) {
  if (obj.is_none()) return std::nullopt;
  IdArray a = ids_1d(obj, name);
  if (static_cast<size_t>(a.shape(0)) != rows)
    shape_error(std::string(name) + " has " + std::to_string(a.shape(0)) + " rows, expected " + std::to_string(rows));
  return a;
}

const int64_t* ptr(const std::optional<IdArray>& a) { return a ? a->data() : nullptr; }

py::array_t<float> floats(std::vector<py::ssize_t> shape) { return py::array_t<float>(shape); }

py::dict forward_packed(PyModel& m, const py::object& input_ids, const py::object& offsets,
                        const py::object& inputs_embeds, const py::object& token_type_ids,
                        const py::object& position_ids, bool output_hidden_states) {
  if (input_ids.is_none() == inputs_embeds.is_none())
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "BERTRT_ERROR_INVALID_ARGUMENT: give exactly one of input_ids and "
                                               "inputs_embeds");
  std::optional<IdArray> ids;
  std::optional<FloatArray> embeds;
  size_t n = 0;
  if (!input_ids.is_none()) {
    ids = ids_1d(input_ids, "input_ids");
    n = static_cast<size_t>(ids->shape(0));
  } else {
    embeds = rows_2d(inputs_embeds, "inputs_embeds", m.embedding());
    n = static_cast<size_t>(embeds->shape(0));
  }
  const Layout l = layout(offsets, n);
  auto types = companion(token_type_ids, "token_type_ids", n);
  auto positions = companion(position_ids, "position_ids", n);
  const size_t H = m.hidden(), L = m.layers();
  const py::ssize_t N = py::ssize_t(n), B = py::ssize_t(l.batch);
  auto last = floats({N, py::ssize_t(H)});
  py::array_t<float> pooled, states, logits;
  bertrt_forward_outputs out{};
  out.last_hidden_state = last.mutable_data();
  if (m.config().has_pooler) {
    pooled = floats({B, py::ssize_t(H)});
    out.pooler_output = pooled.mutable_data();
  }
  if (output_hidden_states) {
    states = floats({py::ssize_t(L + 1), N, py::ssize_t(H)});
    out.hidden_states = states.mutable_data();
  }
  const bertrt_head_info head = m.model().head_info();
  if (head.kind != BERTRT_HEAD_NONE) {
    logits = floats({head.kind == BERTRT_HEAD_SEQUENCE ? B : N, py::ssize_t(head.logits_size)});
    out.logits = logits.mutable_data();
  }
  bertrt_packed_inputs in{};
  in.input_ids = ids ? ids->data() : nullptr;
  in.inputs_embeds = embeds ? embeds->data() : nullptr;
  in.token_type_ids = ptr(types);
  in.position_ids = ptr(positions);
  in.offsets = l.offsets.data();
  in.batch = l.batch;
  {
    py::gil_scoped_release release;
    Lease s = m.acquire();
    s->forward_packed(in, out);
  }
  py::dict d;
  d["last_hidden_state"] = last;
  if (m.config().has_pooler) d["pooler_output"] = pooled;
  if (output_hidden_states) d["hidden_states"] = states;
  if (head.kind != BERTRT_HEAD_NONE) d["logits"] = logits;
  return d;
}

py::array_t<float> encode_packed(PyModel& m, const py::object& hidden, const py::object& offsets) {
  const size_t H = m.hidden();
  const FloatArray h = rows_2d(hidden, "hidden", H);
  const Layout l = layout(offsets, static_cast<size_t>(h.shape(0)));
  auto last = floats({py::ssize_t(l.rows), py::ssize_t(H)});
  const std::span<float> out(last.mutable_data(), l.rows * H);
  {
    py::gil_scoped_release release;
    Lease s = m.acquire();
    s->encode_packed({h.data(), l.rows * H}, {l.offsets.data(), l.batch + 1}, out);
  }
  return last;
}

py::array_t<float> pool_packed(PyModel& m, const py::object& hidden, const py::object& offsets,
                               const std::optional<std::string>& mode, std::optional<bool> normalize) {
  const size_t H = m.hidden();
  const FloatArray h = rows_2d(hidden, "last_hidden_state", H);
  const Layout l = layout(offsets, static_cast<size_t>(h.shape(0)));
  bertrt_pool_mode pm = m.config().default_pool;
  if (mode && bertrt_pool_mode_from_name(mode->c_str(), &pm) != BERTRT_OK)
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "BERTRT_ERROR_INVALID_ARGUMENT: unknown pooling '" + *mode +
                                                   "' (cls, mean, max or pooler)");
  auto pooled = floats({py::ssize_t(l.batch), py::ssize_t(H)});
  const std::span<float> out(pooled.mutable_data(), l.batch * H);
  {
    py::gil_scoped_release release;
    Lease s = m.acquire();
    s->pool_packed({h.data(), l.rows * H}, {l.offsets.data(), l.batch + 1}, pm, normalize.value_or(false), out);
  }
  return pooled;
}

}  // namespace

void bind_packed_methods(py::class_<PyModel>& cls) {
  cls.def("forward_packed", &forward_packed, py::arg("input_ids") = py::none(), py::arg("offsets"),
          py::arg("inputs_embeds") = py::none(), py::arg("token_type_ids") = py::none(),
          py::arg("position_ids") = py::none(), py::arg("output_hidden_states") = false,
          "forward() over a packed batch: sequences of different lengths back to back, sequence b at rows\n"
          "offsets[b]:offsets[b+1] of input_ids [N] (or inputs_embeds [N, E]); no padding. Returns\n"
          "last_hidden_state [N, H], pooler_output [B, H] (models with a pooler), hidden_states\n"
          "[L+1, N, H] when asked, logits ([B, L] sequence head, else [N, L] / [N, V]). Each sequence's\n"
          "rows equal its own forward within float32 rounding.")
      .def("encode_packed", &encode_packed, py::arg("hidden"), py::arg("offsets"),
           "The encoder layers over packed rows hidden [N, H] (sequence b at offsets[b]:offsets[b+1]).")
      .def("pool_packed", &pool_packed, py::arg("last_hidden_state"), py::arg("offsets"),
           py::arg("mode") = py::none(), py::arg("normalize") = py::none(),
           "Pooled vectors [B, H] of packed rows (mode: cls, mean, max, pooler; default the model's).");
}

}  // namespace bertrt_python
