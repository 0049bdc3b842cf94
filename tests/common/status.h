// The status a call throws as bertrt::Error (BERTRT_OK when it returns), for tests that check
// which error a bad input gives.
#pragma once

#include "common/error.h"

namespace bertrt::testing {

template <class Fn>
bertrt_status status_of(Fn&& fn) {
  try {
    fn();
  } catch (const bertrt::Error& e) {
    return e.status();
  }
  return BERTRT_OK;
}

}  // namespace bertrt::testing
