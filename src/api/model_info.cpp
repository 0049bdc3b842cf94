// C API: names of pool modes, the kernels chosen for this CPU, and what a model file says about
// itself (format, tensors, tokenizer settings), so that tools need no internal header.
#include <algorithm>
#include <string>

#include "bertrt/bertrt.h"
#include "c_api_types.h"
#include "common/error.h"
#include "kernels/kernels.h"

using bertrt::Error;
using bertrt::guard_call;

namespace {

void require(const void* p, const char* name) {
  if (!p) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, std::string(name) + " is NULL");
}

const char* layout_name(bertrt::format::TensorLayout layout) {
  switch (layout) {
    case bertrt::format::TensorLayout::panel: return "panel";
    case bertrt::format::TensorLayout::panel_i8: return "panel_i8";
    case bertrt::format::TensorLayout::panel_bf16x2: return "panel_bf16x2";
    default: return "row_major";
  }
}

}  // namespace

extern "C" {

BERTRT_API bertrt_status bertrt_pool_mode_from_name(const char* name, bertrt_pool_mode* mode_out) {
  return guard_call([&] {
    require(mode_out, "mode_out");
    require(name, "name");
    *mode_out = bertrt::core::parse_pool_mode(name);
  });
}

BERTRT_API const char* bertrt_pool_mode_name(bertrt_pool_mode mode) {
  switch (mode) {
    case BERTRT_POOL_CLS:
    case BERTRT_POOL_MEAN:
    case BERTRT_POOL_MAX:
    case BERTRT_POOL_POOLER: return bertrt::core::pool_mode_name(mode);
    default: return nullptr;
  }
}

BERTRT_API const char* bertrt_kernel_best_isa(void) { return bertrt::kernels::isa_name(bertrt::kernels::best_isa()); }

BERTRT_API const char* bertrt_kernel_isa_error(void) { return bertrt::kernels::isa_error(); }

BERTRT_API size_t bertrt_kernel_count(void) { return bertrt::kernels::kernel_count(); }

BERTRT_API const char* bertrt_kernel_name(size_t index) {
  if (index >= bertrt::kernels::kernel_count()) return nullptr;
  return bertrt::kernels::kernel_name(bertrt::kernels::active(), index);
}

BERTRT_API bertrt_status bertrt_model_get_file_info(const bertrt_model* model, bertrt_model_file_info* info_out) {
  return guard_call([&] {
    require(model, "model");
    require(info_out, "info_out");
    const bertrt::format::ModelFile& f = model->impl->file();
    info_out->format_version = f.version();
    info_out->header_checksum = f.checksum();
    info_out->weights_verified = model->weights_verified ? 1 : 0;
    info_out->tensor_count = f.tensors().size();
    info_out->hidden_act = model->impl->config().hidden_act_name.c_str();
  });
}

BERTRT_API bertrt_status bertrt_model_get_tensor_info(const bertrt_model* model, size_t index,
                                                      bertrt_tensor_info* info_out) {
  return guard_call([&] {
    require(model, "model");
    require(info_out, "info_out");
    const auto& tensors = model->impl->file().tensors();
    if (index >= tensors.size())
      throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "tensor index " + std::to_string(index) + " is past the last (" +
                                                     std::to_string(tensors.size()) + " tensors)");
    const bertrt::format::TensorInfo& t = tensors[index];
    *info_out = bertrt_tensor_info{};
    info_out->name = t.name.c_str();
    info_out->dtype = bertrt::format::dtype_name(t.dtype);
    info_out->layout = layout_name(t.layout);
    info_out->ndim = std::min<size_t>(t.shape.size(), 8);
    std::copy_n(t.shape.begin(), info_out->ndim, info_out->shape);
    info_out->nbytes = t.nbytes;
  });
}

BERTRT_API bertrt_status bertrt_model_get_tokenizer_settings(const bertrt_model* model,
                                                             bertrt_tokenizer_settings* settings_out) {
  return guard_call([&] {
    require(model, "model");
    require(settings_out, "settings_out");
    const bertrt::core::TokenizerData& t = model->impl->tokenizer_data();
    settings_out->vocab_size = t.vocab ? t.vocab->size() : 0;
    settings_out->do_lower_case = t.do_lower_case ? 1 : 0;
    settings_out->strip_accents = t.strip_accents;
    settings_out->tokenize_chinese_chars = t.tokenize_chinese_chars ? 1 : 0;
    settings_out->model_max_length = t.model_max_length;
    settings_out->unk_token = t.unk_token.c_str();
    settings_out->cls_token = t.cls_token.c_str();
    settings_out->sep_token = t.sep_token.c_str();
    settings_out->pad_token = t.pad_token.c_str();
    settings_out->mask_token = t.mask_token.c_str();
  });
}

}  // extern "C"
