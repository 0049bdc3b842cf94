// Fills the kernel tables once and picks the active one: start from scalar, take AVX2 when
// cpuid reports AVX2+FMA+F16C and XGETBV says the OS saves YMM state, AVX-512 when cpuid also
// reports F/BW/DQ/VL and the OS saves opmask/ZMM state; on AArch64 NEON is always there.
// BERTRT_ISA=scalar|avx2|avx512|neon forces a level; an unknown level or one the CPU lacks is
// reported by isa_error(), which makes bertrt_model_open fail with BERTRT_ERROR_UNSUPPORTED
// (active() itself still returns the best supported table, for kernel-level callers).
// Inside a table, gemm_packed_i8 takes a faster variant when the CPU has the extension:
// vpdpbusd on AVX-512 with AVX512_VNNI, sdot on NEON with HWCAP_ASIMDDP (cpu_has()); and
// gemm_packed_bf16x2 vdpbf16ps with AVX512_BF16, bfdot with HWCAP2_BF16.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "kernels/isa_kernels.h"
#include "kernels/kernels.h"
#include "kernels/scalar.h"

#if defined(BERTRT_KERNELS_X86)
#include <cpuid.h>
#endif
#if defined(BERTRT_KERNELS_NEON) && defined(__linux__)
#include <sys/auxv.h>
#endif

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

namespace {

struct CpuFeatures {
  bool avx2 = false;    // AVX2 + FMA + F16C, OS saves YMM
  bool avx512 = false;  // + AVX-512 F/BW/DQ/VL, OS saves opmask and ZMM
  bool neon = false;
  bool avx512_vnni = false;   // AVX512_VNNI (cpuid 7.0:ECX[11]) on top of the AVX-512 level
  bool avx_vnni = false;      // AVX-VNNI (cpuid 7.1:EAX[4]) on top of the AVX2 level
  bool neon_dotprod = false;  // HWCAP_ASIMDDP
  bool avx512_bf16 = false;   // AVX512_BF16 (cpuid 7.1:EAX[5]) on top of the AVX-512 level
  bool neon_bf16 = false;     // HWCAP2_BF16
  const char* missing_avx2 = "not an x86-64 build";
  const char* missing_avx512 = "not an x86-64 build";
};

#if defined(BERTRT_KERNELS_X86)
uint64_t read_xcr0() {
  uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}
#endif

CpuFeatures detect() {
  CpuFeatures f;
#if defined(BERTRT_KERNELS_X86)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) {
    f.missing_avx2 = f.missing_avx512 = "cpuid leaf 1 unavailable";
    return f;
  }
  const bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28), f16c = c & (1u << 29);
  unsigned a7 = 0, b7 = 0, c7 = 0, a71 = 0;
  if (__get_cpuid_count(7, 0, &a7, &b7, &c7, &d) == 0) a7 = b7 = c7 = 0;
  if (a7 >= 1 && __get_cpuid_count(7, 1, &a71, &b, &c, &d) == 0) a71 = 0;  // a7: highest subleaf
  const bool avx2 = b7 & (1u << 5);
  const bool avx512f = b7 & (1u << 16), avx512dq = b7 & (1u << 17), avx512bw = b7 & (1u << 30),
             avx512vl = b7 & (1u << 31);
  const uint64_t xcr0 = osxsave ? read_xcr0() : 0;
  const bool os_ymm = (xcr0 & 0x6) == 0x6;      // XMM + YMM state
  const bool os_zmm = (xcr0 & 0xe6) == 0xe6;    // + opmask, ZMM_Hi256, Hi16_ZMM
  if (!avx || !avx2) f.missing_avx2 = "CPU lacks AVX2";
  else if (!fma) f.missing_avx2 = "CPU lacks FMA";
  else if (!f16c) f.missing_avx2 = "CPU lacks F16C";
  else if (!os_ymm) f.missing_avx2 = "OS does not enable YMM state (XGETBV)";
  else f.missing_avx2 = nullptr;
  f.avx2 = f.missing_avx2 == nullptr;
  if (!f.avx2) f.missing_avx512 = f.missing_avx2;
  else if (!avx512f) f.missing_avx512 = "CPU lacks AVX512F";
  else if (!avx512bw) f.missing_avx512 = "CPU lacks AVX512BW";
  else if (!avx512dq) f.missing_avx512 = "CPU lacks AVX512DQ";
  else if (!avx512vl) f.missing_avx512 = "CPU lacks AVX512VL";
  else if (!os_zmm) f.missing_avx512 = "OS does not enable opmask/ZMM state (XGETBV)";
  else f.missing_avx512 = nullptr;
  f.avx512 = f.missing_avx512 == nullptr;
  f.avx512_vnni = f.avx512 && (c7 & (1u << 11));
  f.avx_vnni = f.avx2 && (a71 & (1u << 4));
  f.avx512_bf16 = f.avx512 && (a71 & (1u << 5));
