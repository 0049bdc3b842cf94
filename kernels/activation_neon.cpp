// bias_activation (+ exp_f32, erf_f32 for tests) for AArch64 NEON: the body in kernels/impl_activation.h compiled with this ISA's flags
// (see kernels/meson.build) against the vector wrapper in kernels/simd_neon.h.
#include "kernels/isa_kernels.h"
#include "kernels/simd_neon.h"

#define BERTRT_ISA_NS neon
#include "kernels/impl_activation.h"
