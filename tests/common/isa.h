// Tests run once per forced BERTRT_ISA; a level this CPU lacks skips the test with its reason.
#pragma once

#include <doctest/doctest.h>

#include <string>

#include "bertrt/bertrt.h"

namespace bertrt::testing {

// True (and the reason printed) when the forced kernel level cannot run here.
inline bool isa_unavailable() {
  if (const char* why = bertrt_kernel_isa_error()) {
    MESSAGE("skipped: " << std::string(why));
    return true;
  }
  return false;
}

}  // namespace bertrt::testing
