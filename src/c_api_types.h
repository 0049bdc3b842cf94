// Definitions of the opaque C handles (internal).
#pragma once

#include <memory>

#include "model/model.h"
#include "model/session.h"

struct bertrt_model {
  std::shared_ptr<const bertrt::core::Model> impl;
  bool weights_verified = false;  // opened with verify_weights
};

struct bertrt_session {
  explicit bertrt_session(std::shared_ptr<const bertrt::core::Model> model) : impl(std::move(model)) {}
  bertrt::core::Session impl;
};
