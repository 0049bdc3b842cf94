// Element types of checkpoint tensors.
#include "convert/checkpoint.h"

namespace bertrt::convert {

const char* source_dtype_name(SourceDType dtype) {
  switch (dtype) {
    case SourceDType::f32: return "F32";
    case SourceDType::f16: return "F16";
    case SourceDType::bf16: return "BF16";
    case SourceDType::f64: return "F64";
    case SourceDType::i64: return "I64";
    case SourceDType::i32: return "I32";
    case SourceDType::i16: return "I16";
    case SourceDType::i8: return "I8";
    case SourceDType::u8: return "U8";
    case SourceDType::boolean: return "BOOL";
  }
  return "?";
}

size_t source_dtype_size(SourceDType dtype) {
  switch (dtype) {
    case SourceDType::f64:
    case SourceDType::i64: return 8;
    case SourceDType::f32:
    case SourceDType::i32: return 4;
    case SourceDType::f16:
    case SourceDType::bf16:
    case SourceDType::i16: return 2;
    case SourceDType::i8:
    case SourceDType::u8:
    case SourceDType::boolean: return 1;
  }
  return 0;
}

}  // namespace bertrt::convert
