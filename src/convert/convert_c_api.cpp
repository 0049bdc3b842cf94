// The converter's C API (include/bertrt/convert.h) over convert::convert_directory.
#include "bertrt/convert.h"

#include <cstring>
#include <string>

#include "common/error.h"
#include "convert/convert.h"

extern "C" BERTRT_API bertrt_status bertrt_convert(const char* hf_dir, const char* out_path,
                                                   const bertrt_convert_options* options) {
  return bertrt::guard_call([&] {
    using bertrt::Error;
    if (!hf_dir) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "hf_dir is NULL");
    if (!out_path) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "out_path is NULL");
    bertrt::convert::ConvertOptions o;
    const char* dtype = options && options->dtype ? options->dtype : "f32";
    if (!std::strcmp(dtype, "f32")) o.dtype = bertrt::format::TensorDType::f32;
    else if (!std::strcmp(dtype, "f16")) o.dtype = bertrt::format::TensorDType::f16;
    else if (!std::strcmp(dtype, "bf16")) o.dtype = bertrt::format::TensorDType::bf16;
    else if (!std::strcmp(dtype, "int8")) o.dtype = bertrt::format::TensorDType::i8;
    else throw Error(BERTRT_ERROR_INVALID_ARGUMENT, std::string("dtype must be f32, f16, bf16 or int8, not '") + dtype + "'");
    o.heads = !(options && options->no_heads);
    o.bf16_dot = !(options && options->bf16_storage_only);
    if (options && options->note) {
      const bertrt_convert_note_fn note = options->note;
      void* user = options->note_user_data;
      o.note = [note, user](const std::string& message) { note(message.c_str(), user); };
    }
    bertrt::convert::convert_directory(hf_dir, out_path, o);
  });
}
