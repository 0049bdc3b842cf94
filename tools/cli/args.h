// A small command-line parser: positional arguments plus --flag and --key value options.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bertrt/bertrt.h"
#include "bertrt/error.hpp"

namespace bertrt::cli {

class Args {
 public:
  // value_options take a value; flag_options do not. Anything else starting with "--" is an error.
  Args(int argc, char** argv, int first, const std::set<std::string>& value_options,
       const std::set<std::string>& flag_options) {
    for (int i = first; i < argc; ++i) {
      std::string a = argv[i];
      if (a.rfind("--", 0) == 0 && a.size() > 2) {
        std::string value;
        const size_t eq = a.find('=');
        bool has_inline = eq != std::string::npos;
        if (has_inline) {
          value = a.substr(eq + 1);
          a = a.substr(0, eq);
        }
        if (value_options.count(a)) {
          if (!has_inline) {
            if (i + 1 >= argc) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, a + " needs a value");
            value = argv[++i];
          }
          values_[a].push_back(value);
        } else if (flag_options.count(a) && !has_inline) {
          flags_.insert(a);
        } else {
          throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "unknown option " + a);
        }
      } else if (a == "-o") {
        if (i + 1 >= argc) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "-o needs a value");
        values_["-o"].push_back(argv[++i]);
      } else {
        positional_.push_back(a);
      }
    }
  }
  const std::vector<std::string>& positional() const { return positional_; }
  bool flag(const std::string& name) const { return flags_.count(name) != 0; }
  std::optional<std::string> value(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) return std::nullopt;
    return it->second.back();
  }
  std::vector<std::string> values(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
  }
  long integer(const std::string& name, long fallback) const {
    auto v = value(name);
    if (!v) return fallback;
    try {
      size_t used = 0;
      const long x = std::stol(*v, &used);
      if (used != v->size()) throw std::invalid_argument("trailing");
      return x;
    } catch (const std::exception&) {
      throw Error(BERTRT_ERROR_INVALID_ARGUMENT, name + " expects an integer, got '" + *v + "'");
    }
  }

 private:
  std::vector<std::string> positional_;
  std::map<std::string, std::vector<std::string>> values_;
  std::set<std::string> flags_;
};

// The value of --pool as a mode (bertrt_pool_mode_from_name), or fallback when it is not given.
inline bertrt_pool_mode pool_option(const Args& args, bertrt_pool_mode fallback) {
  const auto name = args.value("--pool");
  if (!name) return fallback;
  bertrt_pool_mode mode = fallback;
  const bertrt_status status = bertrt_pool_mode_from_name(name->c_str(), &mode);
  if (status != BERTRT_OK) throw Error(status, std::string("--pool: ") + bertrt_last_error());
  return mode;
}

}  // namespace bertrt::cli
