// Every failure inside the library is a bertrt::Error carrying the public status code; the C API
// turns it into a return value and a thread-local message.
#pragma once

#include <stdexcept>
#include <string>

#include "bertrt/error.hpp"

namespace bertrt {

// bertrt::Error is the public C++ exception type (bertrt/error.hpp), used inside the library too.

// Records the message returned by bertrt_last_error() for this thread.
void set_last_error(const std::string& message);
void clear_last_error();

// Runs fn, mapping exceptions to a status and the thread's last-error message. Never throws.
template <typename Fn>
bertrt_status guard_call(Fn&& fn) noexcept {
  try {
    clear_last_error();
    fn();
    return BERTRT_OK;
  } catch (const Error& e) {
    set_last_error(e.what());
    return e.status();
  } catch (const std::bad_alloc&) {
    set_last_error("out of memory");
    return BERTRT_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    set_last_error(std::string("internal error: ") + e.what());
    return BERTRT_ERROR_INTERNAL;
  } catch (...) {
    set_last_error("internal error");
    return BERTRT_ERROR_INTERNAL;
  }
}

}  // namespace bertrt
