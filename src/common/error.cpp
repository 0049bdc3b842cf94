#include "common/error.h"

namespace {
thread_local std::string g_last_error;
}

namespace bertrt {
void set_last_error(const std::string& message) { g_last_error = message; }
void clear_last_error() { g_last_error.clear(); }
}  // namespace bertrt

extern "C" const char* bertrt_last_error(void) { return g_last_error.c_str(); }

extern "C" const char* bertrt_status_str(bertrt_status status) {
  switch (status) {
    case BERTRT_OK: return "BERTRT_OK";
    case BERTRT_ERROR_INVALID_ARGUMENT: return "BERTRT_ERROR_INVALID_ARGUMENT";
    case BERTRT_ERROR_IO: return "BERTRT_ERROR_IO";
    case BERTRT_ERROR_FORMAT: return "BERTRT_ERROR_FORMAT";
    case BERTRT_ERROR_CHECKSUM: return "BERTRT_ERROR_CHECKSUM";
    case BERTRT_ERROR_UNSUPPORTED: return "BERTRT_ERROR_UNSUPPORTED";
    case BERTRT_ERROR_SHAPE: return "BERTRT_ERROR_SHAPE";
    case BERTRT_ERROR_TOKEN_ID: return "BERTRT_ERROR_TOKEN_ID";
    case BERTRT_ERROR_TOKEN_TYPE: return "BERTRT_ERROR_TOKEN_TYPE";
    case BERTRT_ERROR_POSITION: return "BERTRT_ERROR_POSITION";
    case BERTRT_ERROR_SEQUENCE_TOO_LONG: return "BERTRT_ERROR_SEQUENCE_TOO_LONG";
    case BERTRT_ERROR_NO_POOLER: return "BERTRT_ERROR_NO_POOLER";
    case BERTRT_ERROR_NON_FINITE: return "BERTRT_ERROR_NON_FINITE";
    case BERTRT_ERROR_INVALID_UTF8: return "BERTRT_ERROR_INVALID_UTF8";
    case BERTRT_ERROR_OUT_OF_MEMORY: return "BERTRT_ERROR_OUT_OF_MEMORY";
    case BERTRT_ERROR_INTERNAL: return "BERTRT_ERROR_INTERNAL";
    case BERTRT_ERROR_ATTENTION_MASK: return "BERTRT_ERROR_ATTENTION_MASK";
    case BERTRT_ERROR_NO_HEAD: return "BERTRT_ERROR_NO_HEAD";
  }
  return "BERTRT_ERROR_UNKNOWN";
}
