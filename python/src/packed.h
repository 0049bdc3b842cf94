// bertrt.Model's packed-batch methods: forward_packed, encode_packed, pool_packed (packed.cpp).
#pragma once

#include <pybind11/pybind11.h>

#include "pymodel.h"

namespace bertrt_python {

void bind_packed_methods(py::class_<PyModel>& cls);

}  // namespace bertrt_python
