// The bertrt Python module: numpy arrays in, numpy arrays out, every stage of the C API a method.
//
// Arrays: ids, masks and positions accept any integer (or bool) dtype and are converted to int64;
// vectors accept any floating dtype and are converted to float32 (a C-contiguous float32 array is
// used without a copy). 1-D ids [T] and 2-D vectors [T, H] are taken as a batch of one.
// Computation runs with the GIL released; a Model keeps a pool of sessions, one per concurrent
// caller, so Python threads run in parallel on one Model.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "bertrt/bertrt.hpp"
#include "bertrt/convert.h"
#include "pymodel.h"
#include "packed.h"
#include "verbs.h"

namespace py = pybind11;

namespace {

using bertrt::Error;
using bertrt_python::Lease;
using bertrt_python::PyModel;
using bertrt_python::text_list;
using bertrt_python::tokenize;
using IdArray = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;
using VecArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

// bertrt.Error (a RuntimeError subclass); created once, kept for the life of the process.
PyObject* g_error_type = nullptr;

bool is_value_error(bertrt_status s) {
  switch (s) {
    case BERTRT_ERROR_SHAPE:
    case BERTRT_ERROR_TOKEN_ID:
    case BERTRT_ERROR_TOKEN_TYPE:
    case BERTRT_ERROR_POSITION:
    case BERTRT_ERROR_SEQUENCE_TOO_LONG:
    case BERTRT_ERROR_NON_FINITE:
    case BERTRT_ERROR_INVALID_UTF8:
    case BERTRT_ERROR_ATTENTION_MASK:
    case BERTRT_ERROR_INVALID_ARGUMENT:
      return true;
    default:
      return false;
  }
}

// Raises the Python exception for a status, with a `status` attribute naming it.
void raise_status(bertrt_status status, const char* message) {
  PyObject* type = is_value_error(status)                  ? PyExc_ValueError
                   : status == BERTRT_ERROR_OUT_OF_MEMORY ? PyExc_MemoryError
                                                           : g_error_type;
  PyObject* instance = PyObject_CallFunction(type, "s", message);
  if (instance == nullptr) return;  // the call set an exception already
  PyObject* name = PyUnicode_FromString(bertrt_status_str(status));
  if (name != nullptr) {
    PyObject_SetAttrString(instance, "status", name);
    Py_DECREF(name);
  }
  PyErr_SetObject(type, instance);
  Py_DECREF(instance);
}

[[noreturn]] void shape_error(const std::string& message) { throw Error(BERTRT_ERROR_SHAPE, "BERTRT_ERROR_SHAPE: " + message); }

// ------------------------------------------------------------------------------------ arrays

struct Ids {
  IdArray array;
  size_t batch = 0, seq_len = 0;
  const int64_t* data() const { return array.data(); }
};

struct Vecs {
  VecArray array;
  size_t batch = 0, seq_len = 0;
  const float* data() const { return array.data(); }
};

IdArray to_int64(const py::handle& obj, const char* name) {
  py::array a = py::array::ensure(obj);
  if (!a) throw py::type_error(std::string(name) + " must be an array of integers");
  const char kind = a.dtype().kind();
  if (kind != 'i' && kind != 'u' && kind != 'b')
    throw py::type_error(std::string(name) + " must have an integer dtype, not " + std::string(py::str(a.dtype())));
  return IdArray::ensure(a);
}

VecArray to_float32(const py::handle& obj, const char* name) {
  py::array a = py::array::ensure(obj);
  if (!a) throw py::type_error(std::string(name) + " must be an array of floats");
  if (a.dtype().kind() != 'f')
    throw py::type_error(std::string(name) + " must have a floating dtype, not " + std::string(py::str(a.dtype())));
  return VecArray::ensure(a);
}

// [T] -> [1, T]; [B, T].
Ids ids_2d(const py::handle& obj, const char* name) {
  Ids r{to_int64(obj, name)};
  if (r.array.ndim() == 1) {
    r.batch = 1;
    r.seq_len = static_cast<size_t>(r.array.shape(0));
  } else if (r.array.ndim() == 2) {
    r.batch = static_cast<size_t>(r.array.shape(0));
    r.seq_len = static_cast<size_t>(r.array.shape(1));
  } else {
    shape_error(std::string(name) + " must be [B, T] or [T], got " + std::to_string(r.array.ndim()) + " dimensions");
  }
  return r;
}

// An optional [B, T] companion of a batch (1-D allowed when B is 1). None: empty.
std::optional<IdArray> companion(const py::object& obj, const char* name, size_t batch, size_t seq_len) {
  if (obj.is_none()) return std::nullopt;
  Ids r = ids_2d(obj, name);
  if (r.batch != batch || r.seq_len != seq_len)
    shape_error(std::string(name) + " has shape [" + std::to_string(r.batch) + ", " + std::to_string(r.seq_len) +
                "], expected [" + std::to_string(batch) + ", " + std::to_string(seq_len) + "]");
  return std::move(r.array);
}

// [T, H] -> [1, T, H]; [B, T, H]; the last dimension must be H.
// width_name: what the last dimension must match ("hidden size", or "embedding_size" for lookup's
// and embed's vectors, narrower than H for ELECTRA).
Vecs vecs_3d(const py::handle& obj, const char* name, size_t hidden, const char* width_name = "hidden size") {
  Vecs r{to_float32(obj, name)};
  const auto nd = r.array.ndim();
  if (nd == 2) {
    r.batch = 1;
    r.seq_len = static_cast<size_t>(r.array.shape(0));
  } else if (nd == 3) {
    r.batch = static_cast<size_t>(r.array.shape(0));
    r.seq_len = static_cast<size_t>(r.array.shape(1));
  } else {
    shape_error(std::string(name) + " must be [B, T, H] or [T, H], got " + std::to_string(nd) + " dimensions");
  }
  if (static_cast<size_t>(r.array.shape(nd - 1)) != hidden)
    shape_error(std::string(name) + " has last dimension " + std::to_string(r.array.shape(nd - 1)) +
                ", the model's " + width_name + " is " + std::to_string(hidden));
  return r;
}

const int64_t* ptr(const std::optional<IdArray>& a) { return a ? a->data() : nullptr; }
template <typename T>
std::span<const T> span_of(const py::array_t<T, py::array::c_style | py::array::forcecast>& a) {
  return {a.data(), static_cast<size_t>(a.size())};
}
std::span<const int64_t> span_of(const std::optional<IdArray>& a) {
  return a ? std::span<const int64_t>(a->data(), static_cast<size_t>(a->size())) : std::span<const int64_t>{};
}

py::array_t<float> new_floats(std::vector<py::ssize_t> shape) { return py::array_t<float>(shape); }
std::span<float> span_of(py::array_t<float>& a) { return {a.mutable_data(), static_cast<size_t>(a.size())}; }

// A pool-mode name ("cls", "mean", "max", "pooler") as its enum (bertrt_pool_mode_from_name).
bertrt_pool_mode parse_pool(const std::string& mode) {
  bertrt_pool_mode m = BERTRT_POOL_MEAN;
  const bertrt_status status = bertrt_pool_mode_from_name(mode.c_str(), &m);
  if (status != BERTRT_OK)
    throw Error(status, std::string(bertrt_status_str(status)) + ": pooling: " + bertrt_last_error());
  return m;
}

const char* activation_name(bertrt_activation a) {
  switch (a) {
    case BERTRT_ACTIVATION_GELU: return "gelu";
    case BERTRT_ACTIVATION_GELU_TANH: return "gelu_tanh";
    case BERTRT_ACTIVATION_RELU: return "relu";
    default: break;
  }
  return "gelu";
}

py::dict config_dict(const bertrt_config& c) {
  py::dict d;
  d["vocab_size"] = c.vocab_size;
  d["hidden_size"] = c.hidden_size;
  d["num_hidden_layers"] = c.num_hidden_layers;
  d["num_attention_heads"] = c.num_attention_heads;
  d["intermediate_size"] = c.intermediate_size;
  d["max_position_embeddings"] = c.max_position_embeddings;
  d["type_vocab_size"] = c.type_vocab_size;
  d["pad_token_id"] = c.pad_token_id;
  d["layer_norm_eps"] = c.layer_norm_eps;
  d["hidden_act"] = activation_name(c.hidden_act);
  d["has_pooler"] = c.has_pooler != 0;
  d["default_pool"] = bertrt::pool_mode_name(c.default_pool);
  d["default_normalize"] = c.default_normalize != 0;
  d["weight_dtype"] = c.weight_dtype ? c.weight_dtype : "";
  d["family"] = c.family ? c.family : "bert";
  d["embedding_size"] = c.embedding_size;
  d["max_sequence_length"] = c.max_sequence_length;
  return d;
}

// ------------------------------------------------------------------------------------ stages

py::array_t<float> lookup(PyModel& m, const py::object& input_ids) {
  Ids ids = ids_2d(input_ids, "input_ids");
  const size_t H = m.embedding();
  auto out = new_floats({py::ssize_t(ids.batch), py::ssize_t(ids.seq_len), py::ssize_t(H)});
  auto o = span_of(out);
  {
    py::gil_scoped_release release;
    Lease s = m.acquire();
    s->lookup(span_of(ids.array), ids.batch, ids.seq_len, o);
  }
  return out;
}

py::array_t<float> embed(PyModel& m, const py::object& inputs_embeds, const py::object& token_type_ids,
                         const py::object& position_ids) {
  const size_t H = m.embedding();
  Vecs e = vecs_3d(inputs_embeds, "inputs_embeds", H, "embedding_size");
  auto types = companion(token_type_ids, "token_type_ids", e.batch, e.seq_len);
  auto positions = companion(position_ids, "position_ids", e.batch, e.seq_len);
  auto out = new_floats({py::ssize_t(e.batch), py::ssize_t(e.seq_len), py::ssize_t(H)});
  auto o = span_of(out);
  {
    py::gil_scoped_release release;
    Lease s = m.acquire();
    s->embed(span_of(e.array), span_of(types), span_of(positions), e.batch, e.seq_len, o);
  }
  return out;
}

// ELECTRA's embeddings_project [B, T, E] -> [B, T, H]; a copy for models without one.
py::array_t<float> project(PyModel& m, const py::object& embedding_output) {
  Vecs e = vecs_3d(embedding_output, "embedding_output", m.embedding(), "embedding_size");
  auto out = new_floats({py::ssize_t(e.batch), py::ssize_t(e.seq_len), py::ssize_t(m.hidden())});
  auto o = span_of(out);
  {
    py::gil_scoped_release release;
    Lease s = m.acquire();
    s->project(span_of(e.array), e.batch, e.seq_len, o);
  }
  return out;
}

// Splits [N, ...] into a tuple of N views.
py::tuple split_first(const py::array_t<float>& all) {
  const auto n = all.shape(0);
  py::tuple t(n);
  for (py::ssize_t i = 0; i < n; ++i) t[i] = all[py::int_(i)];
  return t;
}

py::object encode(PyModel& m, const py::object& hidden, const py::object& attention_mask, bool output_hidden_states,
                  bool output_attentions) {
  const size_t H = m.hidden(), L = m.layers();
  Vecs h = vecs_3d(hidden, "hidden", H);
  auto mask = companion(attention_mask, "attention_mask", h.batch, h.seq_len);
  const py::ssize_t B = py::ssize_t(h.batch), T = py::ssize_t(h.seq_len);
  auto last = new_floats({B, T, py::ssize_t(H)});
  py::array_t<float> states, attentions;
  std::span<float> states_span, attentions_span;
  if (output_hidden_states) {
    states = new_floats({py::ssize_t(L + 1), B, T, py::ssize_t(H)});
    states_span = span_of(states);
  }
  if (output_attentions) {
    attentions = new_floats({py::ssize_t(L), B, py::ssize_t(m.heads()), T, T});
    attentions_span = span_of(attentions);
  }
  auto o = span_of(last);
  {
    py::gil_scoped_release release;
    Lease s = m.acquire();
    s->encode(span_of(h.array), span_of(mask), h.batch, h.seq_len, o, states_span, attentions_span);
  }
  if (!output_hidden_states && !output_attentions) return last;
  py::dict d;
  d["last_hidden_state"] = last;
  if (output_hidden_states) d["hidden_states"] = split_first(states);
  if (output_attentions) d["attentions"] = split_first(attentions);
  return d;
}

py::array_t<float> pool(PyModel& m, const py::object& hidden, const py::object& attention_mask,
                        const std::optional<std::string>& mode, std::optional<bool> normalize) {
  const size_t H = m.hidden();
  Vecs h = vecs_3d(hidden, "hidden", H);
  auto mask = companion(attention_mask, "attention_mask", h.batch, h.seq_len);
  const bertrt_pool_mode pm = mode ? parse_pool(*mode) : m.config().default_pool;
  const bool norm = normalize.value_or(false);
  auto out = new_floats({py::ssize_t(h.batch), py::ssize_t(H)});
  auto o = span_of(out);
  {
    py::gil_scoped_release release;
    Lease s = m.acquire();
    s->pool(span_of(h.array), span_of(mask), h.batch, h.seq_len, pm, norm, o);
  }
  return out;
}

py::dict forward_impl(PyModel& m, const Ids* ids, const Vecs* embeds, const py::object& attention_mask,
                      const py::object& token_type_ids, const py::object& position_ids, bool output_hidden_states,
                      bool output_attentions) {
  const size_t batch = ids ? ids->batch : embeds->batch, seq_len = ids ? ids->seq_len : embeds->seq_len;
  const size_t H = m.hidden(), L = m.layers();
  auto mask = companion(attention_mask, "attention_mask", batch, seq_len);
  auto types = companion(token_type_ids, "token_type_ids", batch, seq_len);
  auto positions = companion(position_ids, "position_ids", batch, seq_len);
  const py::ssize_t B = py::ssize_t(batch), T = py::ssize_t(seq_len);
  auto last = new_floats({B, T, py::ssize_t(H)});
  py::array_t<float> pooled, states, attentions;
  bertrt_forward_outputs outputs{};
  outputs.last_hidden_state = last.mutable_data();
  if (m.config().has_pooler) {
    pooled = new_floats({B, py::ssize_t(H)});
    outputs.pooler_output = pooled.mutable_data();
  }
  if (output_hidden_states) {
    states = new_floats({py::ssize_t(L + 1), B, T, py::ssize_t(H)});
    outputs.hidden_states = states.mutable_data();
  }
  if (output_attentions) {
    attentions = new_floats({py::ssize_t(L), B, py::ssize_t(m.heads()), T, T});
    outputs.attentions = attentions.mutable_data();
  }
  const bertrt_head_info head = m.model().head_info();
  py::array_t<float> logits;
  if (head.kind != BERTRT_HEAD_NONE) {
    logits = head.kind == BERTRT_HEAD_SEQUENCE ? new_floats({B, py::ssize_t(head.logits_size)})
                                               : new_floats({B, T, py::ssize_t(head.logits_size)});
    outputs.logits = logits.mutable_data();
  }
  bertrt_forward_inputs inputs{};
  inputs.input_ids = ids ? ids->data() : nullptr;
  inputs.inputs_embeds = embeds ? embeds->data() : nullptr;
  inputs.attention_mask = ptr(mask);
  inputs.token_type_ids = ptr(types);
  inputs.position_ids = ptr(positions);
  inputs.batch = batch;
  inputs.seq_len = seq_len;
  {
    py::gil_scoped_release release;
    Lease s = m.acquire();
    s->forward(inputs, outputs);
  }
  py::dict d;
  d["last_hidden_state"] = last;
  if (m.config().has_pooler) d["pooler_output"] = pooled;
  if (output_hidden_states) d["hidden_states"] = split_first(states);
  if (output_attentions) d["attentions"] = split_first(attentions);
  if (head.kind != BERTRT_HEAD_NONE) d["logits"] = logits;
  return d;
}

py::dict forward(PyModel& m, const py::object& input_ids, const py::object& attention_mask,
                 const py::object& token_type_ids, const py::object& position_ids, bool output_hidden_states,
                 bool output_attentions) {
  Ids ids = ids_2d(input_ids, "input_ids");
  return forward_impl(m, &ids, nullptr, attention_mask, token_type_ids, position_ids, output_hidden_states,
                      output_attentions);
}

py::dict forward_from_embeds(PyModel& m, const py::object& inputs_embeds, const py::object& attention_mask,
                             const py::object& token_type_ids, const py::object& position_ids,
                             bool output_hidden_states, bool output_attentions) {
  Vecs e = vecs_3d(inputs_embeds, "inputs_embeds", m.embedding(), "embedding_size");
  return forward_impl(m, nullptr, &e, attention_mask, token_type_ids, position_ids, output_hidden_states,
                      output_attentions);
}

// ------------------------------------------------------------------------------------ text

py::array_t<float> encode_texts(PyModel& m, const py::object& texts_obj, std::optional<int64_t> batch_size,
                                const std::optional<std::string>& pooling, std::optional<bool> normalize,
                                std::optional<int64_t> max_length, bool progress, int64_t max_batch_tokens,
                                bool padded) {
  if ((batch_size && *batch_size <= 0) || max_batch_tokens <= 0)
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT,
                "BERTRT_ERROR_INVALID_ARGUMENT: batch_size and max_batch_tokens must be positive");
  if (max_length && *max_length <= 0)
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "BERTRT_ERROR_INVALID_ARGUMENT: max_length must be positive");
  const std::vector<std::string> texts = text_list(texts_obj, "texts");
  const bertrt_pool_mode mode = pooling ? parse_pool(*pooling) : m.config().default_pool;
  const bool norm = normalize.value_or(m.config().default_normalize != 0);
  const size_t limit = static_cast<size_t>(max_length.value_or(m.config().max_sequence_length));
  const size_t n = texts.size(), H = m.hidden();
  auto out = new_floats({py::ssize_t(n), py::ssize_t(H)});
  bertrt_encode_texts_options options{};
  options.max_length = limit;
  options.batch_size = static_cast<size_t>(batch_size.value_or(0));
  options.max_batch_tokens = static_cast<size_t>(max_batch_tokens);
  options.padded = padded ? 1 : 0;
  options.pool = mode;
  options.normalize = norm ? 1 : 0;
  if (progress) {
    options.progress = [](size_t done, size_t total, void*) { std::fprintf(stderr, "\rbertrt: %zu/%zu texts", done, total); };
  }
  {
    py::gil_scoped_release release;
    const bertrt::Tokenizer& tok = m.tokenizer();
    Lease s = m.acquire();
    s->encode_texts(tok, texts, span_of(out), &options);
    if (progress) std::fprintf(stderr, "\n");
  }
  return out;
}

}  // namespace

