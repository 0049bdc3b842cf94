// gather_f32/f16/bf16, f16_to_f32, bf16_to_f32 for AArch64 NEON: the body in kernels/impl_gather.h compiled with this ISA's flags
// (see kernels/meson.build) against the vector wrapper in kernels/simd_neon.h.
#include "kernels/isa_kernels.h"
#include "kernels/simd_neon.h"

#define BERTRT_ISA_NS neon
#include "kernels/impl_gather.h"
