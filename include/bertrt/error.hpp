// The exception type of the C++ layer: a bertrt_status and its message.
#pragma once

#include <stdexcept>
#include <string>

#include "bertrt/bertrt.h"

namespace bertrt {

class Error : public std::runtime_error {
 public:
  Error(bertrt_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  bertrt_status status() const noexcept { return status_; }

 private:
  bertrt_status status_;
};

}  // namespace bertrt
