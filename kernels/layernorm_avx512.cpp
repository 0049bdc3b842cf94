// embed_layernorm, add_bias_layernorm for AVX-512 F/BW/DQ/VL: the body in kernels/impl_layernorm.h compiled with this ISA's flags
// (see kernels/meson.build) against the vector wrapper in kernels/simd_avx512.h.
#include "kernels/isa_kernels.h"
#include "kernels/simd_avx512.h"

#define BERTRT_ISA_NS avx512
#include "kernels/impl_layernorm.h"
