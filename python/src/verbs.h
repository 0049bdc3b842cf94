// The task-head methods of bertrt.Model: head_info, head, head_at, classify, rerank, tag,
// fill_mask, encode_sparse (defined in verbs.cpp).
#pragma once

#include <pybind11/pybind11.h>

#include "pymodel.h"

namespace bertrt_python {

void bind_head_methods(py::class_<PyModel>& cls);

}  // namespace bertrt_python
