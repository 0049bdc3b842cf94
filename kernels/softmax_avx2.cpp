// masked_softmax for AVX2 + FMA + F16C: the body in kernels/impl_softmax.h compiled with this ISA's flags
// (see kernels/meson.build) against the vector wrapper in kernels/simd_avx2.h.
#include "kernels/isa_kernels.h"
#include "kernels/simd_avx2.h"

#define BERTRT_ISA_NS avx2
#include "kernels/impl_softmax.h"