// The native part of the bertrt package (python/bertrt/__init__.py re-exports its names).
PYBIND11_MODULE(_native, mod) {
  mod.doc() =
      "bertrt: BERT encoders on CPUs, every stage a call (numpy in, numpy out).\n\n"
      "Ids, masks and positions accept any integer dtype (converted to int64); vectors accept any\n"
      "floating dtype (converted to float32; C-contiguous float32 is used without a copy).\n"
      "1-D ids [T] and 2-D vectors [T, H] are taken as a batch of one. Bad ids, shapes, lengths,\n"
      "masks or option values raise ValueError; file and format problems raise bertrt.Error.\n"
      "Both carry a `status` attribute naming the C status (\"BERTRT_ERROR_SHAPE\", ...).";
  mod.attr("__version__") = bertrt_version();

  g_error_type = PyErr_NewExceptionWithDoc("bertrt.Error",
                                           "A bertrt failure that is not about the caller's values "
                                           "(file, format, checksum, unsupported, no pooler, internal).",
                                           PyExc_RuntimeError, nullptr);
  if (g_error_type == nullptr) throw py::error_already_set();
  mod.attr("Error") = py::handle(g_error_type);  // one reference kept for the life of the process

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const bertrt::Error& e) {
      raise_status(e.status(), e.what());
    }
  });

  mod.def("kernel_isa", [] { return std::string(bertrt_kernel_isa()); },
          "The kernel instruction set chosen at start-up (\"avx512\", \"avx2\", ...).");

  mod.def(
      "convert",
      [](const std::string& hf_dir, const std::string& out_path, const std::string& dtype) {
        py::gil_scoped_release release;
        bertrt_convert_options options{};
        options.dtype = dtype.c_str();
        const bertrt_status status = bertrt_convert(hf_dir.c_str(), out_path.c_str(), &options);
        if (status != BERTRT_OK) throw Error(status, std::string(bertrt_status_str(status)) + ": " + bertrt_last_error());
      },
      py::arg("hf_dir"), py::arg("out_path"), py::arg("dtype") = "f32",
      "Converts a Hugging Face checkpoint directory into a bertrt model file (dtype f32, f16, bf16 or int8).");

  auto model_class = py::class_<PyModel>(mod, "Model",
                      "A model file opened for inference. Shared by any number of Python threads: each\n"
                      "concurrent call borrows its own session from the model's pool.")
      .def(py::init<const std::string&, std::optional<int>, bool>(), py::arg("path"),
           py::arg("threads") = py::none(), py::arg("verify_weights") = false,
           "Opens a model file. threads: threads per call (None: the CPUs this process\n"
           "may run on). The header, metadata and tensor table are always checked; verify_weights=True\n"
           "also verifies every tensor's data checksum (reads the whole file once).")
      .def_property_readonly("config", [](const PyModel& m) { return config_dict(m.config()); })
      .def_property_readonly("hidden_size", [](const PyModel& m) { return m.config().hidden_size; })
      .def_property_readonly("num_layers", [](const PyModel& m) { return m.config().num_hidden_layers; })
      .def_property_readonly("vocab_size", [](const PyModel& m) { return m.config().vocab_size; })
      .def_property_readonly("max_length", [](const PyModel& m) { return m.config().max_sequence_length; })
      .def_property_readonly("path", &PyModel::path)
      .def_property_readonly("threads", [](const PyModel& m) -> py::object {
        return m.threads() > 0 ? py::object(py::int_(m.threads())) : py::object(py::none());
      })
      .def("__repr__",
           [](const PyModel& m) {
             return "<bertrt.Model '" + m.path() + "' hidden_size=" + std::to_string(m.config().hidden_size) +
                    " num_layers=" + std::to_string(m.config().num_hidden_layers) + ">";
           })
      .def("tokenize", &tokenize, py::arg("texts"), py::arg("pairs") = py::none(), py::arg("max_length") = py::none(),
           py::arg("truncation") = "longest_first", py::arg("padding") = true,
           "Tokenizes a str or a list of str (and pairs) with the model's tokenizer. Returns a dict of\n"
           "int64 arrays input_ids, token_type_ids, attention_mask [B, T] and offsets [B, T, 2]\n"
           "(code points of each token's own text; (0, 0) for special tokens and padding).\n"
           "max_length None: the model's max_length. truncation: longest_first, only_first,\n"
           "only_second, True, or False/None for none. padding: True/'longest', 'max_length', or\n"
           "False/'do_not_pad' (lists of 1-D arrays).")
      .def("lookup", &lookup, py::arg("input_ids"), "word_embeddings[input_ids] -> float32 [B, T, H].")
      .def("embed", &embed, py::arg("inputs_embeds"), py::arg("token_type_ids") = py::none(),
           py::arg("position_ids") = py::none(),
           "LayerNorm(inputs_embeds + position + token type embeddings) -> float32 [B, T, H].")
      .def("project", &project, py::arg("embedding_output"),
           "ELECTRA's embeddings_project: embed's output [B, T, embedding_size] -> the encoder's input\n"
           "float32 [B, T, H] (forward's hidden_states[0]). Models without a projection return a copy.")
      .def("encode", &encode, py::arg("hidden"), py::arg("attention_mask") = py::none(),
           py::arg("output_hidden_states") = false, py::arg("output_attentions") = false,
           "The encoder layers -> last hidden state [B, T, H]; with output_hidden_states or\n"
           "output_attentions a dict with last_hidden_state, hidden_states (L+1 arrays) and attentions\n"
           "(L arrays [B, heads, T, T]).")
      .def("pool", &pool, py::arg("hidden"), py::arg("attention_mask") = py::none(), py::arg("mode") = "mean",
           py::arg("normalize") = false,
           "Pools [B, T, H] into [B, H]: mode cls, mean, max or pooler (None: the model's default).")
      .def("forward", &forward, py::arg("input_ids"), py::arg("attention_mask") = py::none(),
           py::arg("token_type_ids") = py::none(), py::arg("position_ids") = py::none(),
           py::arg("output_hidden_states") = false, py::arg("output_attentions") = false,
           "lookup -> embed -> encode (-> pooler) (-> head). Returns a dict: last_hidden_state,\n"
           "pooler_output (when the model has a pooler), logits (when it has a task head), hidden_states\n"
           "and attentions when asked.")
      .def("forward_from_embeds", &forward_from_embeds, py::arg("inputs_embeds"),
           py::arg("attention_mask") = py::none(), py::arg("token_type_ids") = py::none(),
           py::arg("position_ids") = py::none(), py::arg("output_hidden_states") = false,
           py::arg("output_attentions") = false, "forward() starting from caller vectors [B, T, H].")
      .def("encode_texts", &encode_texts, py::arg("texts"), py::arg("batch_size") = py::none(),
           py::arg("pooling") = py::none(), py::arg("normalize") = py::none(), py::arg("max_length") = py::none(),
           py::arg("progress") = false, py::arg("max_batch_tokens") = 2048, py::arg("padded") = false,
           "Sentence embeddings float32 [N, H] in input order, with the model's pooling defaults unless\n"
           "pooling/normalize say otherwise. Texts run as packed batches (no padding) of up to\n"
           "max_batch_tokens tokens and, when given, batch_size texts; padded=True: batches of batch_size\n"
           "texts (default 32) of similar length padded to their longest (same vectors).")
      .def("_pooled_sessions", &PyModel::pooled_sessions);
  bertrt_python::bind_head_methods(model_class);
  bertrt_python::bind_packed_methods(model_class);
}