#elif defined(BERTRT_KERNELS_NEON)
  f.neon = true;  // Advanced SIMD is mandatory on AArch64
#if defined(__linux__)
  f.neon_dotprod = (getauxval(AT_HWCAP) & (1ul << 20)) != 0;  // HWCAP_ASIMDDP
  f.neon_bf16 = (getauxval(AT_HWCAP2) & (1ul << 14)) != 0;    // HWCAP2_BF16
#endif
#endif
  return f;
}

const CpuFeatures& features() {
  static const CpuFeatures f = detect();
  return f;
}

// One table per ISA, filled from the registry: t.<entry> = <isa>::<entry> for every row.
#define BERTRT_KERNEL(name) t.name = ns::name;
KernelTable make_scalar_table() {
  namespace ns = scalar;
  KernelTable t;
  t.isa = Isa::scalar;
#include "kernels/kernel_list.inc"
  return t;
}
#if defined(BERTRT_KERNELS_X86)
const KernelTable& avx2_table() {
  static const KernelTable table = [] {
    namespace ns = avx2;
    KernelTable t;
    t.isa = Isa::avx2;
#include "kernels/kernel_list.inc"
    if (features().avx_vnni) t.gemm_packed_i8 = avx2::gemm_packed_i8_vnni;  // vpdpbusd ymm (VEX)
    return t;
  }();
  return table;
}
const KernelTable& avx512_table() {
  static const KernelTable table = [] {
    namespace ns = avx512;
    KernelTable t;
    t.isa = Isa::avx512;
#include "kernels/kernel_list.inc"
    if (features().avx512_vnni) t.gemm_packed_i8 = avx512::gemm_packed_i8_vnni;
    if (features().avx512_bf16) t.gemm_packed_bf16x2 = avx512::gemm_packed_bf16x2_bf16;
    return t;
  }();
  return table;
}
#endif
#if defined(BERTRT_KERNELS_NEON)
const KernelTable& neon_table() {
  static const KernelTable table = [] {
    namespace ns = neon;
    KernelTable t;
    t.isa = Isa::neon;
#include "kernels/kernel_list.inc"
    if (features().neon_dotprod) t.gemm_packed_i8 = neon::gemm_packed_i8_dotprod;
    if (features().neon_bf16) t.gemm_packed_bf16x2 = neon::gemm_packed_bf16x2_bf16;
    return t;
  }();
  return table;
}
#endif
#undef BERTRT_KERNEL

// Names "<entry>__<isa>", built from kernel_list.inc.
constexpr const char* kEntryNames[] = {
#undef BERTRT_KERNEL
#define BERTRT_KERNEL(name) #name,
#include "kernels/kernel_list.inc"
#undef BERTRT_KERNEL
};
constexpr size_t kEntryCount = sizeof(kEntryNames) / sizeof(kEntryNames[0]);
constexpr size_t kIsaCount = 4;
constexpr size_t kNameCap = 48;

// The suffix of the variant an ISA's table holds for an entry ("" for the plain one).
const char* variant_suffix(Isa isa, const char* entry) {
  if (std::strcmp(entry, "gemm_packed_bf16x2") == 0) {
    if (isa == Isa::avx512 && features().avx512_bf16) return "_bf16";
    if (isa == Isa::neon && features().neon_bf16) return "_bf16";
    return "";
  }
  if (std::strcmp(entry, "gemm_packed_i8") != 0) return "";
  if (isa == Isa::avx512 && features().avx512_vnni) return "_vnni";
  if (isa == Isa::avx2 && features().avx_vnni) return "_vnni";
  if (isa == Isa::neon && features().neon_dotprod) return "_dotprod";
  return "";
}

struct NameTable {
  char names[kIsaCount][kEntryCount][kNameCap];
  NameTable() {
    for (size_t isa = 0; isa < kIsaCount; ++isa) {
      for (size_t i = 0; i < kEntryCount; ++i) {
        const auto level = static_cast<Isa>(isa);
        std::snprintf(names[isa][i], kNameCap, "%s__%s%s", kEntryNames[i], isa_name(level),
                      variant_suffix(level, kEntryNames[i]));
      }
    }
  }
};

bool parse_isa(const char* s, Isa* out) {
  static constexpr Isa kAll[] = {Isa::scalar, Isa::avx2, Isa::avx512, Isa::neon};
  for (Isa isa : kAll) {
    if (std::strcmp(s, isa_name(isa)) == 0) {
      *out = isa;
      return true;
    }
  }
  return false;
}

struct Selection {
  Isa isa = Isa::scalar;
  char error[200] = {};
};

const Selection& selection() {
  static const Selection sel = [] {
    Selection s;
    s.isa = best_isa();
    const char* env = std::getenv("BERTRT_ISA");
    if (env == nullptr || *env == '\0') return s;
    Isa wanted = Isa::scalar;
    if (!parse_isa(env, &wanted)) {
      std::snprintf(s.error, sizeof s.error, "BERTRT_ISA=%s is not one of scalar, avx2, avx512, neon", env);
    } else if (!cpu_supports(wanted)) {
      const char* why = "not built for this architecture";
#if defined(BERTRT_KERNELS_X86)
      if (wanted == Isa::avx2) why = features().missing_avx2;
      if (wanted == Isa::avx512) why = features().missing_avx512;
#endif
      std::snprintf(s.error, sizeof s.error, "BERTRT_ISA=%s is not supported by this CPU or build (%s)", env,
                    why);
    } else {
      s.isa = wanted;
    }
    return s;
  }();
  return sel;
}

}  // namespace

const KernelTable& scalar_table() {
  static const KernelTable table = make_scalar_table();
  return table;
}

bool cpu_supports(Isa isa) {
  switch (isa) {
    case Isa::scalar: return true;
    case Isa::avx2: return features().avx2;
    case Isa::avx512: return features().avx512;
    case Isa::neon: return features().neon;
  }
  return false;
}

bool cpu_has(CpuExt ext) {
  switch (ext) {
    case CpuExt::avx512_vnni: return features().avx512_vnni;
    case CpuExt::avx_vnni: return features().avx_vnni;
    case CpuExt::neon_dotprod: return features().neon_dotprod;
    case CpuExt::avx512_bf16: return features().avx512_bf16;
    case CpuExt::neon_bf16: return features().neon_bf16;
  }
  return false;
}

Isa best_isa() {
  if (cpu_supports(Isa::avx512)) return Isa::avx512;
  if (cpu_supports(Isa::avx2)) return Isa::avx2;
  if (cpu_supports(Isa::neon)) return Isa::neon;
  return Isa::scalar;
}

const KernelTable* table_for(Isa isa) {
  if (!cpu_supports(isa)) return nullptr;
  switch (isa) {
    case Isa::scalar: return &scalar_table();
#if defined(BERTRT_KERNELS_X86)
    case Isa::avx2: return &avx2_table();
    case Isa::avx512: return &avx512_table();
#endif
#if defined(BERTRT_KERNELS_NEON)
    case Isa::neon: return &neon_table();
#endif
    default: return nullptr;
  }
}

const KernelTable& active() {
  static const KernelTable& table = *table_for(selection().isa);
  return table;
}

const char* isa_error() { return selection().error[0] != '\0' ? selection().error : nullptr; }

size_t kernel_count() { return kEntryCount; }

const char* kernel_name(const KernelTable& table, size_t i) {
  static const NameTable names;
  const auto isa = static_cast<size_t>(table.isa);
  if (i >= kEntryCount || isa >= kIsaCount) return nullptr;
  return names.names[isa][i];
}

}  // namespace bertrt::kernels
